/** The simulator's event queue and fluid network model. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventQueue } from '../../sim/events.js';
import { FluidNetwork, waterfill } from '../../sim/network.js';

test('events run in time order, ties in scheduling order; cancelled ones never run', () => {
  const q = new EventQueue();
  const seen: string[] = [];
  q.at(30, () => seen.push('c'));
  q.at(10, () => seen.push('a1'));
  q.at(10, () => seen.push('a2'));
  const x = q.at(20, () => seen.push('x'));
  q.at(20, () => q.after(0, () => seen.push('b-then')));
  x.cancelled = true;
  q.run();
  assert.deepEqual(seen, ['a1', 'a2', 'b-then', 'c']);
  assert.equal(q.now, 30);
});

test('the heap keeps order over many random insertions', () => {
  const q = new EventQueue();
  const times: number[] = [];
  let s = 7;
  for (let i = 0; i < 2000; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const t = s % 1000;
    q.at(t, () => times.push(t));
  }
  q.run();
  assert.equal(times.length, 2000);
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!);
});

test('property: any mix of scheduling (also from inside events) and cancelling runs in (time, scheduling order), each live event once', () => {
  // ops: [time offset, schedules a follow-up at this offset (or -1), cancel an earlier event's index (or -1)]
  const op = fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: -1, max: 20 }), fc.integer({ min: -1, max: 3000 }));
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 3000 }), (ops) => {
      const q = new EventQueue();
      const ran: { at: number; seq: number }[] = [];
      const events = ops.map(([t, follow]) => {
        const e = q.at(t, () => {
          ran.push({ at: e.at, seq: e.seq });
          if (follow >= 0) {
            const f = q.after(follow, () => ran.push({ at: f.at, seq: f.seq }));
          }
        });
        return e;
      });
      const cancelled = new Set<number>();
      for (const [, , c] of ops) if (c >= 0 && c < events.length) { events[c]!.cancelled = true; cancelled.add(c); }
      q.run();
      const live = ops.length - cancelled.size;
      const follows = ops.filter(([, f], i) => f >= 0 && !cancelled.has(i)).length;
      assert.equal(ran.length, live + follows);
      assert.equal(q.size, 0);
      for (let i = 1; i < ran.length; i++) {
        const a = ran[i - 1]!, b = ran[i]!;
        assert.ok(a.at < b.at || (a.at === b.at && a.seq < b.seq), `event ${i} out of order`);
      }
    }),
    { numRuns: 60 },
  );
});

test('waterfill: equal shares, a capped item gives its rest to the others', () => {
  const items = [{ cap: Infinity, give: 0 }, { cap: 0.5, give: 0 }, { cap: Infinity, give: 0 }];
  waterfill(3, items);
  const byCap = items.sort((a, b) => a.cap - b.cap).map((i) => i.give);
  assert.deepEqual(byCap, [0.5, 1.25, 1.25]);
});

function finishTimes(setup: (net: FluidNetwork, q: EventQueue, done: Map<string, number>) => void): Map<string, number> {
  const q = new EventQueue();
  const net = new FluidNetwork(q);
  const done = new Map<string, number>();
  setup(net, q, done);
  q.run();
  return done;
}

test('two transfers sharing an uplink get half each', () => {
  const done = finishTimes((net, q, done) => {
    const s = net.host(1000, Infinity);
    const a = net.host(10, Infinity);
    const b = net.host(10, Infinity);
    net.start(s, a, 1000, () => {}, () => done.set('a', q.now));
    net.start(s, b, 1000, () => {}, () => done.set('b', q.now));
  });
  // 1000 bytes each at 500 B/s: 2 s
  assert.ok(Math.abs(done.get('a')! - 2000) < 1e-6, `${done.get('a')}`);
  assert.ok(Math.abs(done.get('b')! - 2000) < 1e-6);
});

test('max-min with a slow downlink: it takes its capacity, the other transfer the rest', () => {
  const rates = new Map<string, number>();
  const done = finishTimes((net, q, done) => {
    const s = net.host(2000, Infinity);
    const slow = net.host(10, 500);
    const fast = net.host(10, Infinity);
    const f1 = net.start(s, slow, 1000, () => {}, () => done.set('slow', q.now));
    const f2 = net.start(s, fast, 3000, () => {}, () => done.set('fast', q.now));
    rates.set('slow', f1.rate);
    rates.set('fast', f2.rate);
  });
  assert.equal(rates.get('slow'), 500);
  assert.equal(rates.get('fast'), 1500);
  // slow: 1000 B at 500 B/s = 2 s; fast: 3000 B at 1500 B/s = 2 s
  assert.ok(Math.abs(done.get('slow')! - 2000) < 1e-6);
  assert.ok(Math.abs(done.get('fast')! - 2000) < 1e-6);
});

test('a transfer ending frees its share: the other speeds up; bytes are conserved', () => {
  let moved = 0;
  const done = finishTimes((net, q, done) => {
    const s = net.host(1000, Infinity);
    const a = net.host(10, Infinity);
    const b = net.host(10, Infinity);
    net.start(s, a, 500, (n) => (moved += n), () => done.set('a', q.now));
    net.start(s, b, 1500, (n) => (moved += n), () => done.set('b', q.now));
  });
  // both at 500 B/s until a ends at 1 s; b has 1000 B left at 1000 B/s: ends at 2 s
  assert.ok(Math.abs(done.get('a')! - 1000) < 1e-6);
  assert.ok(Math.abs(done.get('b')! - 2000) < 1e-6);
  assert.ok(Math.abs(moved - 2000) < 1e-6);
});

test('a downlink shared by two uploaders: rates never exceed any capacity', () => {
  const q = new EventQueue();
  const net = new FluidNetwork(q);
  const d = net.host(10, 1000);
  const s1 = net.host(800, Infinity);
  const s2 = net.host(800, Infinity);
  const f1 = net.start(s1, d, 10_000, () => {}, () => {});
  const f2 = net.start(s2, d, 10_000, () => {}, () => {});
  assert.ok(f1.rate + f2.rate <= 1000 + 1e-9);
  assert.ok(f1.rate <= 800 && f2.rate <= 800);
  assert.ok(f1.rate + f2.rate >= 1000 - 1e-9, 'the downlink is used fully');
  assert.equal(net.cancel(f1), 0);
  assert.equal(f2.rate, 800);
});

test('an uplink capacity a flow cannot use (its downlink took less) goes to a flow whose downlink has room', () => {
  // S (10) sends A to D1 (4) and B to D2 (10). C from T halves A at D1; then E (1, from T2) starts at D2:
  // max-min gives B what S has left (10 - A's 2 = 8), not S's capacity minus A's old claim (6).
  const q = new EventQueue();
  const net = new FluidNetwork(q);
  const S = net.host(10, Infinity);
  const T = net.host(10, Infinity);
  const T2 = net.host(1, Infinity);
  const D1 = net.host(0, 4);
  const D2 = net.host(0, 10);
  const big = 1e9;
  const none = (): void => undefined;
  const a = net.start(S, D1, big, none, none);
  const b = net.start(S, D2, big, none, none);
  assert.equal(b.rate, 6);
  net.start(T, D1, big, none, none);
  assert.equal(a.rate, 2);
  const e = net.start(T2, D2, big, none, none);
  assert.equal(e.rate, 1);
  assert.equal(b.rate, 8);
  // feasible: S's flows never exceed its capacity
  assert.ok(a.rate + b.rate <= 10);
});
