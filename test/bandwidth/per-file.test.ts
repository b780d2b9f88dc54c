/** PerFile: a number per file without a Map for the usual single file, behaving as a Map would. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PerFile } from '../../src/peer/choke/per-file.js';

test('one file, then more: get, has, delete and max as a Map gives them', () => {
  const f = new PerFile();
  assert.equal(f.size, 0);
  assert.equal(f.max(), -Infinity);
  f.set('a', 5);
  f.set('a', 7);
  f.set('b', 3);
  f.set('c', 9);
  assert.deepEqual([f.size, f.get('a'), f.get('b'), f.get('c'), f.get('d'), f.max()], [3, 7, 3, 9, undefined, 9]);
  // deleting the first moves another into its place: nothing is lost
  assert.equal(f.delete('a'), true);
  assert.equal(f.delete('a'), false);
  assert.deepEqual([f.size, f.has('a'), f.get('b'), f.get('c'), f.max()], [2, false, 3, 9, 9]);
  f.set('a', 1);
  assert.equal(f.delete('c'), true);
  assert.deepEqual([f.size, f.get('a'), f.get('b'), f.max()], [2, 1, 3, 3]);
});

test('property: any sequence of set and delete leaves the same contents as a Map', () => {
  const key = fc.constantFrom('m1', 'm2', 'm3', 'm4');
  const op = fc.oneof(fc.tuple(fc.constant('set' as const), key, fc.integer({ min: -1000, max: 1000 })), fc.tuple(fc.constant('delete' as const), key, fc.constant(0)));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const f = new PerFile();
      const m = new Map<string, number>();
      for (const [kind, k, v] of ops) {
        if (kind === 'set') {
          f.set(k, v);
          m.set(k, v);
        } else assert.equal(f.delete(k), m.delete(k));
        assert.equal(f.size, m.size);
      }
      for (const k of ['m1', 'm2', 'm3', 'm4']) {
        assert.equal(f.get(k), m.get(k));
        assert.equal(f.has(k), m.has(k));
      }
      assert.equal(f.max(), m.size === 0 ? -Infinity : Math.max(...m.values()));
    }),
  );
});
