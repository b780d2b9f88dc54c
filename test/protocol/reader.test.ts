import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, ProtocolError } from '../../src/errors.js';
import { COMMANDS, type Message, MessageReader, TRACKER_REPLIES, TRACKER_REQUESTS } from '../../src/protocol/index.js';
import { ALL_CONTEXT, FIXTURES, IPP2P_A, SESSION, wire } from './fixtures.js';

const LOGI = wire('LOGI', IPP2P_A, '05000');

function allReader(maxBuffered?: number): MessageReader {
  return new MessageReader({ accept: COMMANDS, context: ALL_CONTEXT, ...(maxBuffered === undefined ? {} : { maxBuffered }) });
}

/** Pushes `bytes` cut at `cuts` (sorted offsets) and returns every message, then checks end(). */
function readAll(bytes: Buffer, cuts: number[]): Message[] {
  const reader = allReader();
  const out: Message[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  reader.end();
  assert.equal(reader.buffered, 0);
  assert.equal(reader.inMessage, false);
  return out;
}

const STREAM = Buffer.concat(FIXTURES.map((f) => f.bytes));
const EXPECTED = FIXTURES.map((f) => f.decoded);

describe('MessageReader', () => {
  for (const f of FIXTURES) {
    test(`${f.name}: fed one byte at a time`, () => {
      const reader = new MessageReader({ accept: f.accept, context: () => f.ctx ?? {} });
      for (let i = 0; i < f.bytes.length - 1; i++) {
        assert.deepEqual(reader.push(f.bytes.subarray(i, i + 1)), [], `message completed early at byte ${i}`);
        assert.equal(reader.inMessage, true);
      }
      assert.deepEqual(reader.push(f.bytes.subarray(f.bytes.length - 1)), [f.decoded]);
      assert.equal(reader.inMessage, false);
      assert.equal(reader.pendingCommand, null);
      reader.end();
    });
  }

  test('all fixtures in one buffer read in order', () => {
    assert.deepEqual(readAll(STREAM, []), EXPECTED);
  });

  test('all fixtures in one buffer, split at every single point, read the same', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      assert.deepEqual(readAll(STREAM, [cut]), EXPECTED, `split at ${cut}`);
    }
  });

  test('all fixtures split at random points read the same', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 40 }), (cuts) => {
        assert.deepEqual(readAll(STREAM, cuts.sort((a, b) => a - b)), EXPECTED);
      }),
      { numRuns: 150 },
    );
  });

  test('empty pushes are harmless', () => {
    const reader = allReader();
    assert.deepEqual(reader.push(Buffer.alloc(0)), []);
    assert.equal(reader.inMessage, false);
    assert.equal(reader.push(LOGI).length, 1);
    assert.deepEqual(reader.push(Buffer.alloc(0)), []);
    reader.end();
  });

  test('pendingCommand and buffered track a message in progress', () => {
    const reader = allReader();
    reader.push(LOGI.subarray(0, 2));
    assert.equal(reader.pendingCommand, null);
    assert.equal(reader.inMessage, true);
    reader.push(LOGI.subarray(2, 10));
    assert.equal(reader.pendingCommand, 'LOGI');
    assert.equal(reader.buffered, 6);
    reader.push(LOGI.subarray(10));
    assert.equal(reader.pendingCommand, null);
    assert.equal(reader.buffered, 0);
  });

  test('end() inside a message throws SHORT_MESSAGE', () => {
    for (const cut of [1, 3, 4, 10, LOGI.length - 1]) {
      const reader = allReader();
      reader.push(LOGI.subarray(0, cut));
      assert.throws(() => reader.end(), (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.SHORT_MESSAGE);
    }
  });

  test('end() after whole messages is fine', () => {
    const reader = allReader();
    reader.push(wire(LOGI, LOGI));
    reader.end();
  });

  test('end() inside an AREP whose chunk has not arrived throws SHORT_MESSAGE', () => {
    const reader = allReader();
    reader.push(wire('AREP000002', '00003', 'abc', '00004'));
    assert.throws(() => reader.end(), { code: ErrorCode.SHORT_MESSAGE });
  });

  test('after an error the reader stays failed', () => {
    const reader = new MessageReader({ accept: TRACKER_REQUESTS });
    let first: unknown;
    assert.throws(() => reader.push(wire('XXXX')), (err: unknown) => {
      first = err;
      return err instanceof ProtocolError && err.code === ErrorCode.UNKNOWN_COMMAND;
    });
    assert.throws(() => reader.push(LOGI), (err: unknown) => err === first);
    assert.throws(() => reader.end(), (err: unknown) => err === first);
  });

  test('a bad field mid-stream fails the reader, and later good bytes do not revive it', () => {
    const reader = new MessageReader({ accept: TRACKER_REQUESTS });
    assert.equal(reader.push(LOGI).length, 1);
    assert.throws(() => reader.push(wire('LOGO', 'Z', SESSION.slice(1))), { code: ErrorCode.BAD_HEX });
    assert.throws(() => reader.push(LOGI), { code: ErrorCode.BAD_HEX });
  });

  test('a reader without context reads AFCH000 but fails cleanly on an AFCH with peers', () => {
    // How the tracker client reads every reply but FCHU's: a tracker sending it an
    // unsolicited AFCH must produce a typed error, and the reader must stay failed.
    const reader = new MessageReader({ accept: TRACKER_REPLIES });
    assert.deepEqual(reader.push(wire('AFCH000')), [{ command: 'AFCH', peers: [] }]);
    assert.throws(() => reader.push(wire('AFCH001', IPP2P_A, '05000', [0xff])), (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.UNEXPECTED_COMMAND);
    assert.throws(() => reader.push(wire('AADR00000001')), { code: ErrorCode.UNEXPECTED_COMMAND });
  });

  test('after end() fails, push keeps failing', () => {
    const reader = allReader();
    reader.push(LOGI.subarray(0, 5));
    assert.throws(() => reader.end(), { code: ErrorCode.SHORT_MESSAGE });
    assert.throws(() => reader.push(LOGI.subarray(5)), { code: ErrorCode.SHORT_MESSAGE });
  });

  test('maxBuffered bounds what waits for one field, not what completes in one push', () => {
    // 20 whole LOGIs (1280 bytes) in one push complete and leave nothing buffered.
    const reader = allReader(100);
    assert.equal(reader.push(Buffer.concat(Array<Buffer>(20).fill(LOGI))).length, 20);
    // A chunk that must wait beyond the cap is refused, and the reader stays failed.
    assert.throws(() => reader.push(wire('AREP000001', '00500', Buffer.alloc(150))), { code: ErrorCode.BUFFER_LIMIT });
    assert.throws(() => reader.push(LOGI), { code: ErrorCode.BUFFER_LIMIT });
  });

  test('the default cap allows a full 99999-byte AREP chunk split in small pieces', () => {
    const reader = new MessageReader({ accept: ['AREP'] });
    const data = Buffer.alloc(99_999, 7);
    const bytes = wire('AREP000002', '99999', data, '99999', data);
    const out: Message[] = [];
    for (let at = 0; at < bytes.length; at += 4096) out.push(...reader.push(bytes.subarray(at, at + 4096)));
    assert.deepEqual(out, [{ command: 'AREP', chunks: [{ data }, { data }] }]);
    reader.end();
  });
});

describe('MessageReader.feed', () => {
  test('delivers the good requests of a chunk before throwing for the garbage after them', () => {
    const logo = Buffer.from(`LOGO${SESSION}`, 'latin1');
    const reader = new MessageReader({ accept: TRACKER_REQUESTS });
    const delivered: Message[] = [];
    assert.throws(
      () => reader.feed(Buffer.concat([logo, logo, Buffer.from('GARBAGE!', 'latin1')]), (m) => delivered.push(m)),
      (err: unknown) => err instanceof ProtocolError && err.code === ErrorCode.UNKNOWN_COMMAND,
    );
    assert.deepEqual(delivered, [
      { command: 'LOGO', sessionId: SESSION },
      { command: 'LOGO', sessionId: SESSION },
    ]);
    // The stream is broken past that point: nothing more is delivered.
    assert.throws(() => reader.feed(logo, (m) => delivered.push(m)), ProtocolError);
    assert.equal(delivered.length, 2);
  });
});
