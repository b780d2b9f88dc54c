import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Availability, type OwnerView, type PickInput, availability, pickPart } from '../../src/peer/picker.js';
import { bitmapFromParts, emptyBitmap, fullBitmap } from '../../src/protocol/index.js';
import { seededRandom as seeded } from '../support/random.js';
import { referencePick } from './picker-reference.js';

function owner(key: string, bitmap: Uint8Array, load = 0, available = true): OwnerView {
  return { key, bitmap, load, available };
}

function input(over: Partial<PickInput> & Pick<PickInput, 'parts' | 'owners'>): PickInput {
  return {
    have: emptyBitmap(over.parts),
    inFlight: new Map(),
    randomFirst: 0,
    endgameCopies: 2,
    random: seeded(1),
    ...over,
  };
}

test('rarest first: the part fewest owners hold is chosen', () => {
  const parts = 10;
  const owners = [
    owner('a', fullBitmap(parts)),
    owner('b', bitmapFromParts(parts, [0, 1, 2, 3, 4, 5, 6, 8, 9])),
    owner('c', bitmapFromParts(parts, [0, 1, 2, 3, 4, 5, 6, 8, 9])),
  ];
  // Part 7: only a holds it.
  for (let seed = 1; seed < 50; seed++) {
    const pick = pickPart(input({ parts, owners, random: seeded(seed) }));
    assert.deepEqual(pick, { part: 7, owner: 'a', endgame: false });
  }
});

test('ties between equally rare parts are broken by the injected random source', () => {
  const parts = 6;
  const owners = [owner('a', fullBitmap(parts))];
  const seen = new Set<number>();
  for (let seed = 1; seed < 200; seed++) seen.add(pickPart(input({ parts, owners, random: seeded(seed) }))!.part);
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5]);
  // Same source, same choice.
  assert.deepEqual(pickPart(input({ parts, owners, random: () => 0 })), { part: 0, owner: 'a', endgame: false });
  assert.deepEqual(pickPart(input({ parts, owners, random: () => 0.999 })), { part: 5, owner: 'a', endgame: false });
});

test('random start: before randomFirst parts are held, rarity is ignored', () => {
  const parts = 8;
  // Part 0 is rarest (only a); others held by a, b and c.
  const common = bitmapFromParts(parts, [1, 2, 3, 4, 5, 6, 7]);
  const owners = [owner('a', fullBitmap(parts)), owner('b', common), owner('c', common)];
  const random = seeded(7);
  const early = new Set<number>();
  for (let i = 0; i < 200; i++) early.add(pickPart(input({ parts, owners, randomFirst: 4, random }))!.part);
  assert.ok(early.size > 4, `random start should spread picks, got ${[...early]}`);
  // Once 4 parts are held, rarest first again.
  const have = bitmapFromParts(parts, [1, 2, 3, 4]);
  for (let i = 0; i < 50; i++) assert.equal(pickPart(input({ parts, owners, have, randomFirst: 4, random }))!.part, 0);
});

test('parts held or in flight are not picked; unavailable owners are not asked', () => {
  const parts = 4;
  const have = bitmapFromParts(parts, [0]);
  const inFlight = new Map([[1, new Set(['a'])]]);
  const owners = [owner('a', fullBitmap(parts), 1), owner('b', bitmapFromParts(parts, [2]), 0, false), owner('c', bitmapFromParts(parts, [3]))];
  for (let seed = 1; seed < 30; seed++) {
    const pick = pickPart(input({ parts, owners, have, inFlight, random: seeded(seed) }))!;
    assert.ok(pick.part === 2 || pick.part === 3);
    assert.notEqual(pick.owner, 'b');
    if (pick.part === 2) assert.equal(pick.owner, 'a');
  }
  // Least-loaded owner wins for a part both hold.
  const two = [owner('a', fullBitmap(parts), 3), owner('c', fullBitmap(parts), 1)];
  assert.equal(pickPart(input({ parts, owners: two, have: bitmapFromParts(parts, [0, 1, 2]) }))!.owner, 'c');
});

test('nothing to ask: null (no owners, or missing parts nobody available holds)', () => {
  assert.equal(pickPart(input({ parts: 3, owners: [] })), null);
  assert.equal(pickPart(input({ parts: 3, owners: [owner('a', fullBitmap(3), 0, false)] })), null);
  const partial = [owner('a', bitmapFromParts(3, [0]))];
  assert.equal(pickPart(input({ parts: 3, owners: partial, inFlight: new Map([[0, new Set(['a'])]]) })), null);
});

test('endgame: when every missing part is in flight, ask another owner, at most endgameCopies per part', () => {
  const parts = 4;
  const have = bitmapFromParts(parts, [0, 1]);
  const owners = [owner('a', fullBitmap(parts), 2), owner('b', fullBitmap(parts), 0)];
  const inFlight = new Map([[2, new Set(['a'])], [3, new Set(['a'])]]);
  const pick = pickPart(input({ parts, owners, have, inFlight }))!;
  assert.equal(pick.endgame, true);
  assert.equal(pick.owner, 'b');
  assert.ok(pick.part === 2 || pick.part === 3);
  // Already asked of both owners (2 copies): nothing more.
  const full = new Map([[2, new Set(['a', 'b'])], [3, new Set(['a', 'b'])]]);
  assert.equal(pickPart(input({ parts, owners, have, inFlight: full })), null);
  // Never the same owner twice for one part.
  const onlyA = [owner('a', fullBitmap(parts))];
  assert.equal(pickPart(input({ parts, owners: onlyA, have, inFlight })), null);
  // Fewest copies in flight first.
  const uneven = new Map([[2, new Set(['a', 'c'])], [3, new Set(['a'])]]);
  const three = [...owners, owner('c', fullBitmap(parts))];
  assert.equal(pickPart(input({ parts, owners: three, have, inFlight: uneven, endgameCopies: 3 }))!.part, 3);
});

test('endgame waits until at most endgameParts parts are missing: duplicates of many parts in flight waste their bytes', () => {
  const parts = 8;
  const have = bitmapFromParts(parts, [0, 1, 2, 3]);
  const owners = [owner('a', fullBitmap(parts), 2), owner('b', fullBitmap(parts), 2)];
  const inFlight = new Map([[4, new Set(['a'])], [5, new Set(['a'])], [6, new Set(['b'])], [7, new Set(['b'])]]);
  assert.equal(pickPart(input({ parts, owners, have, inFlight, endgameParts: 3 })), null, 'four missing: no duplicate yet');
  assert.equal(pickPart(input({ parts, owners, have, inFlight, endgameParts: 4 }))!.endgame, true);
  // part 7 arrived: three missing, the endgame begins
  const fewer = new Map([...inFlight].filter(([p]) => p !== 7));
  const pick = pickPart(input({ parts, owners, have: bitmapFromParts(parts, [0, 1, 2, 3, 7]), inFlight: fewer, endgameParts: 3 }))!;
  assert.equal(pick.endgame, true);
  assert.ok(!fewer.get(pick.part)!.has(pick.owner), 'of an owner not yet asked for it');
});

test('rarest first among the least-loaded owners: each free slot goes to an owner we ask least, for its rarest part', () => {
  const parts = 6;
  // Part 0: only a (rarest overall). Part 1: a and b. Parts 2..5: a, b and c.
  const owners = [
    owner('a', fullBitmap(parts), 1),
    owner('b', bitmapFromParts(parts, [1, 2, 3, 4, 5]), 0),
    owner('c', bitmapFromParts(parts, [2, 3, 4, 5]), 1),
  ];
  // b is the only owner we ask nothing of: its rarest part, not a's part 0 (a is busier).
  for (let seed = 1; seed < 50; seed++) {
    assert.deepEqual(pickPart(input({ parts, owners, random: seeded(seed) })), { part: 1, owner: 'b', endgame: false });
  }
  // Equally loaded: plain rarest first again (part 0, only a holds it).
  const even = owners.map((o) => owner(o.key, o.bitmap, 1));
  for (let seed = 1; seed < 50; seed++) assert.equal(pickPart(input({ parts, owners: even, random: seeded(seed) }))!.part, 0);
  // An owner holding nothing we need does not count as least loaded.
  const idleUseless = [...owners.map((o) => owner(o.key, o.bitmap, o.load + 1)), owner('d', emptyBitmap(parts), 0)];
  assert.equal(pickPart(input({ parts, owners: idleUseless }))!.part, 1);
  // Among the least-loaded owners' parts, ties between equally rare ones are random.
  const seen = new Set<number>();
  const bOnly = [owner('a', fullBitmap(parts), 1), owner('b', bitmapFromParts(parts, [2, 3, 4, 5]), 0)];
  for (let seed = 1; seed < 200; seed++) seen.add(pickPart(input({ parts, owners: bOnly, random: seeded(seed) }))!.part);
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
});

test('owner for a part: among equally loaded holders, the one holding the fewest parts we need (the seed is spared)', () => {
  const parts = 4;
  // Every part is held by two owners: s (the seed: all four), l (part 2) or c (parts 0, 1, 3).
  const owners = [owner('s', fullBitmap(parts)), owner('l', bitmapFromParts(parts, [2])), owner('c', bitmapFromParts(parts, [0, 1, 3]))];
  const seen = new Set<number>();
  for (let seed = 1; seed < 100; seed++) {
    const pick = pickPart(input({ parts, owners, random: seeded(seed) }))!;
    seen.add(pick.part);
    assert.equal(pick.owner, pick.part === 2 ? 'l' : 'c');
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
  // Load still comes first: a busier light owner loses to an idle seed.
  const busy = [owner('s', fullBitmap(parts)), owner('l', bitmapFromParts(parts, [2]), 1), owner('c', bitmapFromParts(parts, [0, 1, 3]), 1)];
  assert.equal(pickPart(input({ parts, owners: busy }))!.owner, 's');
});

test('property: picks with the incremental Availability (owners coming, changing, going) equal picks that recount it', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), fc.integer({ min: 0, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
      fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      fc.integer({ min: 0, max: 6 }),
      fc.integer(),
      (parts, steps, haveBits, randomFirst, seed) => {
        // Each step sets owner k's bitmap (or removes it), as FCHU answers do; Availability follows.
        const counts = new Availability(parts);
        const current = new Map<string, OwnerView>();
        for (const [k, bits, load, present] of steps) {
          const key = `o${k}`;
          const before = current.get(key)?.bitmap ?? null;
          const after = present ? bitmapFromParts(parts, bits.slice(0, parts).flatMap((b, p) => (b ? [p] : []))) : null;
          counts.change(before, after);
          if (after) current.set(key, owner(key, after, load, load < 4));
          else current.delete(key);
        }
        const have = bitmapFromParts(parts, haveBits.slice(0, parts).flatMap((b, p) => (b ? [p] : [])));
        const owners = [...current.values()];
        const base = { parts, have, owners, randomFirst, inFlight: new Map<number, Set<string>>() };
        const incremental = pickPart(input({ ...base, random: seeded(seed), availability: counts.counts }));
        const recounted = pickPart(input({ ...base, random: seeded(seed) }));
        assert.deepEqual(incremental, recounted);
        assert.deepEqual([...counts.counts], [...availability(parts, owners)]);
      },
    ),
    { numRuns: 300 },
  );
});

test('inOrder: ties between equally rare parts go to the lowest part; rarity and the random start still come first', () => {
  const parts = 8;
  const owners = [owner('a', fullBitmap(parts)), owner('b', bitmapFromParts(parts, [0, 1, 2]))];
  for (let seed = 1; seed < 30; seed++) {
    // Parts 3..7 are the rarest (only a): the lowest of them.
    assert.equal(pickPart(input({ parts, owners, random: seeded(seed), inOrder: true }))!.part, 3);
    const have = bitmapFromParts(parts, [3, 4]);
    assert.equal(pickPart(input({ parts, owners, have, random: seeded(seed), inOrder: true }))!.part, 5);
  }
  // Before randomFirst parts are held the start stays random.
  const early = new Set<number>();
  const random = seeded(3);
  for (let i = 0; i < 100; i++) early.add(pickPart(input({ parts, owners, randomFirst: 4, random, inOrder: true }))!.part);
  assert.ok(early.size > 2, `random start expected, got ${[...early]}`);
});

test('property: the bitmap picker makes the reference picker\'s pick with the same random draws', () => {
  const inputs = fc.integer({ min: 1, max: 70 }).chain((parts) => {
    const bits = fc.uint8Array({ minLength: Math.ceil(parts / 8), maxLength: Math.ceil(parts / 8) });
    const ownerArb = fc.record({ bitmap: bits, load: fc.integer({ min: 0, max: 3 }), available: fc.boolean() });
    return fc.record({
      parts: fc.constant(parts),
      have: bits,
      owners: fc.array(ownerArb, { maxLength: 6 }),
      flying: fc.array(fc.tuple(fc.integer({ min: 0, max: parts - 1 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 })), { maxLength: 8 }),
      randomFirst: fc.integer({ min: 0, max: 6 }),
      endgameParts: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      endgameCopies: fc.integer({ min: 1, max: 3 }),
      inOrder: fc.boolean(),
      counted: fc.boolean(),
      draws: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 8 }),
    });
  });
  fc.assert(
    fc.property(inputs, (c) => {
      // Bits past the last part (spare bits) are set at random too: neither picker may read them as parts.
      const owners = c.owners.map((o, i) => owner(`o${i}`, o.bitmap, o.load, o.available));
      const inFlight = new Map(c.flying.map(([p, asked]) => [p, new Set(asked.map((a) => `o${a}`))] as const));
      const replay = (): { random: () => number; used: () => number } => {
        let n = 0;
        return { random: () => c.draws[n++ % c.draws.length] as number, used: () => n };
      };
      const a = replay();
      const b = replay();
      const base = { parts: c.parts, have: c.have, inFlight, owners, randomFirst: c.randomFirst, endgameCopies: c.endgameCopies, endgameParts: c.endgameParts, inOrder: c.inOrder };
      const counts = c.counted ? availability(c.parts, owners) : undefined;
      const ours = pickPart({ ...base, random: a.random, ...(counts ? { availability: counts } : {}) });
      const theirs = referencePick({ ...base, random: b.random, ...(counts ? { availability: counts } : {}) });
      assert.deepEqual(ours, theirs);
      assert.equal(a.used(), b.used(), 'the same number of random draws');
    }),
    { numRuns: 3000 },
  );
});
