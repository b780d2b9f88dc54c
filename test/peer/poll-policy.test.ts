import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POLL_POLICY, checkPollPolicy, nextPollInterval, pollDelay, pollNews } from '../../src/peer/poll-policy.js';
import { bitmapFromParts, emptyBitmap } from '../../src/protocol/index.js';

const P = { minMs: 1000, maxMs: 16_000, growth: 2, jitter: 0.1, enoughOwners: 4, smallSwarm: 32, smallSwarmShare: 0.5 };
/** An answer listing more holders than a small swarm has. */
const BIG = { gained: 0, listed: 50 };

test('nothing new: the interval doubles up to the maximum', () => {
  const quiet = { newHolders: 0, newParts: 0, usefulOwners: 10, ...BIG };
  const seen: number[] = [];
  let i = P.minMs;
  for (let k = 0; k < 7; k++) seen.push((i = nextPollInterval(i, quiet, false, P)));
  assert.deepEqual(seen, [2000, 4000, 8000, 16000, 16000, 16000, 16000]);
});

test('news or starving: back to the minimum', () => {
  // a new part we lack counts whatever we know; so does starving
  assert.equal(nextPollInterval(16_000, { newHolders: 0, newParts: 3, usefulOwners: 10, ...BIG }, false, P), 1000);
  assert.equal(nextPollInterval(16_000, { newHolders: 0, newParts: 0, usefulOwners: 10, ...BIG }, true, P), 1000);
  // a new holder counts only while we know too few useful owners
  assert.equal(nextPollInterval(16_000, { newHolders: 1, newParts: 0, usefulOwners: 3, ...BIG }, false, P), 1000);
  assert.equal(nextPollInterval(4000, { newHolders: 5, newParts: 0, usefulOwners: 4, ...BIG }, false, P), 8000);
});

test('in a small swarm a known holder that gained a part we lack is news; in a big one it is not', () => {
  // S1: the seed holds every part, so no answer ever has a part "no known holder had";
  // the leechers' new parts are what keeps their uploads busy.
  // (and a small swarm polls at half the interval: P.smallSwarmShare)
  const moved = { newHolders: 0, newParts: 0, usefulOwners: 8, gained: 3 };
  assert.equal(nextPollInterval(8000, { ...moved, listed: 8 }, false, P), 500);
  assert.equal(nextPollInterval(8000, { ...moved, listed: 32 }, false, P), 500);
  assert.equal(nextPollInterval(8000, { ...moved, listed: 33 }, false, P), 16_000);
  assert.equal(nextPollInterval(2000, { ...moved, gained: 0, listed: 8 }, false, P), 4000);
});

test('a small swarm polls at smallSwarmShare of the interval on news or starving, and grows from there; a big one at minMs', () => {
  const quiet = { newHolders: 0, newParts: 0, usefulOwners: 8, gained: 0 };
  assert.equal(nextPollInterval(8000, { ...quiet, listed: 5 }, true, P), 500, 'starving, small swarm');
  assert.equal(nextPollInterval(8000, { ...quiet, listed: 50 }, true, P), 1000, 'starving, big swarm');
  assert.equal(nextPollInterval(8000, { ...quiet, newParts: 1, listed: 5 }, false, P), 500);
  assert.equal(nextPollInterval(500, { ...quiet, listed: 5 }, false, P), 1000, 'nothing new: doubled from the small floor');
  assert.equal(nextPollInterval(200, { ...quiet, listed: 5 }, false, P), 500, 'never under the floor');
  assert.equal(nextPollInterval(8000, { ...quiet, newParts: 1, listed: 5 }, false, { ...P, smallSwarmShare: 1 }), 1000, 'share 1: as a big swarm');
});

test('pollNews counts unknown holders and parts we lack that no known holder had', () => {
  const parts = 16;
  const known = new Map([['a', bitmapFromParts(parts, [0, 1, 2])]]);
  const have = bitmapFromParts(parts, [5]);
  assert.deepEqual(pollNews(known, [{ key: 'a', bitmap: bitmapFromParts(parts, [0, 1, 2]) }], have, parts), { newHolders: 0, newParts: 0, usefulOwners: 1, gained: 0, listed: 1 });
  // a grew parts 3 and 5 (5 we have), b is new with 0 and 9; c holds only what we have
  const news = pollNews(
    known,
    [{ key: 'a', bitmap: bitmapFromParts(parts, [0, 1, 2, 3, 5]) }, { key: 'b', bitmap: bitmapFromParts(parts, [0, 9]) }, { key: 'c', bitmap: bitmapFromParts(parts, [5]) }],
    have,
    parts,
  );
  // a gained 3 (wanted) and 5 (held already): one pair; b is unknown, so none of its parts count as gained
  assert.deepEqual(news, { newHolders: 2, newParts: 2, usefulOwners: 2, gained: 1, listed: 3 });
  assert.deepEqual(pollNews(new Map(), [], emptyBitmap(parts), parts), { newHolders: 0, newParts: 0, usefulOwners: 0, gained: 0, listed: 0 });
  // parts beyond the last one (bitmap padding) are never wanted
  assert.equal(pollNews(new Map(), [{ key: 'x', bitmap: Uint8Array.of(0x00, 0x7f) }], bitmapFromParts(9, [0, 1, 2, 3, 4, 5, 6, 7, 8]), 9).usefulOwners, 0);
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
  assert.throws(() => checkPollPolicy({ ...P, enoughOwners: -1 }), RangeError);
  assert.throws(() => checkPollPolicy({ ...P, smallSwarm: -1 }), RangeError);
  assert.throws(() => checkPollPolicy({ ...P, smallSwarmShare: 0 }), RangeError);
  assert.throws(() => checkPollPolicy({ ...P, smallSwarmShare: 1.5 }), RangeError);
});
