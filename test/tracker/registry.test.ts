/** The Registry's rules without sockets: injected clock and ids, in-memory store. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, RequestRefusedError } from '../../src/errors.js';
import { bitmapFromParts, fullBitmap } from '../../src/protocol/index.js';
import type { TrackerEvent } from '../../src/tracker/events.js';
import { MemoryData, MemoryStore } from '../../src/tracker/memory-store.js';
import { Registry, randomSessionId } from '../../src/tracker/registry.js';
import { MAX_PARTS_HELD, MESSAGES } from '../../src/protocol/messages.js';

const A = { ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001' };
const B = { ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' };
const C = { ip4: '10.0.0.3', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0003' };
const M = 'a'.repeat(32);

function setup(options: { ids?: string[]; maxParts?: number; maxListEntries?: number; maxSessions?: number; maxFiles?: number; maxPartsHeld?: number } = {}) {
  const events: TrackerEvent[] = [];
  const data = new MemoryData();
  const ids = options.ids ? [...options.ids] : null;
  let n = 0;
  const registry = new Registry({
    store: new MemoryStore(data),
    now: () => 1_000 + n,
    newId: () => ids?.shift() ?? (++n).toString(16).toUpperCase().padStart(16, '0'),
    emit: (e) => events.push(e),
    maxParts: options.maxParts,
    maxListEntries: options.maxListEntries,
    maxSessions: options.maxSessions,
    maxFiles: options.maxFiles,
    maxPartsHeld: options.maxPartsHeld,
  });
  return { registry, events, data };
}

function refused(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof RequestRefusedError && err.code === code);
}

test('random session ids are 16 upper-case hex digits', () => {
  for (let i = 0; i < 100; i++) assert.match(randomSessionId(), /^[0-9A-F]{16}$/);
});

test('login never hands out the null session or a duplicate id', () => {
  const { registry } = setup({ ids: ['0000000000000000', 'ABCDEF0123456789', 'ABCDEF0123456789', '1111111111111111'] });
  assert.equal(registry.login(A, 1).sessionId, 'ABCDEF0123456789');
  assert.equal(registry.login(B, 1).sessionId, '1111111111111111');
});

test('every change is in the store before the method returns', () => {
  const { registry, data } = setup();
  const a = registry.login(A, 5000).sessionId;
  assert.ok(data.sessions.has(a));
  registry.add(a, 10, 3, 'f', M);
  assert.equal(data.files.get(M)?.parts, 4);
  const b = registry.login(B, 5000).sessionId;
  registry.reportPart(b, M, 2);
  assert.deepEqual(data.ownership.get(`${b} ${M}`)?.bitmap, bitmapFromParts(4, [2]));
  registry.reportPart(b, M, 0);
  registry.reportPart(b, M, 1);
  registry.reportPart(b, M, 3);
  assert.equal(registry.logout(a).accepted, true);
  assert.ok(!data.sessions.has(a));
  assert.equal([...data.ownership.values()].filter((o) => o.sessionId === a).length, 0);
});

test('a failing store write leaves memory unchanged and nothing acknowledged', () => {
  const { registry, data } = setup();
  const a = registry.login(A, 5000).sessionId;
  registry.add(a, 10, 1, 'f', M);
  const b = registry.login(B, 5000).sessionId;
  const store = (registry as unknown as { store: MemoryStore }).store;
  const original = store.savePart.bind(store);
  store.savePart = () => {
    throw new Error('disk full');
  };
  assert.throws(() => registry.reportPart(b, M, 1), /disk full/);
  store.savePart = original;
  assert.equal(registry.holders(M).length, 1);
  assert.equal(registry.reportPart(b, M, 2).partsHeld, 1);
  assert.ok(data.ownership.has(`${b} ${M}`));
});

test('ADDR refuses more parts than the limit and contradicting lengths', () => {
  const { registry } = setup({ maxParts: 100 });
  const a = registry.login(A, 1).sessionId;
  refused(() => registry.add(a, 101, 1, 'big', M), ErrorCode.LIMIT_EXCEEDED);
  assert.equal(registry.add(a, 100, 1, 'ok', M).parts, 100);
  refused(() => registry.add(a, 100, 2, 'ok', M), ErrorCode.FILE_MISMATCH);
  refused(() => registry.add('FFFFFFFFFFFFFFFF', 100, 1, 'ok', M), ErrorCode.UNKNOWN_SESSION);
});

test('re-ADDing restores a full bitmap and the name; events carry the clock', () => {
  const { registry, events } = setup();
  const a = registry.login(A, 1).sessionId;
  const b = registry.login(B, 1).sessionId;
  registry.add(a, 20, 1, 'one', M);
  registry.reportPart(b, M, 5);
  registry.add(b, 20, 1, 'two', M);
  assert.deepEqual(registry.holders(M).find((h) => h.sessionId === b)?.bitmap, fullBitmap(20));
  assert.equal(registry.files()[0]?.fileName, 'two');
  assert.equal(registry.files()[0]?.completeCopies, 2);
  assert.deepEqual(events.map((e) => e.type), ['login', 'login', 'add', 'part', 'add']);
  assert.ok(events.every((e) => e.at >= 1000));
});

test('LOOK and FCHU are capped to the list limit', () => {
  const { registry } = setup({ maxListEntries: 3 });
  const a = registry.login(A, 1).sessionId;
  for (let i = 0; i < 5; i++) registry.add(a, 1, 1, `f${i}`, i.toString(16).repeat(32));
  assert.equal(registry.look(a, '*').length, 3);
  for (let i = 0; i < 5; i++) registry.reportPart(registry.login(C, 100 + i).sessionId, '0'.repeat(32), 0);
  assert.equal(registry.fetch(a, '0'.repeat(32))?.holders().length, 3);
  assert.equal(registry.fetch(a, 'e'.repeat(32)), null);
  assert.equal(registry.holders('0'.repeat(32)).length, 6);
});

test('LOGO counts distinct parts others hold over all the files it added', () => {
  const { registry } = setup();
  const a = registry.login(A, 1).sessionId;
  const b = registry.login(B, 1).sessionId;
  const c = registry.login(C, 1).sessionId;
  const M2 = 'b'.repeat(32);
  registry.add(a, 4, 1, 'four', M);
  registry.add(a, 2, 1, 'two', M2);
  registry.reportPart(b, M, 0);
  registry.reportPart(c, M, 0);
  registry.reportPart(c, M, 1);
  registry.reportPart(b, M2, 1);
  assert.deepEqual(registry.logout(a), { accepted: false, partsDown: 3 });
  registry.reportPart(b, M, 2);
  registry.reportPart(b, M, 3);
  registry.reportPart(c, M2, 0);
  assert.deepEqual(registry.logout(a), { accepted: true, partsOwned: 6 });
  refused(() => registry.logout(a), ErrorCode.UNKNOWN_SESSION);
  // b holds parts of files it did not add: it may leave.
  assert.deepEqual(registry.logout(b), { accepted: true, partsOwned: 4 });
  assert.deepEqual(registry.files().map((f) => [f.holders, f.completeCopies]), [[1, 0], [1, 0]]);
});

test('peers() and files() describe the state', () => {
  const { registry } = setup();
  const a = registry.login(A, 5000).sessionId;
  registry.add(a, 8, 4, 'x', M);
  assert.deepEqual(registry.peers(), [{ sessionId: a, address: A, port: 5000, since: 1001, lastSeen: 1001, partsHeld: 2 }]);
  assert.deepEqual(registry.files(), [{ md5: M, fileName: 'x', fileLength: 8, partLength: 4, parts: 2, holders: 1, completeCopies: 1 }]);
  assert.deepEqual(registry.holders('c'.repeat(32)), []);
});

test('sessions and files are bounded; an existing session or file is still served at the limit', () => {
  const { registry } = setup({ maxSessions: 2, maxFiles: 1 });
  const a = registry.login(A, 1).sessionId;
  registry.login(B, 1);
  refused(() => registry.login(C, 1), ErrorCode.LIMIT_EXCEEDED);
  assert.equal(registry.login(A, 1).sessionId, a);
  registry.add(a, 1, 1, 'one', M);
  refused(() => registry.add(a, 1, 1, 'two', 'c'.repeat(32)), ErrorCode.LIMIT_EXCEEDED);
  assert.equal(registry.add(a, 1, 1, 'renamed', M).parts, 1);
});

test('the AFCH cache serves a reply until the file changes, and stays within its byte budget', async () => {
  const { AfchCache } = await import('../../src/tracker/handlers.js');
  const cache = new AfchCache(100, 250);
  let encodes = 0;
  const make = (n: number) => () => {
    encodes++;
    return Buffer.alloc(n);
  };
  assert.equal(cache.reply('x', 1, make(100)).length, 100);
  cache.reply('x', 1, make(100));
  assert.equal(encodes, 1);
  cache.reply('x', 2, make(100));
  assert.equal(encodes, 2);
  cache.reply('y', 1, make(100));
  cache.reply('z', 1, make(100));
  assert.ok(cache.bytes <= 250);
  cache.reply('big', 1, make(101));
  cache.reply('big', 1, make(101));
  assert.equal(encodes, 6);
});

test('a LOGO count that does not fit its field is an error, never truncated', async () => {
  const { handle, AfchCache } = await import('../../src/tracker/handlers.js');
  const fake = (result: object) => ({ registry: { logout: () => result } as unknown as Registry, afch: new AfchCache() });
  const logo = { command: 'LOGO', sessionId: 'AAAAAAAAAAAAAAAA' } as const;
  const tooBig = (err: unknown) => err instanceof Error && (err as { code?: string }).code === ErrorCode.OUT_OF_RANGE;
  assert.throws(() => handle(fake({ accepted: true, partsOwned: 1e10 }), logo), tooBig);
  assert.throws(() => handle(fake({ accepted: false, partsDown: 1e10 }), logo), tooBig);
  assert.equal(handle(fake({ accepted: true, partsOwned: 9_999_999_999 }), logo).toString('latin1'), 'ALOG9999999999');
  assert.equal(handle(fake({ accepted: true, partsOwned: 12 }), logo).toString('latin1'), 'ALOG0000000012');
});

test('the most parts a session may hold defaults to the largest ALOG #partown', () => {
  assert.equal(MAX_PARTS_HELD, 10 ** MESSAGES.ALOG[0].codec.width - 1);
  assert.equal(MAX_PARTS_HELD, 9_999_999_999);
});

test('an ADDR or RPAD that would take a session past maxPartsHeld is refused and changes nothing', () => {
  const { registry, data } = setup({ maxPartsHeld: 6 });
  const [m2, m3] = ['b'.repeat(32), 'c'.repeat(32)];
  const a = registry.login(A, 1).sessionId;
  assert.equal(registry.add(a, 3, 1, 'three', M).parts, 3);
  // 3 + 4 > 6: refused before anything is stored.
  refused(() => registry.add(a, 4, 1, 'four', m2), ErrorCode.LIMIT_EXCEEDED);
  assert.equal(data.files.has(m2), false);
  // Re-adding a file it holds counts its parts once.
  assert.equal(registry.add(a, 3, 1, 'three again', M).parts, 3);
  const b = registry.login(B, 1).sessionId;
  registry.add(b, 4, 1, 'four', m3);
  registry.reportPart(a, m3, 0);
  registry.reportPart(a, m3, 1);
  assert.equal(registry.reportPart(a, m3, 2).partsHeld, 3);
  refused(() => registry.reportPart(a, m3, 3), ErrorCode.LIMIT_EXCEEDED);
  // A part it already holds is still answered: nothing is added.
  assert.equal(registry.reportPart(a, m3, 1).partsHeld, 3);
  assert.deepEqual(data.ownership.get(`${a} ${m3}`)?.bitmap, bitmapFromParts(4, [0, 1, 2]));
  const c = registry.login(C, 1).sessionId;
  for (const part of [0, 1, 2]) registry.reportPart(c, M, part);
  assert.deepEqual(registry.logout(a), { accepted: true, partsOwned: 6 });
});

test('stored ownership beyond maxPartsHeld is skipped at load, so ALOG always fits', () => {
  const data = new MemoryData();
  const first = new Registry({ store: new MemoryStore(data), newId: () => '1111111111111111' });
  const a = first.login(A, 1).sessionId;
  first.add(a, 4, 1, 'four', M);
  first.add(a, 3, 1, 'three', 'b'.repeat(32));
  const again = new Registry({ store: new MemoryStore(data), maxPartsHeld: 5 });
  const peer = again.peers().find((p) => p.sessionId === a);
  assert.equal(peer?.partsHeld, 4);
  assert.equal(again.holders(M).length, 1);
  assert.deepEqual(again.holders('b'.repeat(32)), []);
});
