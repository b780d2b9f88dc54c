/**
 * Exact-bytes fixtures for every BugTorrent message, written out by hand from
 * /work/shared/PROTOCOL.md (and the field table of seed/original-brief.txt),
 * never produced by our encoder. Each fixture carries:
 *   - `message`: what a caller hands to encodeMessage,
 *   - `bytes`:   the exact wire bytes the spec requires for it,
 *   - `decoded`: what decodeMessage must give back for `bytes` (canonical forms:
 *                IPv4 plain dotted decimal, IPv6 full lowercase, text stripped),
 *   - `length`:  the message length summed by hand from the spec's widths.
 */
import type { Command, DecodeContext, Message } from '../../src/protocol/index.js';
import { PEER_REQUESTS, TRACKER_REPLIES, TRACKER_REQUESTS } from '../../src/protocol/index.js';

export interface Fixture {
  readonly name: string;
  readonly message: Message;
  readonly decoded: Message;
  readonly bytes: Buffer;
  readonly length: number;
  /** Commands the receiving endpoint accepts. */
  readonly accept: readonly Command[];
  readonly ctx?: DecodeContext;
}

/** ASCII text, raw byte arrays and buffers, concatenated. */
export function wire(...parts: Array<string | number[] | Buffer>): Buffer {
  return Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.isBuffer(p) ? p : Buffer.from(p))),
  );
}
/** `n` padding spaces (the count is worked out by hand next to each use). */
export const sp = (n: number): string => ' '.repeat(n);
export const hex = (h: string): Buffer => Buffer.from(h, 'hex');

// ---- Field values used throughout -------------------------------------------

export const SESSION = '0123456789ABCDEF';
export const PKTID = 'A1B2C3D4E5F60718';
export const MD5_A = 'd41d8cd98f00b204e9800998ecf8427e';
/** Upper-case md5: an opaque identifier, kept exactly as sent. */
export const MD5_B = '9E107D9D372BB6826BD81D3542A419D6';

/** What a user typed (compressed IPv6) ... */
export const ADDR_A = { ip4: '172.16.99.2', ip6: 'fd99::2' };
/** ... what decoding gives back ... */
export const ADDR_A_CANON = { ip4: '172.16.99.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' };
/** ... and the 55 wire bytes: 15 + '|' + 39. */
export const IPP2P_A = '172.016.099.002|fd99:0000:0000:0000:0000:0000:0000:0002';

export const ADDR_B = { ip4: '10.0.0.1', ip6: '2001:db8::1' };
export const ADDR_B_CANON = { ip4: '10.0.0.1', ip6: '2001:0db8:0000:0000:0000:0000:0000:0001' };
export const IPP2P_B = '010.000.000.001|2001:0db8:0000:0000:0000:0000:0000:0001';

/** 'café 日本 🎵.mp3': é = c3 a9, 日 = e6 97 a5, 本 = e6 9c ac, 🎵 = f0 9f 8e b5; 21 bytes. */
export const UTF8_NAME = 'café 日本 🎵.mp3';
export const UTF8_NAME_BYTES = hex('636166c3a920e697a5e69cac20f09f8eb52e6d7033');

/** 99 'x' + 'é' = 101 bytes: the cut at 100 would split é (c3|a9), so it falls at 99. */
export const LONG_NAME_SPLIT = `${'x'.repeat(99)}é`;
/** 98 'x' + 'é' + 'z' = 101 bytes: é ends exactly at byte 100 and stays. */
export const LONG_NAME_EXACT = `${'x'.repeat(98)}éz`;
/** 97 'y' + '🎵' = 101 bytes: the emoji starts at 97, so the cut falls at 97. */
export const LONG_NAME_EMOJI = `${'y'.repeat(97)}🎵`;

/** Part bitmaps for an 11-part file: 2 bytes, the last 5 bits unused (0). */
export const PARTS = 11;
/** All 11 parts: 11111111 111_00000. */
export const BITMAP_FULL = [0xff, 0xe0];
/** Parts 0, 7 and 10: 10000001 001_00000. */
export const BITMAP_SOME = [0x81, 0x20];

/** 300 bytes of binary data (every byte value, non-ASCII included). */
export const CHUNK_300 = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff));

// ---- The fixtures -------------------------------------------------------------

export const FIXTURES: readonly Fixture[] = [
  {
    name: 'LOGI',
    message: { command: 'LOGI', address: ADDR_A, port: 5000 },
    decoded: { command: 'LOGI', address: ADDR_A_CANON, port: 5000 },
    bytes: wire('LOGI', IPP2P_A, '05000'),
    length: 4 + 55 + 5,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'ALGI',
    message: { command: 'ALGI', sessionId: SESSION },
    decoded: { command: 'ALGI', sessionId: SESSION },
    bytes: wire('ALGI0123456789ABCDEF'),
    length: 4 + 16,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'ALGI login failed',
    message: { command: 'ALGI', sessionId: '0000000000000000' },
    decoded: { command: 'ALGI', sessionId: '0000000000000000' },
    bytes: wire('ALGI0000000000000000'),
    length: 4 + 16,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'ADDR',
    message: { command: 'ADDR', sessionId: SESSION, fileLength: 524288, partLength: 262144, fileName: 'song.mp3', md5: MD5_A },
    decoded: { command: 'ADDR', sessionId: SESSION, fileLength: 524288, partLength: 262144, fileName: 'song.mp3', md5: MD5_A },
    // 'song.mp3' is 8 bytes + 92 spaces = 100.
    bytes: wire('ADDR', SESSION, '0000524288', '262144', 'song.mp3', sp(92), MD5_A),
    length: 4 + 16 + 10 + 6 + 100 + 32,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'ADDR with a UTF-8 filename',
    message: { command: 'ADDR', sessionId: SESSION, fileLength: 1, partLength: 1, fileName: UTF8_NAME, md5: MD5_B },
    decoded: { command: 'ADDR', sessionId: SESSION, fileLength: 1, partLength: 1, fileName: UTF8_NAME, md5: MD5_B },
    // 21 bytes of name + 79 spaces.
    bytes: wire('ADDR', SESSION, '0000000001', '000001', UTF8_NAME_BYTES, sp(79), MD5_B),
    length: 4 + 16 + 10 + 6 + 100 + 32,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'ADDR with a filename over 100 bytes (cut before a split character)',
    message: { command: 'ADDR', sessionId: SESSION, fileLength: 9999999999, partLength: 999999, fileName: LONG_NAME_SPLIT, md5: MD5_A },
    decoded: { command: 'ADDR', sessionId: SESSION, fileLength: 9999999999, partLength: 999999, fileName: 'x'.repeat(99), md5: MD5_A },
    // 99 'x' + 1 space: the two bytes of é do not fit in the last byte.
    bytes: wire('ADDR', SESSION, '9999999999', '999999', 'x'.repeat(99), sp(1), MD5_A),
    length: 4 + 16 + 10 + 6 + 100 + 32,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'AADR',
    message: { command: 'AADR', parts: 2 },
    decoded: { command: 'AADR', parts: 2 },
    bytes: wire('AADR00000002'),
    length: 4 + 8,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'LOOK',
    message: { command: 'LOOK', sessionId: SESSION, query: 'song' },
    decoded: { command: 'LOOK', sessionId: SESSION, query: 'song' },
    // 'song' + 16 spaces = 20.
    bytes: wire('LOOK', SESSION, 'song', sp(16)),
    length: 4 + 16 + 20,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'LOOK *',
    message: { command: 'LOOK', sessionId: SESSION, query: '*' },
    decoded: { command: 'LOOK', sessionId: SESSION, query: '*' },
    bytes: wire('LOOK', SESSION, '*', sp(19)),
    length: 4 + 16 + 20,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'ALOO with no files',
    message: { command: 'ALOO', files: [] },
    decoded: { command: 'ALOO', files: [] },
    bytes: wire('ALOO000'),
    length: 4 + 3,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'ALOO with 2 files',
    message: {
      command: 'ALOO',
      files: [
        { md5: MD5_A, fileName: 'song.mp3', fileLength: 524288, partLength: 262144 },
        { md5: MD5_B, fileName: UTF8_NAME, fileLength: 0, partLength: 4096 },
      ],
    },
    decoded: {
      command: 'ALOO',
      files: [
        { md5: MD5_A, fileName: 'song.mp3', fileLength: 524288, partLength: 262144 },
        { md5: MD5_B, fileName: UTF8_NAME, fileLength: 0, partLength: 4096 },
      ],
    },
    bytes: wire(
      'ALOO002',
      MD5_A, 'song.mp3', sp(92), '0000524288', '262144',
      MD5_B, UTF8_NAME_BYTES, sp(79), '0000000000', '004096',
    ),
    length: 4 + 3 + 2 * (32 + 100 + 10 + 6),
    accept: TRACKER_REPLIES,
  },
  {
    name: 'FCHU',
    message: { command: 'FCHU', sessionId: SESSION, md5: MD5_A },
    decoded: { command: 'FCHU', sessionId: SESSION, md5: MD5_A },
    bytes: wire('FCHU', SESSION, MD5_A),
    length: 4 + 16 + 32,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'AFCH with no peers',
    message: { command: 'AFCH', peers: [] },
    decoded: { command: 'AFCH', peers: [] },
    bytes: wire('AFCH000'),
    length: 4 + 3,
    accept: TRACKER_REPLIES,
    ctx: { parts: PARTS },
  },
  {
    name: 'AFCH with 2 peers, 11-part bitmaps',
    message: {
      command: 'AFCH',
      peers: [
        { address: ADDR_A, port: 5000, bitmap: Buffer.from(BITMAP_FULL) },
        { address: ADDR_B, port: 65535, bitmap: Buffer.from(BITMAP_SOME) },
      ],
    },
    decoded: {
      command: 'AFCH',
      peers: [
        { address: ADDR_A_CANON, port: 5000, bitmap: Buffer.from(BITMAP_FULL) },
        { address: ADDR_B_CANON, port: 65535, bitmap: Buffer.from(BITMAP_SOME) },
      ],
    },
    bytes: wire('AFCH002', IPP2P_A, '05000', BITMAP_FULL, IPP2P_B, '65535', BITMAP_SOME),
    length: 4 + 3 + 2 * (55 + 5 + 2),
    accept: TRACKER_REPLIES,
    ctx: { parts: PARTS },
  },
  {
    name: 'RPAD',
    message: { command: 'RPAD', sessionId: SESSION, md5: MD5_A, part: 7 },
    decoded: { command: 'RPAD', sessionId: SESSION, md5: MD5_A, part: 7 },
    bytes: wire('RPAD', SESSION, MD5_A, '00000007'),
    length: 4 + 16 + 32 + 8,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'APAD',
    message: { command: 'APAD', partsHeld: 3 },
    decoded: { command: 'APAD', partsHeld: 3 },
    bytes: wire('APAD00000003'),
    length: 4 + 8,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'LOGO',
    message: { command: 'LOGO', sessionId: SESSION },
    decoded: { command: 'LOGO', sessionId: SESSION },
    bytes: wire('LOGO', SESSION),
    length: 4 + 16,
    accept: TRACKER_REQUESTS,
  },
  {
    name: 'ALOG',
    message: { command: 'ALOG', partsOwned: 42 },
    decoded: { command: 'ALOG', partsOwned: 42 },
    bytes: wire('ALOG0000000042'),
    length: 4 + 10,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'NLOG',
    message: { command: 'NLOG', partsDown: 5 },
    decoded: { command: 'NLOG', partsDown: 5 },
    bytes: wire('NLOG0000000005'),
    length: 4 + 10,
    accept: TRACKER_REPLIES,
  },
  {
    name: 'RETP',
    message: { command: 'RETP', md5: MD5_A, part: 0 },
    decoded: { command: 'RETP', md5: MD5_A, part: 0 },
    bytes: wire('RETP', MD5_A, '00000000'),
    length: 4 + 32 + 8,
    accept: PEER_REQUESTS,
  },
  {
    name: 'AREP with no chunks',
    message: { command: 'AREP', chunks: [] },
    decoded: { command: 'AREP', chunks: [] },
    bytes: wire('AREP000000'),
    length: 4 + 6,
    accept: ['AREP'],
  },
  {
    name: 'AREP with 3 chunks of 5, 1 and 300 bytes',
    message: {
      command: 'AREP',
      chunks: [{ data: Buffer.from('hello', 'latin1') }, { data: Buffer.from([0x00]) }, { data: CHUNK_300 }],
    },
    decoded: {
      command: 'AREP',
      chunks: [{ data: Buffer.from('hello', 'latin1') }, { data: Buffer.from([0x00]) }, { data: CHUNK_300 }],
    },
    bytes: wire('AREP000003', '00005', 'hello', '00001', [0x00], '00300', CHUNK_300),
    length: 4 + 6 + (5 + 5) + (5 + 1) + (5 + 300),
    accept: ['AREP'],
  },
  {
    name: 'QUER',
    message: { command: 'QUER', pktId: PKTID, address: ADDR_B, port: 5001, ttl: 5, query: 'song' },
    decoded: { command: 'QUER', pktId: PKTID, address: ADDR_B_CANON, port: 5001, ttl: 5, query: 'song' },
    bytes: wire('QUER', PKTID, IPP2P_B, '05001', '05', 'song', sp(16)),
    length: 4 + 16 + 55 + 5 + 2 + 20,
    accept: PEER_REQUESTS,
  },
  {
    name: 'QUER with a 20-byte UTF-8 query',
    // 'naïve ☃☃☃☃' = n a ï(2) v e space ☃(3)x4 = 1+1+2+1+1+1+12 = 19 bytes + 1 space.
    message: { command: 'QUER', pktId: PKTID, address: ADDR_A, port: 1, ttl: 99, query: 'naïve ☃☃☃☃' },
    decoded: { command: 'QUER', pktId: PKTID, address: ADDR_A_CANON, port: 1, ttl: 99, query: 'naïve ☃☃☃☃' },
    bytes: wire('QUER', PKTID, IPP2P_A, '00001', '99', hex('6e61c3af766520e29883e29883e29883e29883'), sp(1)),
    length: 4 + 16 + 55 + 5 + 2 + 20,
    accept: PEER_REQUESTS,
  },
  {
    name: 'AQUE',
    message: { command: 'AQUE', pktId: PKTID, address: ADDR_A, port: 5000, md5: MD5_A, fileName: 'song.mp3' },
    decoded: { command: 'AQUE', pktId: PKTID, address: ADDR_A_CANON, port: 5000, md5: MD5_A, fileName: 'song.mp3' },
    bytes: wire('AQUE', PKTID, IPP2P_A, '05000', MD5_A, 'song.mp3', sp(92)),
    length: 4 + 16 + 55 + 5 + 32 + 100,
    accept: PEER_REQUESTS,
  },
  {
    name: 'AQUE with a filename over 100 bytes (cut before a 4-byte character)',
    message: { command: 'AQUE', pktId: PKTID, address: ADDR_B, port: 5000, md5: MD5_B, fileName: LONG_NAME_EMOJI },
    decoded: { command: 'AQUE', pktId: PKTID, address: ADDR_B_CANON, port: 5000, md5: MD5_B, fileName: 'y'.repeat(97) },
    // 97 'y' + 3 spaces: the 4 bytes of 🎵 (f0 9f 8e b5) would end at byte 101.
    bytes: wire('AQUE', PKTID, IPP2P_B, '05000', MD5_B, 'y'.repeat(97), sp(3)),
    length: 4 + 16 + 55 + 5 + 32 + 100,
    accept: PEER_REQUESTS,
  },
  {
    name: 'AQUE with a filename over 100 bytes (a character ending exactly at 100 stays)',
    message: { command: 'AQUE', pktId: PKTID, address: ADDR_B, port: 5000, md5: MD5_B, fileName: LONG_NAME_EXACT },
    decoded: { command: 'AQUE', pktId: PKTID, address: ADDR_B_CANON, port: 5000, md5: MD5_B, fileName: `${'x'.repeat(98)}é` },
    bytes: wire('AQUE', PKTID, IPP2P_B, '05000', MD5_B, 'x'.repeat(98), hex('c3a9')),
    length: 4 + 16 + 55 + 5 + 32 + 100,
    accept: PEER_REQUESTS,
  },
];

/** Context for a reader that accepts every command (all AFCH fixtures are for an 11-part file). */
export const ALL_CONTEXT = (): DecodeContext => ({ parts: PARTS });
