/**
 * A listed name (ALOO, AQUE) that is not valid UTF-8 is decoded with U+FFFD for
 * the bad bytes and reported, never failing the whole reply; names we are asked
 * to store (ADDR) and queries stay strict; encoding is strict either way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, ProtocolError } from '../../src/errors.js';
import { MessageReader, PEER_REQUESTS, TRACKER_REPLIES, TRACKER_REQUESTS, decodeMessage, encodeMessage } from '../../src/protocol/index.js';
import { IPP2P_A, MD5_A, MD5_B, PKTID, SESSION, UTF8_NAME, UTF8_NAME_BYTES, hex, sp, wire } from './fixtures.js';

const MD5_C = '0123456789abcdef0123456789abcdef';

/** Exact bytes: an ALOO of three files, the middle one named by another tracker in Latin-1, and one cut inside a character. */
const ALOO_BAD = wire(
  'ALOO003',
  MD5_A, 'song.mp3', sp(92), '0000524288', '262144',
  // 'café.txt' in Latin-1: é is the single byte e9, which starts a 3-byte UTF-8 sequence that never comes.
  MD5_B, 'caf', [0xe9], '.txt', sp(92), '0000000010', '000004',
  // A 100-byte cut by a byte-counting encoder: 98 'x', then the first two bytes of 日 (e6 97 a5).
  MD5_C, 'x'.repeat(98), [0xe6, 0x97], '0000000001', '000001',
);

test('ALOO: one name that is not UTF-8 is shown with U+FFFD, the other entries intact, and each repair reported', () => {
  const repairs: string[] = [];
  const m = decodeMessage(ALOO_BAD, TRACKER_REPLIES, { onRepair: (path, reason) => repairs.push(`${path}: ${reason}`) });
  assert.deepEqual(m, {
    command: 'ALOO',
    files: [
      { md5: MD5_A, fileName: 'song.mp3', fileLength: 524288, partLength: 262144 },
      { md5: MD5_B, fileName: 'caf\uFFFD.txt', fileLength: 10, partLength: 4 },
      { md5: MD5_C, fileName: `${'x'.repeat(98)}\uFFFD`, fileLength: 1, partLength: 1 },
    ],
  });
  assert.deepEqual(repairs, ['ALOO.files[1].fileName: text field is not valid UTF-8', 'ALOO.files[2].fileName: text field is not valid UTF-8']);
  // Without a listener the repair is silent, with the same result.
  assert.deepEqual(decodeMessage(ALOO_BAD, TRACKER_REPLIES), m);
});

test('ALOO with a bad name read by the incremental reader, split at every byte, gives the same', () => {
  const whole = decodeMessage(ALOO_BAD, TRACKER_REPLIES);
  for (let cut = 1; cut < ALOO_BAD.length; cut += 7) {
    let repaired = 0;
    const reader = new MessageReader({ accept: TRACKER_REPLIES, context: () => ({ onRepair: () => repaired++ }) });
    const out = [...reader.push(ALOO_BAD.subarray(0, cut)), ...reader.push(ALOO_BAD.subarray(cut))];
    assert.deepEqual(out, [whole], `cut at ${cut}`);
    assert.equal(repaired, 2);
  }
});

test('AQUE (all fixed fields, the fast path) with a lone continuation byte in its name', () => {
  const bytes = wire('AQUE', PKTID, IPP2P_A, '05000', MD5_A, [0x80], 'x', sp(98));
  const repairs: string[] = [];
  const expected = {
    command: 'AQUE',
    pktId: PKTID,
    address: { ip4: '172.16.99.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' },
    port: 5000,
    md5: MD5_A,
    fileName: '\uFFFDx',
  };
  assert.deepEqual(decodeMessage(bytes, PEER_REQUESTS, { onRepair: (path) => repairs.push(path) }), expected);
  const reader = new MessageReader({ accept: PEER_REQUESTS, context: () => ({ onRepair: (path) => repairs.push(path) }) });
  assert.deepEqual(reader.push(bytes), [expected]);
  assert.deepEqual(repairs, ['AQUE.fileName', 'AQUE.fileName']);
});

test('names to store (ADDR) and queries (LOOK) that are not UTF-8 are still refused', () => {
  const addr = wire('ADDR', SESSION, '0000000001', '000001', 'a', [0xff], sp(98), MD5_A);
  const look = wire('LOOK', SESSION, hex('c0af'), sp(18));
  for (const bytes of [addr, look]) {
    let repaired = 0;
    assert.throws(
      () => decodeMessage(bytes, TRACKER_REQUESTS, { onRepair: () => repaired++ }),
      (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.BAD_TEXT,
    );
    assert.equal(repaired, 0);
  }
});

test('encoding stays strict: a name holding U+FFFD is written as its valid UTF-8 (ef bf bd) and reads back the same', () => {
  const bytes = encodeMessage({ command: 'ALOO', files: [{ md5: MD5_A, fileName: 'caf\uFFFD', fileLength: 1, partLength: 1 }] });
  assert.equal(bytes.subarray(7 + 32, 7 + 32 + 6).toString('hex'), '636166efbfbd');
  let repaired = 0;
  const m = decodeMessage(bytes, TRACKER_REPLIES, { onRepair: () => repaired++ });
  assert.equal(m.command === 'ALOO' && m.files[0]?.fileName, 'caf\uFFFD');
  assert.equal(repaired, 0, 'valid UTF-8 is not a repair');
});

test('property: any 100 bytes in a listed name decode (never throw), as the WHATWG replacing decoder reads them; neighbours intact', () => {
  const replacing = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 100, maxLength: 100 }), (raw) => {
      const name = Buffer.from(raw);
      const bytes = wire('ALOO002', MD5_A, name, '0000000100', '000010', MD5_B, UTF8_NAME_BYTES, sp(79), '0000000000', '004096');
      let repaired = 0;
      const m = decodeMessage(bytes, TRACKER_REPLIES, { onRepair: () => repaired++ });
      assert.equal(m.command, 'ALOO');
      if (m.command !== 'ALOO') return;
      assert.equal(m.files[0]?.fileName, replacing.decode(name).replace(/^ +| +$/g, ''));
      assert.deepEqual(m.files[1], { md5: MD5_B, fileName: UTF8_NAME, fileLength: 0, partLength: 4096 });
      let valid = true;
      try {
        strict.decode(name);
      } catch {
        valid = false;
      }
      assert.equal(repaired, valid ? 0 : 1);
    }),
    { numRuns: 300 },
  );
});
