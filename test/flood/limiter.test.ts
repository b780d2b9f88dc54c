import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeyedTokenBucket } from '../../src/peer/flood/limiter.js';

test('a burst, then one token per 1/perSecond seconds', () => {
  const b = new KeyedTokenBucket({ burst: 3, perSecond: 2 });
  assert.deepEqual([1, 2, 3, 4].map(() => b.take('a', 0)), [true, true, true, false]);
  assert.equal(b.take('a', 499), false);
  assert.equal(b.take('a', 500), true);
  assert.equal(b.take('a', 500), false);
  assert.deepEqual([1, 2, 3, 4].map(() => b.take('a', 60_000)), [true, true, true, false], 'refill stops at the burst');
});

test('keys are independent', () => {
  const b = new KeyedTokenBucket({ burst: 1, perSecond: 0 });
  assert.equal(b.take('a', 0), true);
  assert.equal(b.take('a', 0), false);
  assert.equal(b.take('b', 0), true);
  assert.equal(b.take('a', 1e9), false, 'perSecond 0 never refills');
});

test('the table is bounded; the least recently used key is forgotten', () => {
  const b = new KeyedTokenBucket({ burst: 1, perSecond: 0, maxKeys: 2 });
  b.take('a', 0);
  b.take('b', 0);
  b.take('a', 0); // a is now most recent
  b.take('c', 0); // forgets b
  assert.equal(b.size, 2);
  assert.equal(b.take('a', 0), false, 'a is still remembered (and empty)');
  assert.equal(b.take('b', 0), true, 'b was forgotten and comes back full');
});

test('a clock going backwards mints no tokens', () => {
  const b = new KeyedTokenBucket({ burst: 1, perSecond: 1 });
  assert.equal(b.take('a', 10_000), true);
  assert.equal(b.take('a', 0), false);
  assert.equal(b.take('a', 10_999), false);
  assert.equal(b.take('a', 11_000), true);
});

test('never more than burst + perSecond × elapsed grants, and the table stays within its cap', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 5 }),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 700 })), { maxLength: 80 }),
      (burst, perSecond, steps) => {
        const b = new KeyedTokenBucket({ burst, perSecond, maxKeys: 10 });
        const granted = new Map<string, number>();
        let t = 0;
        for (const [key, dt] of steps) {
          t += dt;
          if (b.take(key, t)) granted.set(key, (granted.get(key) ?? 0) + 1);
          assert.ok((granted.get(key) ?? 0) <= burst + (perSecond * t) / 1000 + 1e-9);
          assert.ok(b.size <= 10);
        }
      },
    ),
  );
});

test('bad options are refused', () => {
  assert.throws(() => new KeyedTokenBucket({ burst: 0, perSecond: 1 }), RangeError);
  assert.throws(() => new KeyedTokenBucket({ burst: 1, perSecond: -1 }), RangeError);
  assert.throws(() => new KeyedTokenBucket({ burst: 1, perSecond: 1, maxKeys: 0 }), RangeError);
});
