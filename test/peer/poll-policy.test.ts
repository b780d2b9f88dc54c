import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POLL_POLICY, checkPollPolicy, nextPollInterval, pollDelay, pollNews } from '../../src/peer/poll-policy.js';
import { bitmapFromParts, emptyBitmap } from '../../src/protocol/index.js';

const P = { minMs: 1000, maxMs: 16_000, growth: 2, jitter: 0.1 };

test('nothing new: the interval doubles up to the maximum', () => {
  const quiet = { newHolders: 0, newParts: 0 };
  const seen: number[] = [];
  let i = P.minMs;
  for (let k = 0; k < 7; k++) seen.push((i = nextPollInterval(i, quiet, false, P)));
  assert.deepEqual(seen, [2000, 4000, 8000, 16000, 16000, 16000, 16000]);
});

test('news or starving: back to the minimum', () => {
  assert.equal(nextPollInterval(16_000, { newHolders: 1, newParts: 0 }, false, P), 1000);
  assert.equal(nextPollInterval(16_000, { newHolders: 0, newParts: 3 }, false, P), 1000);
  assert.equal(nextPollInterval(16_000, { newHolders: 0, newParts: 0 }, true, P), 1000);
});

test('pollNews counts unknown holders and parts we lack that no known holder had', () => {
  const parts = 16;
  const known = new Map([['a', bitmapFromParts(parts, [0, 1, 2])]]);
  const have = bitmapFromParts(parts, [5]);
  assert.deepEqual(pollNews(known, [{ key: 'a', bitmap: bitmapFromParts(parts, [0, 1, 2]) }], have, parts), { newHolders: 0, newParts: 0 });
  // a grew parts 3 and 5 (5 we have), b is new with 0 and 9
  const news = pollNews(known, [{ key: 'a', bitmap: bitmapFromParts(parts, [0, 1, 2, 3, 5]) }, { key: 'b', bitmap: bitmapFromParts(parts, [0, 9]) }], have, parts);
  assert.deepEqual(news, { newHolders: 1, newParts: 2 });
  assert.deepEqual(pollNews(new Map(), [], emptyBitmap(parts), parts), { newHolders: 0, newParts: 0 });
});

test('pollDelay spreads the interval by at most the jitter', () => {
  assert.equal(pollDelay(10_000, () => 0.5, P), 10_000);
  assert.equal(pollDelay(10_000, () => 0, P), 9000);
  assert.ok(pollDelay(10_000, () => 0.999999, P) <= 11_000);
});

test('options are checked', () => {
  assert.equal(checkPollPolicy(DEFAULT_POLL_POLICY), DEFAULT_POLL_POLICY);
  assert.throws(() => checkPollPolicy({ ...P, minMs: 0 }), RangeError);
  assert.throws(() => checkPollPolicy({ ...P, maxMs: 500 }), RangeError);
  assert.throws(() => checkPollPolicy({ ...P, growth: 0.5 }), RangeError);
  assert.throws(() => checkPollPolicy({ ...P, jitter: 1 }), RangeError);
});
