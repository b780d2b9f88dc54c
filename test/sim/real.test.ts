/** The simulator's adapter to the real tracker registry: answers as a decoded AFCH would carry them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRegistry } from '../../sim/real.js';
import { hasPart } from '../../src/protocol/index.js';

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

test("an answer's bitmaps are copies as of the answer: a later RPAD shows in the next answer only; answers between RPADs share one copy", () => {
  let t = 0;
  const registry = newRegistry(() => t, () => 0.5, 0);
  const seed = registry.login({ ip4: '10.0.0.1', ip6: '::' }, 5000);
  const a = registry.login({ ip4: '10.0.0.2', ip6: '::' }, 5000);
  const b = registry.login({ ip4: '10.0.0.3', ip6: '::' }, 5000);
  registry.add(seed, 4 * 1024, 1024, MD5);
  registry.reportPart(a, MD5, 0);
  t = 1;
  const first = registry.fetch(b, MD5);
  const aFirst = first.find((h) => h.ip4 === '10.0.0.2')!;
  assert.ok(hasPart(aFirst.bitmap, 0) && !hasPart(aFirst.bitmap, 1));
  const again = registry.fetch(seed, MD5).find((h) => h.ip4 === '10.0.0.2')!;
  assert.equal(again.bitmap, aFirst.bitmap, 'no RPAD between: the same copy');
  registry.reportPart(a, MD5, 1);
  const later = registry.fetch(b, MD5).find((h) => h.ip4 === '10.0.0.2')!;
  assert.ok(hasPart(later.bitmap, 1), 'the next answer has the new part');
  assert.ok(!hasPart(aFirst.bitmap, 1), 'the earlier answer is unchanged (a decoded AFCH never changes)');
  assert.equal(registry.fetch(b, MD5).find((h) => h.ip4 === '10.0.0.1')!.bitmap.length, 1);
});
