import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DuplicateWindow } from '../../src/peer/flood/dedup.js';

test('a Pktid is a duplicate for 300 s after it was first seen, and new after', () => {
  const w = new DuplicateWindow();
  assert.equal(w.check('00000000000000AA', 1000), false);
  assert.equal(w.check('00000000000000AA', 1000), true);
  assert.equal(w.check('00000000000000aa', 1000 + 299_999), true, 'case does not make a new id');
  assert.equal(w.has('00000000000000AA', 1000 + 300_000), false);
  assert.equal(w.check('00000000000000AA', 1000 + 300_000), false, 'accepted again once the window is over');
  assert.equal(w.check('00000000000000AA', 1000 + 300_001), true);
});

test('seeing an id again inside its window does not extend the window', () => {
  const w = new DuplicateWindow({ windowMs: 100 });
  w.add('A', 0);
  w.add('A', 90);
  assert.equal(w.has('A', 99), true);
  assert.equal(w.has('A', 100), false);
});

test('has() does not record; expired entries are dropped', () => {
  const w = new DuplicateWindow({ windowMs: 10 });
  assert.equal(w.has('A', 0), false);
  assert.equal(w.size, 0);
  w.add('A', 0);
  w.add('B', 5);
  assert.equal(w.size, 2);
  w.has('C', 12);
  assert.equal(w.size, 1, 'A expired, B not yet');
});

test('the cap bounds memory: the oldest entry goes first and is counted', () => {
  const w = new DuplicateWindow({ maxEntries: 3 });
  for (const id of ['A', 'B', 'C', 'D']) w.add(id, 0);
  assert.equal(w.size, 3);
  assert.equal(w.evicted, 1);
  assert.equal(w.has('A', 0), false);
  assert.equal(w.has('D', 0), true);
});

test('size never exceeds the cap, and a recorded id is a duplicate until evicted or expired', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F'), fc.integer({ min: 0, max: 50 })), { maxLength: 60 }),
      (cap, steps) => {
        const w = new DuplicateWindow({ windowMs: 100, maxEntries: cap });
        let t = 0;
        for (const [id, dt] of steps) {
          t += dt;
          w.check(id, t);
          assert.ok(w.size <= cap);
          assert.equal(w.has(id, t), true);
        }
      },
    ),
  );
});

test('bad options are refused', () => {
  assert.throws(() => new DuplicateWindow({ windowMs: 0 }), RangeError);
  assert.throws(() => new DuplicateWindow({ maxEntries: 0 }), RangeError);
});
