/** The connection guard, pure: caps per client and in all, who is evicted, and the deadlines (a fake clock). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConnectionGuard, type GuardLimits, clientKey } from '../../src/net/guard.js';
import { PenaltyBox } from '../../src/net/penalty.js';

function guard(limits: Partial<GuardLimits> = {}) {
  const clock = { t: 0 };
  const g = new ConnectionGuard<string>(
    { maxConnections: 100, maxPerAddress: 10, requestTimeoutMs: 1000, idleTimeoutMs: 5000, ...limits },
    () => clock.t,
  );
  return { g, clock };
}

test('IPv4, IPv4-mapped IPv6 and the loopback IPv6 of one host are one client', () => {
  assert.equal(clientKey('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(clientKey('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.equal(clientKey('::1'), '127.0.0.1');
  assert.equal(clientKey('fd99::2'), 'fd99::2');
  assert.equal(clientKey(undefined), 'unknown');
  const { g } = guard({ maxPerAddress: 3 });
  for (const [i, a] of ['127.0.0.1', '::ffff:127.0.0.1', '::1'].entries()) assert.ok(g.open(a, `c${i}`).slot);
  assert.equal(g.countOf('127.0.0.1'), 3);
  assert.equal(g.countOf('127.0.0.2'), 0);
});

test('over the per-client cap the oldest waiting connection of that client goes, not the newcomer; others are untouched', () => {
  const { g } = guard({ maxPerAddress: 2 });
  const other = g.open('127.0.0.9', 'other').slot!;
  g.open('127.0.0.1', 'a');
  g.open('::1', 'b');
  const c = g.open('::ffff:127.0.0.1', 'c');
  assert.ok(c.slot);
  assert.deepEqual(c.drops, [{ handle: 'a', key: '127.0.0.1', reason: 'per-address' }]);
  assert.equal(g.countOf('127.0.0.1'), 2);
  assert.equal(other.released, false);
  assert.equal(g.size, 3);
});

test('connections being served are never evicted', () => {
  const { g } = guard({ maxPerAddress: 2 });
  const a = g.open('10.0.0.1', 'a').slot!;
  const b = g.open('10.0.0.1', 'b').slot!;
  a.serve();
  assert.deepEqual(g.open('10.0.0.1', 'c').drops.map((d) => d.handle), ['b']);
  assert.equal(b.released, true);
  assert.deepEqual(g.open('10.0.0.1', 'd').drops.map((d) => d.handle), ['c']);
  assert.equal(a.released, false);
});

test('all served: refused with reason, nothing dropped', () => {
  const { g } = guard({ maxPerAddress: 2 });
  g.open('10.0.0.1', 'a').slot!.serve();
  g.open('10.0.0.1', 'b').slot!.serve();
  const r = g.open('10.0.0.1', 'c');
  assert.equal(r.slot, null);
  assert.deepEqual(r.drops, [{ handle: 'c', key: '10.0.0.1', reason: 'refused' }]);
  assert.equal(g.size, 2);
});

test('at the global cap: a closing connection goes first, then the one waiting longest; a served one re-enters at the back', () => {
  const { g } = guard({ maxConnections: 3 });
  const a = g.open('10.0.0.1', 'a').slot!;
  const b = g.open('10.0.0.2', 'b').slot!;
  const c = g.open('10.0.0.3', 'c').slot!;
  c.closing();
  assert.deepEqual(g.open('10.0.0.4', 'd').drops, [{ handle: 'c', key: '10.0.0.3', reason: 'full' }]);
  // a was served and is waiting again: now b has waited longest.
  a.serve();
  a.served();
  assert.deepEqual(g.open('10.0.0.5', 'e').drops.map((d) => d.handle), ['b']);
  assert.equal(b.released, true);
  // a served now: d (waiting since before e) goes.
  a.serve();
  assert.deepEqual(g.open('10.0.0.6', 'f').drops.map((d) => d.handle), ['d']);
  assert.equal(g.size, 3);
});

test('the request deadline runs from a request\'s first byte and bytes do not extend it', () => {
  const { g, clock } = guard({ requestTimeoutMs: 1000, idleTimeoutMs: 60_000 });
  const s = g.open('10.0.0.1', 'slow').slot!;
  const fast = g.open('10.0.0.2', 'fast').slot!;
  clock.t = 5000; // waiting without a byte is the idle deadline's business, not this one
  assert.deepEqual(g.expired(), []);
  for (let i = 0; i < 9; i++) {
    s.active();
    s.read(0, true);
    clock.t += 100;
  }
  fast.active();
  fast.read(0, true);
  assert.deepEqual(g.expired(), []);
  clock.t += 100; // 1000 ms after the slow request's first byte
  s.active();
  fast.read(1, false); // the fast one completed: no deadline now
  assert.deepEqual(g.expired(), [{ handle: 'slow', key: '10.0.0.1', reason: 'request-timeout' }]);
  assert.equal(s.released, true);
  // A request completed and the next one begun in the same bytes gets a deadline of its own.
  fast.read(1, true);
  clock.t += 999;
  assert.deepEqual(g.expired(), []);
  clock.t += 1;
  assert.deepEqual(g.expired().map((d) => d.reason), ['request-timeout']);
});

test('idle deadline: no byte for idleTimeoutMs closes a connection, unless it is being served', () => {
  const { g, clock } = guard({ idleTimeoutMs: 5000 });
  const quiet = g.open('10.0.0.1', 'quiet').slot!;
  const upload = g.open('10.0.0.2', 'upload').slot!;
  const chatty = g.open('10.0.0.3', 'chatty').slot!;
  upload.serve();
  clock.t = 4999;
  chatty.active();
  assert.deepEqual(g.expired(), []);
  clock.t = 5000;
  assert.deepEqual(g.expired().map((d) => d.handle), ['quiet']);
  assert.equal(quiet.released, true);
  clock.t = 20_000;
  upload.served();
  assert.deepEqual(g.expired().map((d) => d.handle), ['chatty']);
  clock.t = 25_000;
  assert.deepEqual(g.expired().map((d) => d.handle), ['upload']);
  assert.equal(g.size, 0);
});

test('release is idempotent and frees the place under both caps', () => {
  const { g } = guard({ maxConnections: 1, maxPerAddress: 1 });
  const a = g.open('10.0.0.1', 'a').slot!;
  a.serve();
  assert.equal(g.open('10.0.0.2', 'b').slot, null);
  a.release();
  a.release();
  assert.equal(g.size, 0);
  const b = g.open('10.0.0.2', 'b');
  assert.ok(b.slot);
  assert.deepEqual(b.drops, []);
});

test('limits must be positive integers', () => {
  assert.throws(() => guard({ maxPerAddress: 0 }), RangeError);
  assert.throws(() => guard({ requestTimeoutMs: 1.5 }), RangeError);
});

test('property: whatever happens, the caps hold, the newcomer is admitted while someone is evictable, and counts match', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('open' as const), client: fc.integer({ min: 0, max: 5 }), v6: fc.boolean() }),
    fc.record({ kind: fc.constantFrom('serve' as const, 'served' as const, 'closing' as const, 'release' as const, 'read' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 200 }), (maxConnections, maxPerAddress, ops) => {
      const { g, clock } = guard({ maxConnections, maxPerAddress, requestTimeoutMs: 1000, idleTimeoutMs: 4000 });
      type S = NonNullable<ReturnType<typeof g.open>['slot']>;
      const live: S[] = [];
      const sweep = (handles: string[]): void => {
        for (const h of handles) {
          const i = live.findIndex((s) => s.handle === h);
          if (i >= 0) live.splice(i, 1);
        }
      };
      let n = 0;
      for (const o of ops) {
        if (o.kind === 'open') {
          const address = o.v6 ? `::ffff:10.0.0.${o.client}` : `10.0.0.${o.client}`;
          const evictable = live.filter((s) => s.serving === 0);
          const own = live.filter((s) => s.key === `10.0.0.${o.client}`);
          const served = new Set(live.filter((s) => s.serving > 0).map((s) => s.handle));
          const r = g.open(address, `h${n++}`);
          // Only connections not being served are ever dropped.
          for (const d of r.drops) assert.ok(!served.has(d.handle), `${d.handle} was being served`);
          sweep(r.drops.map((d) => d.handle));
          if (r.slot) live.push(r.slot);
          // Refused only when nobody it could replace was evictable.
          if (!r.slot) {
            const ownFull = own.length >= maxPerAddress && own.every((s) => s.serving > 0);
            const allFull = live.length >= maxConnections && live.every((s) => s.serving > 0);
            assert.ok(ownFull || allFull || evictable.length === 0, 'refused though someone was evictable');
          }
        } else if (o.kind === 'tick') {
          clock.t += o.ms;
          sweep(g.expired().map((d) => d.handle));
        } else if (live.length > 0) {
          const s = live[o.pick % live.length]!;
          if (o.kind === 'release') {
            s.release();
            live.splice(live.indexOf(s), 1);
          } else if (o.kind === 'read') s.read(o.pick % 2, o.pick % 3 === 0);
          else s[o.kind]();
        }
        assert.ok(g.size <= maxConnections);
        assert.equal(g.size, live.length);
        for (let c = 0; c <= 5; c++) assert.ok(g.countOf(`10.0.0.${c}`) <= maxPerAddress);
        assert.ok(live.every((s) => !s.released));
      }
    }),
    { numRuns: 300 },
  );
});

test('penalty box: a key is kept out for durationMs, then let in; bounded, oldest offence dropped first', () => {
  const clock = { t: 0 };
  const box = new PenaltyBox(1000, () => clock.t, 2);
  box.add('a');
  clock.t = 400;
  assert.equal(box.remaining('a'), 600);
  assert.equal(box.remaining('b'), 0);
  box.add('b');
  box.add('c');
  assert.equal(box.size, 2);
  assert.equal(box.remaining('a'), 0, 'the oldest went when the box was full');
  clock.t = 1400;
  assert.equal(box.remaining('b'), 0);
  assert.equal(box.remaining('c'), 0);
  assert.equal(box.size, 0);
  assert.throws(() => new PenaltyBox(-1, () => 0), RangeError);
});
