/** Vectored-I/O helpers and the uploader's pool of send buffers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FramePool, afterBytes } from '../../src/peer/buffers.js';

test('afterBytes skips whole and partial buffers without copying', () => {
  const a = Buffer.from('abc');
  const b = Buffer.from('defg');
  assert.equal(afterBytes([a, b], 0)[0], a);
  assert.deepEqual(Buffer.concat(afterBytes([a, b], 2)).toString(), 'cdefg');
  assert.deepEqual(Buffer.concat(afterBytes([a, b], 3)).toString(), 'defg');
  assert.deepEqual(afterBytes([a, b], 7), []);
  const view = afterBytes([a, b], 4)[0]!;
  view[0] = 0x7a;
  assert.equal(b.toString(), 'dzfg', 'a view of the original, not a copy');
});

test('a frame given back is handed out again, once, and only for its size', () => {
  const pool = new FramePool(2);
  const one = pool.take(100);
  const two = pool.take(100);
  assert.notEqual(one, two, 'a frame in use is never handed out twice');
  pool.give(one);
  pool.give(one);
  assert.equal(pool.take(100), one);
  assert.notEqual(pool.take(100), one, 'given twice, still handed out once');
  pool.give(two);
  const other = pool.take(50);
  assert.equal(other.length, 50);
  assert.notEqual(pool.take(100), two, 'another size class dropped the idle frames');
});

test('the pool keeps at most its bound of idle frames', () => {
  const pool = new FramePool(2);
  const frames = [pool.take(10), pool.take(10), pool.take(10)];
  for (const f of frames) pool.give(f);
  const again = new Set([pool.take(10), pool.take(10), pool.take(10)]);
  assert.equal([...again].filter((f) => frames.includes(f)).length, 2);
});
