import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ProtocolError } from '../../src/errors.js';
import { MessageReader, PartReceiver, encodeMessage, number } from '../../src/protocol/index.js';
import { seededRandom } from '../support/random.js';
import { CHUNK_300, FIXTURES, wire } from './fixtures.js';

function arep(chunks: Buffer[]): Buffer {
  return encodeMessage({ command: 'AREP', chunks: chunks.map((data) => ({ data })) });
}

function bytes(n: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 256) | 0;
  return out;
}

/** Cuts `data` into chunks of the given sizes (the last one takes the rest). */
function cut(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const s of sizes) {
    if (at >= data.length) break;
    out.push(data.subarray(at, Math.min(data.length, at + s)));
    at += s;
  }
  if (at < data.length) out.push(data.subarray(at));
  return out;
}

/** Feeds `wire` split at `cuts`; returns the outcome: the part, or the error thrown. */
function receive(length: number, wire: Buffer, cuts: number[]): { part?: Buffer; clean?: boolean; error?: ProtocolError } {
  const r = new PartReceiver(length);
  let at = 0;
  try {
    let done = false;
    for (const c of [...cuts, wire.length]) {
      if (c > at) done = r.feed(wire.subarray(at, c));
      at = c;
    }
    if (!done) return { error: undefined };
    return { part: r.part, clean: r.clean };
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `not a ProtocolError: ${String(err)}`);
    return { error: err };
  }
}

/** What the generic reader plus the old "whole part" check made of the same bytes. */
function generic(length: number, wire: Buffer): { part?: Buffer; code?: string; message?: string } {
  const reader = new MessageReader({ accept: ['AREP'] });
  try {
    const [msg] = reader.push(wire);
    if (!msg || msg.command !== 'AREP') return {};
    const total = msg.chunks.reduce((n, c) => n + c.data.length, 0);
    if (total !== length) return { code: total < length ? ErrorCode.SHORT_MESSAGE : ErrorCode.LONG_MESSAGE };
    return { part: Buffer.concat(msg.chunks.map((c) => c.data)) };
  } catch (err) {
    return { code: (err as ProtocolError).code, message: (err as Error).message };
  }
}

describe('PartReceiver (AREP fast path)', () => {
  const data = bytes(10_000, 1);
  const wire = arep(cut(data, [4096, 4096, 1, 1807]));

  test('a part split at every byte reads the same', () => {
    for (let i = 0; i <= wire.length; i++) {
      const got = receive(data.length, wire, [i]);
      assert.ok(got.part, `split at ${i}`);
      assert.ok(got.part.equals(data), `split at ${i}`);
      assert.equal(got.clean, true);
    }
  });

  test('fed one byte at a time, and at two random cuts', () => {
    const ones = Array.from({ length: wire.length }, (_, i) => i);
    assert.ok(receive(data.length, wire, ones).part?.equals(data));
    const random = seededRandom(7);
    for (let k = 0; k < 500; k++) {
      const cuts = [(random() * wire.length) | 0, (random() * wire.length) | 0].sort((a, b) => a - b);
      assert.ok(receive(data.length, wire, cuts).part?.equals(data), `cuts ${cuts}`);
    }
  });

  test('fills a given buffer when one is handed in', () => {
    const into = Buffer.alloc(data.length + 100);
    const r = new PartReceiver(data.length, into);
    assert.equal(r.feed(wire), true);
    assert.equal(r.part.buffer, into.buffer);
    assert.ok(r.part.equals(data));
  });

  const bad: Array<[string, Buffer, number, string]> = [
    ['unknown command', Buffer.from('XXXX000001000011'), 1, ErrorCode.UNKNOWN_COMMAND],
    ['another command', Buffer.from('RETP' + 'a'.repeat(32) + '00000001'), 1, ErrorCode.UNEXPECTED_COMMAND],
    ['#chunk not digits', Buffer.from('AREP00x001000011'), 1, ErrorCode.BAD_NUMBER],
    ['Lenchunk not digits', Buffer.from('AREP0000010 0011'), 1, ErrorCode.BAD_NUMBER],
    ['Lenchunk zero', Buffer.from('AREP00000100000'), 1, ErrorCode.OUT_OF_RANGE],
    ['Lenchunk signed', Buffer.from('AREP000001-00011'), 1, ErrorCode.BAD_NUMBER],
    ['no chunks', Buffer.from('AREP000000'), 1, ErrorCode.SHORT_MESSAGE],
    ['short part', arep([data.subarray(0, 4096)]), 5000, ErrorCode.SHORT_MESSAGE],
    ['long part', arep([data.subarray(0, 4096), data.subarray(0, 4096)]), 5000, ErrorCode.LONG_MESSAGE],
    ['long single chunk', arep([data.subarray(0, 4096)]), 4095, ErrorCode.LONG_MESSAGE],
    ['garbage after the part', Buffer.concat([arep([data.subarray(0, 10)]), Buffer.from('Sorry')]), 10, ErrorCode.UNKNOWN_COMMAND],
  ];
  for (const [name, w, length, code] of bad) {
    test(`${name}: ${code} at every split, as the generic reader`, () => {
      const want = generic(length, w);
      assert.equal(want.code, code, 'the generic reader agrees on the code');
      for (let i = 0; i <= w.length; i++) {
        const got = receive(length, w, [i]);
        assert.ok(got.error, `split at ${i}: no error`);
        assert.equal(got.error.code, code, `split at ${i}: ${got.error.message}`);
        if (want.message !== undefined) assert.equal(got.error.message, want.message, `split at ${i}`);
      }
    });
  }

  test('stays failed after an error', () => {
    const r = new PartReceiver(10);
    assert.throws(() => r.feed(Buffer.from('AREP00x001')), (e: ProtocolError) => e.code === ErrorCode.BAD_NUMBER);
    assert.throws(() => r.feed(arep([data.subarray(0, 10)])), (e: ProtocolError) => e.code === ErrorCode.BAD_NUMBER);
  });

  test('a cut-off AREP is not done', () => {
    for (let i = 1; i < wire.length; i++) {
      const r = new PartReceiver(data.length);
      assert.equal(r.feed(wire.subarray(0, i)), false, `done after ${i} of ${wire.length} bytes`);
      assert.equal(r.done, false);
    }
  });

  test('a second AREP after the part: part accepted, connection not clean', () => {
    const w = Buffer.concat([arep([data.subarray(0, 10)]), Buffer.from('AREP0000')]);
    const got = receive(10, w, []);
    assert.ok(got.part?.equals(data.subarray(0, 10)));
    assert.equal(got.clean, false);
  });

  test('random parts and chunkings agree with the generic reader', () => {
    const random = seededRandom(42);
    for (let k = 0; k < 200; k++) {
      const length = 1 + ((random() * 20_000) | 0);
      const part = bytes(length, k);
      const sizes = Array.from({ length: 50 }, () => 1 + ((random() * 6000) | 0));
      const w = arep(cut(part, sizes));
      const expect = [length, length - 1, length + 1][(random() * 3) | 0] as number;
      const want = generic(expect, w);
      const got = receive(expect, w, [(random() * w.length) | 0]);
      if (want.part) assert.ok(got.part?.equals(want.part));
      else assert.equal(got.error?.code, want.code);
    }
  });
});

// The tests above take the generic reader as the oracle (our code against our
// code). These take PROTOCOL.md: AREP #chunk[6] then #chunk × (Lenchunk[5]
// data), bytes written out by hand, the part and the errors the spec implies.
describe('PartReceiver against hand-written AREP bytes', () => {
  test('the spec fixture (chunks of 5, 1 and 300 bytes) gives the 306-byte part at every split', () => {
    const f = FIXTURES.find((x) => x.name.startsWith('AREP with 3 chunks'))!;
    const part = Buffer.concat([Buffer.from('hello', 'latin1'), Buffer.from([0]), CHUNK_300]);
    for (let i = 0; i <= f.bytes.length; i++) {
      const got = receive(306, f.bytes, [i]);
      assert.ok(got.part?.equals(part), `split at ${i}`);
      assert.equal(got.clean, true);
    }
  });

  const ok: Array<[string, Buffer, string]> = [
    ['one chunk', wire('AREP', '000001', '00003', 'abc'), 'abc'],
    ['chunks of 2, 1, 4', wire('AREP', '000003', '00002', 'ab', '00001', 'c', '00004', 'defg'), 'abcdefg'],
    ['a chunk of data that looks like a header', wire('AREP', '000001', '00010', 'AREP000001'), 'AREP000001'],
  ];
  for (const [name, bytes, part] of ok) {
    test(`${name}: part ${JSON.stringify(part)}`, () => {
      const got = receive(part.length, bytes, []);
      assert.equal(got.part?.toString('latin1'), part);
      assert.equal(got.clean, true);
    });
  }

  const bad: Array<[string, Buffer, number, string]> = [
    ['one chunk short of the part', wire('AREP', '000001', '00003', 'abc'), 4, ErrorCode.SHORT_MESSAGE],
    ['chunks past the part', wire('AREP', '000002', '00003', 'abc', '00002', 'de'), 4, ErrorCode.LONG_MESSAGE],
    ['AREP000000 for a part of 1 byte', wire('AREP', '000000'), 1, ErrorCode.SHORT_MESSAGE],
    ['Lenchunk 00000 (chunks are 1..99999 bytes)', wire('AREP', '000001', '00000'), 1, ErrorCode.OUT_OF_RANGE],
    ['#chunk with a space', wire('AREP', ' 00001', '00001', 'a'), 1, ErrorCode.BAD_NUMBER],
    ['Lenchunk in hex', wire('AREP', '000001', '0000a', 'a'), 1, ErrorCode.BAD_NUMBER],
    ['a plain-text refusal', wire('Sorry, not here'), 1, ErrorCode.UNKNOWN_COMMAND],
    ['a request instead of a reply', wire('RETP', 'd41d8cd98f00b204e9800998ecf8427e', '00000000'), 1, ErrorCode.UNEXPECTED_COMMAND],
  ];
  for (const [name, bytes, length, code] of bad) {
    test(`${name}: ${code} at every split`, () => {
      for (let i = 0; i <= bytes.length; i++) {
        const got = receive(length, bytes, [i]);
        assert.equal(got.error?.code, code, `split at ${i}: ${got.error?.message ?? 'no error'}`);
      }
    });
  }
});

describe('number codec readAt (the fast path reads Lenchunk and #chunk with it)', () => {
  test('same value or same error as read, for any bytes', () => {
    const random = seededRandom(3);
    const alphabet = Buffer.from('0123456789 -+.xe\u00ff');
    for (const codec of [number(5, { min: 1 }), number(6), number(8), number(10)]) {
      for (let k = 0; k < 3000; k++) {
        const src = Buffer.alloc(codec.width + 3);
        for (let i = 0; i < src.length; i++) {
          src[i] = random() < 0.9 ? 0x30 + ((random() * 10) | 0) : (alphabet[(random() * alphabet.length) | 0] as number);
        }
        const outcome = (f: () => number): unknown => {
          try { return f(); } catch (err) { return [(err as ProtocolError).code, (err as Error).message]; }
        };
        const want = outcome(() => codec.read(src.subarray(2, 2 + codec.width)));
        assert.deepEqual(outcome(() => codec.readAt!(src, 2)), want);
      }
    }
  });
});
