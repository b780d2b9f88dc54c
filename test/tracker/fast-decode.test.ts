/**
 * The tracker's requests are all fixed-width, so its MessageReader decodes a
 * request that arrives whole in one pass (codec.ts `decodeFixedBody`, offsets
 * derived from the message table) instead of resuming the coroutine per field.
 * Both paths must agree on every message and every error: here a whole chunk
 * (fast path) is compared with the same bytes fed one at a time (coroutine).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Command,
  type Message,
  COMMANDS,
  MESSAGES,
  MessageReader,
  TRACKER_REQUESTS,
  fixedLayout,
} from '../../src/protocol/index.js';
import { ErrorCode } from '../../src/errors.js';
import { FIXTURES, IPP2P_A, MD5_A, SESSION, wire } from '../protocol/fixtures.js';
import { addr, enc, fchu, logi, logo, look, md5Of, peer, rpad } from './helpers.js';


function readWhole(bytes: Buffer): { messages: Message[]; error: unknown; pending: Command | null } {
  const reader = new MessageReader({ accept: TRACKER_REQUESTS });
  const messages: Message[] = [];
  try {
    reader.feed(bytes, (m) => messages.push(m));
    return { messages, error: null, pending: reader.pendingCommand };
  } catch (error) {
    return { messages, error, pending: reader.pendingCommand };
  }
}

function readByteByByte(bytes: Buffer): { messages: Message[]; error: unknown; pending: Command | null } {
  const reader = new MessageReader({ accept: TRACKER_REQUESTS });
  const messages: Message[] = [];
  try {
    for (let i = 0; i < bytes.length; i++) reader.feed(bytes.subarray(i, i + 1), (m) => messages.push(m));
    return { messages, error: null, pending: reader.pendingCommand };
  } catch (error) {
    return { messages, error, pending: reader.pendingCommand };
  }
}

function sameOutcome(bytes: Buffer): void {
  const fast = readWhole(bytes);
  const slow = readByteByByte(bytes);
  assert.deepEqual(fast.messages, slow.messages);
  assert.equal(fast.pending, slow.pending);
  if (slow.error === null) {
    assert.equal(fast.error, null);
    return;
  }
  const f = fast.error as Error & { code?: string };
  const s = slow.error as Error & { code?: string };
  assert.equal(f.constructor, s.constructor);
  assert.equal(f.code, s.code);
  assert.equal(f.message, s.message);
}

test('fixed layouts come from the table: every all-fixed message, widths summed in order', () => {
  for (const command of COMMANDS) {
    const layout = fixedLayout(command);
    const fields = MESSAGES[command] as readonly { name: string; codec: { kind: string; width?: number } }[];
    if (fields.some((f) => f.codec.kind !== 'fixed')) {
      assert.equal(layout, null, command);
      continue;
    }
    assert.ok(layout, command);
    let offset = 0;
    fields.forEach((f, i) => {
      assert.equal(layout.fields[i]?.name, f.name);
      assert.equal(layout.fields[i]?.offset, offset);
      offset += f.codec.width as number;
    });
    assert.equal(layout.width, offset);
  }
  assert.equal(enc({ command: 'RPAD', sessionId: SESSION, md5: md5Of(1), part: 0 }).length, 4 + (fixedLayout('RPAD')?.width ?? NaN));
});

test('whole requests decode the same in one pass as field by field', () => {
  const requests = [
    logi(peer(1)),
    logi(peer(300), 65535),
    addr(SESSION, md5Of(7), 1000, 100, 'ünïcode name.iso'),
    look(SESSION, '*'),
    fchu(SESSION, md5Of(2)),
    rpad(SESSION, md5Of(3), 12345678),
    logo(SESSION),
  ];
  for (const r of requests) sameOutcome(r);
  // Several in one chunk, and one split across the end of the chunk.
  sameOutcome(Buffer.concat(requests));
  sameOutcome(Buffer.concat([...requests, rpad(SESSION, md5Of(4), 1).subarray(0, 20)]));
});

test('bad fields fail the same way, with the same field path, after the good requests before them', () => {
  const good = fchu(SESSION, md5Of(2));
  const corrupt = (bytes: Buffer, at: number, text: string): Buffer => {
    const copy = Buffer.from(bytes);
    copy.write(text, at, 'latin1');
    return copy;
  };
  const bad = [
    corrupt(rpad(SESSION, md5Of(3), 5), 4, 'zz'), // session id not hex
    corrupt(rpad(SESSION, md5Of(3), 5), 4 + 16 + 3, 'G'), // md5 not hex
    corrupt(rpad(SESSION, md5Of(3), 5), 4 + 16 + 32, '-1'), // part not digits
    corrupt(fchu(SESSION, md5Of(2)), 4 + 16, 'ABCDEF'), // md5 upper case
    corrupt(logi(peer(1)), 4, 'x'), // malformed LOGI keeps LOGI pending (null session reply)
    corrupt(logi(peer(1)), 4 + 55, '9999x'), // port
    corrupt(logo(SESSION), 4 + 15, ' '),
    Buffer.from('HELO0123456789ABCDEF'),
    corrupt(addr(SESSION, md5Of(7), 1000, 100, 'n'), 4 + 16, 'abc'), // LenFile not digits
  ];
  for (const b of bad) {
    sameOutcome(b);
    sameOutcome(Buffer.concat([good, b, good]));
  }
});

// ---- Spec-derived fixtures: the fast path against bytes written out by hand ----
// The tests above compare the fast path with the coroutine (our code against our
// code). These compare it with PROTOCOL.md: bytes from test/protocol/fixtures.ts
// (never produced by our encoder) and the message or error the spec requires.

const requestFixtures = FIXTURES.filter((f) => f.accept === TRACKER_REQUESTS);

test('spec fixtures: each tracker request read whole gives the canonical message', () => {
  assert.deepEqual(
    requestFixtures.map((f) => f.name.slice(0, 4)).filter((c, i, all) => all.indexOf(c) === i).sort(),
    [...TRACKER_REQUESTS].sort(),
    'a fixture for every tracker request',
  );
  for (const f of requestFixtures) {
    const got = readWhole(f.bytes);
    assert.equal(got.error, null, f.name);
    assert.deepEqual(got.messages, [f.decoded], f.name);
    assert.equal(got.pending, null, f.name);
  }
  // All of them pipelined in one chunk.
  const all = readWhole(Buffer.concat(requestFixtures.map((f) => f.bytes)));
  assert.deepEqual(all.messages, requestFixtures.map((f) => f.decoded));
});

test('spec fixtures: hand-written bad requests fail with the code the field rules give', () => {
  // RPAD = 'RPAD' SessionID[16] Filemd5[32] PartNum[8]; LOGI = 'LOGI' IPP2P[55] PP2P[5].
  const bad: Array<[string, Buffer, string]> = [
    ['SessionID not hex', wire('RPAD', 'zz23456789ABCDEF', MD5_A, '00000007'), ErrorCode.BAD_HEX],
    ['Filemd5 with a non-hex digit', wire('RPAD', SESSION, 'd41G8cd98f00b204e9800998ecf8427e', '00000007'), ErrorCode.BAD_HEX],
    ['PartNum signed', wire('RPAD', SESSION, MD5_A, '-0000007'), ErrorCode.BAD_NUMBER],
    ['PartNum with a space', wire('RPAD', SESSION, MD5_A, '0000 007'), ErrorCode.BAD_NUMBER],
    ['PP2P above 65535', wire('LOGI', IPP2P_A, '65536'), ErrorCode.OUT_OF_RANGE],
    ['IPP2P without the bar', wire('LOGI', IPP2P_A.replace('|', ':'), '05000'), ErrorCode.BAD_ADDRESS],
    ['an unknown command', wire('HELO', SESSION), ErrorCode.UNKNOWN_COMMAND],
    ['a reply sent to the tracker', wire('ALGI', SESSION), ErrorCode.UNEXPECTED_COMMAND],
  ];
  for (const [name, bytes, code] of bad) {
    const got = readWhole(bytes);
    assert.deepEqual(got.messages, [], name);
    assert.equal((got.error as { code?: string } | null)?.code, code, `${name}: ${String(got.error)}`);
    // After a good request in the same chunk: the good one is delivered first.
    const after = readWhole(Buffer.concat([wire('LOGO', SESSION), bytes]));
    assert.deepEqual(after.messages, [{ command: 'LOGO', sessionId: SESSION }], name);
    assert.equal((after.error as { code?: string } | null)?.code, code, name);
  }
});
