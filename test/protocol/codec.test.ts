import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type ErrorCodeValue, ProtocolError } from '../../src/errors.js';
import {
  COMMANDS,
  type Command,
  type DecodeContext,
  type Message,
  MessageReader,
  PEER_REQUESTS,
  TRACKER_REPLIES,
  TRACKER_REQUESTS,
  bitmapFromParts,
  compressIPv6,
  countParts,
  decodeMessage,
  encodeMessage,
  expandIPv6,
  formatHostPort,
  fullBitmap,
  hasPart,
  normalizeIPv4,
  padIPv4,
  parseHostPort,
  partsOf,
} from '../../src/protocol/index.js';
import {
  ADDR_A,
  ADDR_A_CANON,
  FIXTURES,
  IPP2P_A,
  MD5_A,
  PARTS,
  PKTID,
  SESSION,
  hex,
  sp,
  wire,
} from './fixtures.js';

/** Asserts `run` throws a ProtocolError with `code`. */
function assertProtocolError(run: () => unknown, code: ErrorCodeValue): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

describe('fixtures: every message, both directions', () => {
  test('the fixtures cover all 17 commands', () => {
    assert.deepEqual(new Set(FIXTURES.map((f) => f.message.command)), new Set(COMMANDS));
    assert.equal(COMMANDS.length, 17);
  });

  for (const f of FIXTURES) {
    test(`${f.name}: encodes to the exact bytes of the spec`, () => {
      assert.equal(f.bytes.length, f.length, 'fixture bytes disagree with the spec widths');
      const out = encodeMessage(f.message, f.ctx);
      assert.equal(out.toString('hex'), f.bytes.toString('hex'));
    });
    test(`${f.name}: decodes to the canonical message`, () => {
      assert.deepEqual(decodeMessage(f.bytes, f.accept, f.ctx), f.decoded);
    });
    test(`${f.name}: the canonical message re-encodes to the same bytes`, () => {
      assert.equal(encodeMessage(f.decoded, f.ctx).toString('hex'), f.bytes.toString('hex'));
    });
  }

  test('a decoded AFCH bitmap is a copy, not a view of the input', () => {
    const f = FIXTURES.find((x) => x.name.startsWith('AFCH with 2'))!;
    const input = Buffer.from(f.bytes);
    const msg = decodeMessage(input, f.accept, f.ctx);
    input.fill(0);
    assert.deepEqual(msg, f.decoded);
  });
});

// ---- Error fixtures -------------------------------------------------------------

const LOGI = wire('LOGI', IPP2P_A, '05000');
const ADDR_HEAD = wire('ADDR', SESSION, '0000524288', '262144');
const AREP_OK = wire('AREP000002', '00003', 'abc', '00002', 'de');

function replace(buf: Buffer, at: number, text: string | Buffer): Buffer {
  const out = Buffer.from(buf);
  (typeof text === 'string' ? Buffer.from(text, 'latin1') : text).copy(out, at);
  return out;
}
const dec = (bytes: Buffer, accept: readonly Command[] = COMMANDS, ctx: DecodeContext = { parts: PARTS }) => () =>
  decodeMessage(bytes, accept, ctx);
const enc = (m: unknown, ctx?: DecodeContext) => () => encodeMessage(m as Message, ctx);

const aloo = (n: number) => ({
  command: 'ALOO',
  files: Array.from({ length: n }, () => ({ md5: MD5_A, fileName: 'f', fileLength: 1, partLength: 1 })),
});

interface ErrorFixture {
  readonly name: string;
  readonly code: ErrorCodeValue;
  readonly run: () => unknown;
}

const ERROR_FIXTURES: readonly ErrorFixture[] = [
  // SHORT_MESSAGE
  { name: 'fewer bytes than a command', code: ErrorCode.SHORT_MESSAGE, run: dec(wire('LOG')) },
  { name: 'an empty buffer', code: ErrorCode.SHORT_MESSAGE, run: dec(Buffer.alloc(0)) },
  { name: 'LOGI one byte short', code: ErrorCode.SHORT_MESSAGE, run: dec(LOGI.subarray(0, LOGI.length - 1)) },
  { name: 'a command alone', code: ErrorCode.SHORT_MESSAGE, run: dec(wire('LOGO')) },
  { name: 'ALOO declaring 2 files with 1', code: ErrorCode.SHORT_MESSAGE, run: dec(wire('ALOO002', MD5_A, 'f', sp(99), '0000000001', '000001')) },
  { name: 'AREP chunk cut short', code: ErrorCode.SHORT_MESSAGE, run: dec(AREP_OK.subarray(0, AREP_OK.length - 1)) },
  { name: 'AFCH bitmap missing', code: ErrorCode.SHORT_MESSAGE, run: dec(wire('AFCH001', IPP2P_A, '05000', [0xff])) },
  // LONG_MESSAGE
  { name: 'LOGI with a byte after it', code: ErrorCode.LONG_MESSAGE, run: dec(wire(LOGI, 'x')) },
  { name: 'ALOO000 with a trailing newline', code: ErrorCode.LONG_MESSAGE, run: dec(wire('ALOO000\n')) },
  { name: 'two messages in one decode', code: ErrorCode.LONG_MESSAGE, run: dec(wire('AADR00000002AADR00000002')) },
  { name: 'AREP with more data than declared', code: ErrorCode.LONG_MESSAGE, run: dec(wire(AREP_OK, 'f')) },
  // BAD_NUMBER
  { name: 'port with a leading space', code: ErrorCode.BAD_NUMBER, run: dec(wire('LOGI', IPP2P_A, ' 5000')) },
  { name: 'port with a trailing space', code: ErrorCode.BAD_NUMBER, run: dec(wire('LOGI', IPP2P_A, '5000 ')) },
  { name: 'a plus sign', code: ErrorCode.BAD_NUMBER, run: dec(wire('AADR+0000002')) },
  { name: 'a minus sign', code: ErrorCode.BAD_NUMBER, run: dec(wire('APAD-0000001')) },
  { name: 'hex digits in LenFile', code: ErrorCode.BAD_NUMBER, run: dec(replace(wire(ADDR_HEAD, 'f', sp(99), MD5_A), 4 + 16, '00000000ff')) },
  { name: 'a decimal point', code: ErrorCode.BAD_NUMBER, run: dec(wire('ALOG000000001.5')) },
  { name: 'a non-digit list count', code: ErrorCode.BAD_NUMBER, run: dec(wire('ALOO0x1')) },
  { name: 'a non-digit Lenchunk', code: ErrorCode.BAD_NUMBER, run: dec(wire('AREP000001', '0000a', 'x')) },
  // OUT_OF_RANGE
  { name: 'port 0 on decode', code: ErrorCode.OUT_OF_RANGE, run: dec(wire('LOGI', IPP2P_A, '00000')) },
  { name: 'port 70000 on decode', code: ErrorCode.OUT_OF_RANGE, run: dec(wire('LOGI', IPP2P_A, '70000')) },
  { name: 'LenPart 0 on decode', code: ErrorCode.OUT_OF_RANGE, run: dec(wire('ADDR', SESSION, '0000524288', '000000', 'f', sp(99), MD5_A)) },
  { name: 'Lenchunk 0 on decode', code: ErrorCode.OUT_OF_RANGE, run: dec(wire('AREP000001', '00000')) },
  { name: 'port 0 on encode', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'LOGI', address: ADDR_A, port: 0 }) },
  { name: 'port 70000 on encode', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'LOGI', address: ADDR_A, port: 70000 }) },
  { name: 'a fractional port', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'LOGI', address: ADDR_A, port: 1.5 }) },
  { name: 'NaN', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'APAD', partsHeld: Number.NaN }) },
  { name: 'a negative count', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'AADR', parts: -1 }) },
  { name: '#part of 9 digits', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'AADR', parts: 100_000_000 }) },
  { name: 'LenFile of 11 digits', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'ADDR', sessionId: SESSION, fileLength: 10_000_000_000, partLength: 1, fileName: 'f', md5: MD5_A }) },
  { name: 'LenPart 0 on encode', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'ADDR', sessionId: SESSION, fileLength: 1, partLength: 0, fileName: 'f', md5: MD5_A }) },
  { name: 'TTL 100', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'QUER', pktId: PKTID, address: ADDR_A, port: 1, ttl: 100, query: 'q' }) },
  { name: 'ALOO with 1000 entries', code: ErrorCode.OUT_OF_RANGE, run: enc(aloo(1000)) },
  { name: 'an empty AREP chunk', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'AREP', chunks: [{ data: Buffer.alloc(0) }] }) },
  { name: 'an AREP chunk of 100000 bytes', code: ErrorCode.OUT_OF_RANGE, run: enc({ command: 'AREP', chunks: [{ data: Buffer.alloc(100_000) }] }) },
  // BAD_HEX
  { name: "md5 with a 'g'", code: ErrorCode.BAD_HEX, run: dec(wire('FCHU', SESSION, 'g', MD5_A.slice(1))) },
  { name: 'md5 with a space', code: ErrorCode.BAD_HEX, run: dec(wire('RETP', MD5_A.slice(0, 31), ' ', '00000000')) },
  { name: 'sessionId with a Z', code: ErrorCode.BAD_HEX, run: dec(wire('LOGO0123456789ABCDEZ')) },
  { name: 'sessionId padded with spaces', code: ErrorCode.BAD_HEX, run: dec(wire('LOGO', '0123456789AB    ')) },
  { name: 'Pktid with a dash', code: ErrorCode.BAD_HEX, run: dec(replace(wire('QUER', PKTID, IPP2P_A, '05000', '05', 'q', sp(19)), 4, '-')) },
  { name: 'md5 of 31 digits on encode', code: ErrorCode.BAD_HEX, run: enc({ command: 'RETP', md5: MD5_A.slice(1), part: 0 }) },
  { name: 'sessionId too long on encode', code: ErrorCode.BAD_HEX, run: enc({ command: 'LOGO', sessionId: `${SESSION}0` }) },
  { name: 'sessionId not hex on encode', code: ErrorCode.BAD_HEX, run: enc({ command: 'LOGO', sessionId: 'session-id-00000' }) },
  // BAD_ADDRESS
  { name: 'IPv4 octet 256', code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', replace(Buffer.from(IPP2P_A), 0, '256'), '05000')) },
  { name: "IPP2P without '|'", code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', replace(Buffer.from(IPP2P_A), 15, ' '), '05000')) },
  { name: "IPP2P with two '|'", code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', replace(Buffer.from(IPP2P_A), 20, '|'), '05000')) },
  { name: 'IPv4 with 3 octets', code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', '172.016.099.002'.replace('.002', '0002'), '|', IPP2P_A.slice(16), '05000')) },
  { name: 'IPv6 with a bad group', code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', replace(Buffer.from(IPP2P_A), 16, 'fz99'), '05000')) },
  { name: 'IPv6 with 9 groups', code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', '172.016.099.002|', '1:2:3:4:5:6:7:8:9', sp(22), '05000')) },
  { name: 'IPv6 with a zone', code: ErrorCode.BAD_ADDRESS, run: dec(wire('LOGI', '172.016.099.002|', 'fe80::1%eth0', sp(27), '05000')) },
  { name: 'bad IPv4 on encode', code: ErrorCode.BAD_ADDRESS, run: enc({ command: 'LOGI', address: { ip4: '1.2.3', ip6: '::1' }, port: 1 }) },
  { name: 'bad IPv6 on encode', code: ErrorCode.BAD_ADDRESS, run: enc({ command: 'LOGI', address: { ip4: '1.2.3.4', ip6: 'not-an-ip' }, port: 1 }) },
  { name: 'IPv4 in the IPv6 slot on encode', code: ErrorCode.BAD_ADDRESS, run: enc({ command: 'LOGI', address: { ip4: '1.2.3.4', ip6: '1.2.3.4' }, port: 1 }) },
  // BAD_TEXT
  { name: 'a 0xff byte in Filename', code: ErrorCode.BAD_TEXT, run: dec(wire(ADDR_HEAD, 'a', [0xff], sp(98), MD5_A)) },
  { name: 'a character cut in half in Filename', code: ErrorCode.BAD_TEXT, run: dec(wire(ADDR_HEAD, 'x'.repeat(99), [0xc3], MD5_A)) },
  { name: 'an overlong encoding in Ricerca', code: ErrorCode.BAD_TEXT, run: dec(wire('LOOK', SESSION, hex('c0af'), sp(18))) },
  // (A listed name, in ALOO or AQUE, is repaired instead: repair.test.ts.)
  // BAD_BITMAP
  { name: 'AFCH bitmap of the wrong size on encode', code: ErrorCode.BAD_BITMAP, run: enc({ command: 'AFCH', peers: [{ address: ADDR_A, port: 1, bitmap: Buffer.alloc(3) }] }, { parts: PARTS }) },
  // UNKNOWN_COMMAND
  { name: "'XXXX'", code: ErrorCode.UNKNOWN_COMMAND, run: dec(wire('XXXX')) },
  { name: 'a lower-case command', code: ErrorCode.UNKNOWN_COMMAND, run: dec(wire('logo', SESSION)) },
  { name: 'a command padded with a space', code: ErrorCode.UNKNOWN_COMMAND, run: dec(wire('LOG ', SESSION)) },
  { name: "'XXXX' into a reader", code: ErrorCode.UNKNOWN_COMMAND, run: () => new MessageReader({ accept: COMMANDS }).push(wire('XXXX')) },
  // UNEXPECTED_COMMAND
  { name: 'a tracker reply sent to the tracker', code: ErrorCode.UNEXPECTED_COMMAND, run: dec(wire('ALGI', SESSION), TRACKER_REQUESTS) },
  { name: 'a tracker request sent to a peer', code: ErrorCode.UNEXPECTED_COMMAND, run: dec(LOGI, PEER_REQUESTS) },
  { name: 'a request where a reply is expected', code: ErrorCode.UNEXPECTED_COMMAND, run: dec(LOGI, TRACKER_REPLIES) },
  { name: 'AREP sent to a peer listener', code: ErrorCode.UNEXPECTED_COMMAND, run: dec(AREP_OK, PEER_REQUESTS) },
  { name: 'an AFCH with peers where no part count is known', code: ErrorCode.UNEXPECTED_COMMAND, run: () => decodeMessage(wire('AFCH001', IPP2P_A, '05000', [0xff, 0xe0]), TRACKER_REPLIES) },
  { name: 'a reply into a request reader', code: ErrorCode.UNEXPECTED_COMMAND, run: () => new MessageReader({ accept: TRACKER_REQUESTS }).push(wire('AADR00000002')) },
  // BUFFER_LIMIT
  {
    name: 'an AREP chunk bigger than maxBuffered',
    code: ErrorCode.BUFFER_LIMIT,
    run: () => new MessageReader({ accept: ['AREP'], maxBuffered: 100 }).push(wire('AREP000001', '05000', Buffer.alloc(200))),
  },
  {
    name: 'a flood arriving in small pieces',
    code: ErrorCode.BUFFER_LIMIT,
    run: () => {
      const reader = new MessageReader({ accept: ['AREP'], maxBuffered: 1000 });
      reader.push(wire('AREP000001', '99999'));
      for (let i = 0; i < 20; i++) reader.push(Buffer.alloc(100));
    },
  },
];

describe('error fixtures', () => {
  test('every wire-format error code has a fixture', () => {
    const wireCodes: ErrorCodeValue[] = [
      ErrorCode.SHORT_MESSAGE, ErrorCode.LONG_MESSAGE, ErrorCode.BAD_NUMBER, ErrorCode.OUT_OF_RANGE,
      ErrorCode.BAD_HEX, ErrorCode.BAD_ADDRESS, ErrorCode.BAD_TEXT, ErrorCode.BAD_BITMAP,
      ErrorCode.UNKNOWN_COMMAND, ErrorCode.UNEXPECTED_COMMAND, ErrorCode.BUFFER_LIMIT,
    ];
    assert.deepEqual(new Set(ERROR_FIXTURES.map((e) => e.code)), new Set(wireCodes));
  });

  for (const e of ERROR_FIXTURES) {
    test(`${e.code}: ${e.name}`, () => assertProtocolError(e.run, e.code));
  }

  test('a decode error names the field that broke', () => {
    assert.throws(dec(wire('LOGI', IPP2P_A, '70000')), /LOGI\.port/);
    assert.throws(dec(wire('ALOO001', 'g', MD5_A.slice(1), 'f', sp(99), '0000000001', '000001')), /ALOO\.files\[0\]\.md5/);
  });

  test('the ALOO count limit is exactly 999', () => {
    assert.equal(encodeMessage(aloo(999) as Message).length, 4 + 3 + 999 * 148);
    assert.ok(encodeMessage(aloo(999) as Message).subarray(0, 7).equals(wire('ALOO999')));
  });

  test('an AREP chunk of exactly 99999 bytes is allowed', () => {
    const data = Buffer.alloc(99_999, 0x41);
    const bytes = encodeMessage({ command: 'AREP', chunks: [{ data }] });
    assert.ok(bytes.subarray(0, 15).equals(wire('AREP000001', '99999')));
    assert.deepEqual(decodeMessage(bytes, ['AREP']), { command: 'AREP', chunks: [{ data }] });
  });

  test('port bounds 1 and 65535 are allowed', () => {
    for (const port of [1, 65535]) {
      const bytes = encodeMessage({ command: 'LOGI', address: ADDR_A, port });
      assert.equal(bytes.subarray(59).toString('latin1'), String(port).padStart(5, '0'));
      assert.equal((decodeMessage(bytes, TRACKER_REQUESTS) as { port: number }).port, port);
    }
  });
});

// ---- Text fields ------------------------------------------------------------------

describe('text fields', () => {
  test('readers strip spaces on both ends, not inside', () => {
    const msg = decodeMessage(wire('LOOK', SESSION, '  my song  ', sp(9)), TRACKER_REQUESTS);
    assert.equal((msg as { query: string }).query, 'my song');
  });

  test('a name starting with U+FEFF survives a round trip (no BOM stripping)', () => {
    const m: Message = { command: 'LOOK', sessionId: SESSION, query: '\uFEFFx' };
    const bytes = encodeMessage(m);
    assert.ok(bytes.equals(wire('LOOK', SESSION, hex('efbbbf78'), sp(16))));
    assert.deepEqual(decodeMessage(bytes, TRACKER_REQUESTS), m);
  });

  test('an all-space field reads as the empty string', () => {
    const msg = decodeMessage(wire('LOOK', SESSION, sp(20)), TRACKER_REQUESTS);
    assert.equal((msg as { query: string }).query, '');
  });
});

// ---- Addresses --------------------------------------------------------------------

describe('addresses', () => {
  test('IPP2P readers accept leading zeros and upper case', () => {
    const upper = wire('LOGI', '172.016.099.002|FD99:0000:0000:0000:0000:0000:0000:0002', '05000');
    assert.deepEqual(decodeMessage(upper, TRACKER_REQUESTS), { command: 'LOGI', address: ADDR_A_CANON, port: 5000 });
  });

  test('IPP2P readers accept unpadded forms padded with spaces', () => {
    const loose = wire('LOGI', '172.16.99.2    |fd99::2', sp(32), '05000');
    assert.equal(loose.length, 64);
    assert.deepEqual(decodeMessage(loose, TRACKER_REQUESTS), { command: 'LOGI', address: ADDR_A_CANON, port: 5000 });
  });

  test('normalizeIPv4', () => {
    assert.equal(normalizeIPv4('010.000.000.001'), '10.0.0.1');
    assert.equal(normalizeIPv4('255.255.255.255'), '255.255.255.255');
    for (const bad of ['1.2.3', '1.2.3.4.5', '1.2.3.256', '1.2.3.a', '1.2.3.0004', '1.2.3.', '', ' 1.2.3.4', '1.2.3.-1']) {
      assertProtocolError(() => normalizeIPv4(bad), ErrorCode.BAD_ADDRESS);
    }
  });

  test('padIPv4', () => {
    assert.equal(padIPv4('10.0.0.1'), '010.000.000.001');
    assert.equal(padIPv4('172.16.99.2'), '172.016.099.002');
    assert.equal(padIPv4('1.22.255.0'), '001.022.255.000');
    assertProtocolError(() => padIPv4('300.1.1.1'), ErrorCode.BAD_ADDRESS);
  });

  test('expandIPv6', () => {
    assert.equal(expandIPv6('fd99::2'), 'fd99:0000:0000:0000:0000:0000:0000:0002');
    assert.equal(expandIPv6('FD99::2'), 'fd99:0000:0000:0000:0000:0000:0000:0002');
    assert.equal(expandIPv6('::'), '0000:0000:0000:0000:0000:0000:0000:0000');
    assert.equal(expandIPv6('::1'), '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(expandIPv6('1::'), '0001:0000:0000:0000:0000:0000:0000:0000');
    assert.equal(expandIPv6('[::1]'), '0000:0000:0000:0000:0000:0000:0000:0001');
    assert.equal(expandIPv6('::ffff:1.2.3.4'), '0000:0000:0000:0000:0000:ffff:0102:0304');
    assert.equal(expandIPv6('1:2:3:4:5:6:7:8'), '0001:0002:0003:0004:0005:0006:0007:0008');
    assert.equal(expandIPv6('2001:DB8:0:0:0:0:0:1'), '2001:0db8:0000:0000:0000:0000:0000:0001');
    for (const bad of ['', '1:2:3', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '12345::', '::g', '1.2.3.4', ':::']) {
      assertProtocolError(() => expandIPv6(bad), ErrorCode.BAD_ADDRESS);
    }
  });

  test('compressIPv6 follows RFC 5952', () => {
    assert.equal(compressIPv6('fd99:0000:0000:0000:0000:0000:0000:0002'), 'fd99::2');
    assert.equal(compressIPv6('0000:0000:0000:0000:0000:0000:0000:0000'), '::');
    assert.equal(compressIPv6('0000:0000:0000:0000:0000:0000:0000:0001'), '::1');
    assert.equal(compressIPv6('0001:0000:0000:0000:0000:0000:0000:0000'), '1::');
    assert.equal(compressIPv6('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // first of two equal runs
    assert.equal(compressIPv6('2001:db8:0:0:1:0:0:0'), '2001:db8:0:0:1::'); // the longer run wins
    assert.equal(compressIPv6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // one zero group stays
    assert.equal(compressIPv6('fe80:0000:0000:0000:0abc:0000:0000:0001'), 'fe80::abc:0:0:1');
    assertProtocolError(() => compressIPv6('nope'), ErrorCode.BAD_ADDRESS);
  });

  test('parseHostPort and formatHostPort', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:3000'), { host: '127.0.0.1', port: 3000 });
    assert.deepEqual(parseHostPort('[::1]:5000'), { host: '::1', port: 5000 });
    assert.deepEqual(parseHostPort('[fd99::2]', 5000), { host: 'fd99::2', port: 5000 });
    assert.deepEqual(parseHostPort('tracker.local', 3000), { host: 'tracker.local', port: 3000 });
    assert.deepEqual(parseHostPort('::1', 3000), { host: '::1', port: 3000 });
    assert.deepEqual(parseHostPort('h:65535'), { host: 'h', port: 65535 });
    for (const bad of ['h:0', 'h:65536', 'h:70000', 'h:abc', 'h:', 'tracker.local', '[::1]', '', '::1', 'a:b:c', '[::1]:0']) {
      assertProtocolError(() => parseHostPort(bad), ErrorCode.BAD_ADDRESS);
    }
    assert.equal(formatHostPort('::1', 5000), '[::1]:5000');
    assert.equal(formatHostPort('127.0.0.1', 3000), '127.0.0.1:3000');
    const v6 = parseHostPort(formatHostPort('fd99::2', 5000));
    assert.deepEqual(v6, { host: 'fd99::2', port: 5000 });
  });
});

// ---- Bitmaps ------------------------------------------------------------------------

describe('part bitmaps', () => {
  test('part i is bit 0x80 >> (i % 8) of byte i / 8', () => {
    assert.deepEqual([...bitmapFromParts(11, [0, 7, 10])], [0x81, 0x20]);
    assert.deepEqual([...fullBitmap(11)], [0xff, 0xe0]);
    assert.deepEqual([...fullBitmap(16)], [0xff, 0xff]);
    assert.deepEqual([...fullBitmap(0)], []);
    assert.deepEqual(partsOf(Buffer.from([0x81, 0x20]), 11), [0, 7, 10]);
    assert.equal(hasPart(Buffer.from([0x81, 0x20]), 10), true);
    assert.equal(hasPart(Buffer.from([0x81, 0x20]), 9), false);
    assert.equal(countParts(fullBitmap(11)), 11);
  });

  test('stray trailing bits on the wire are cleared on read', () => {
    // 11 parts: the last 5 bits of byte 2 are unused; a sender that sets them must not create parts 11..15.
    const bytes = wire('AFCH001', IPP2P_A, '05000', [0x00, 0x3f]);
    const msg = decodeMessage(bytes, TRACKER_REPLIES, { parts: PARTS }) as { peers: { bitmap: Buffer }[] };
    assert.deepEqual([...msg.peers[0]!.bitmap], [0x00, 0x20]);
  });

  test('a bitmap width follows the part count: 8 parts 1 byte, 9 parts 2 bytes, 0 parts none', () => {
    for (const [parts, width] of [[8, 1], [9, 2], [0, 0], [1, 1]] as const) {
      const bm = fullBitmap(parts);
      assert.equal(bm.length, width);
      const bytes = encodeMessage({ command: 'AFCH', peers: [{ address: ADDR_A, port: 5000, bitmap: bm }] }, { parts });
      assert.equal(bytes.length, 4 + 3 + 55 + 5 + width);
      assert.deepEqual(decodeMessage(bytes, TRACKER_REPLIES, { parts }), {
        command: 'AFCH',
        peers: [{ address: ADDR_A_CANON, port: 5000, bitmap: bm }],
      });
    }
  });
});
