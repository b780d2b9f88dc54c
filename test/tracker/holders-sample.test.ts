/** Bounded FCHU answers: the pure sample (holders-sample.ts) and the Registry's use of it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bitmapFromParts, fullBitmap, hasPart } from '../../src/protocol/index.js';
import { HolderSampler, rarityOf, sampleHolders } from '../../src/tracker/holders-sample.js';
import { MemoryStore } from '../../src/tracker/memory-store.js';
import { Registry } from '../../src/tracker/registry.js';
import { seededRandom } from '../support/random.js';

const PARTS = 64;

/** 200 holders of parts 0..31 only, 3 holders of a rare part each (40, 41, 42), one seed. */
function swarm(): Map<string, Uint8Array> {
  const owners = new Map<string, Uint8Array>();
  owners.set('seed', fullBitmap(PARTS));
  const common = Array.from({ length: 32 }, (_, p) => p);
  for (let i = 0; i < 200; i++) owners.set(`p${i}`, bitmapFromParts(PARTS, common));
  owners.set('r40', bitmapFromParts(PARTS, [...common, 40]));
  owners.set('r41', bitmapFromParts(PARTS, [41]));
  owners.set('r42', bitmapFromParts(PARTS, [42]));
  return owners;
}

test('rarityOf lists parts rarest first, with their holders, and leaves out parts nobody holds', () => {
  const owners = swarm();
  const r = rarityOf(owners, PARTS, 0);
  // Parts 32..63 except 40..42 are held by the seed alone: count 1, like 41 and 42 (held by the seed too: 2).
  assert.equal(r.rare[0]!.holders.length, 1);
  assert.deepEqual(r.rare[0]!.holders, ['seed']);
  const p41 = r.rare.find((e) => e.part === 41)!;
  assert.deepEqual([...p41.holders].sort(), ['r41', 'seed']);
  assert.equal(r.keys.length, owners.size);
  const empty = rarityOf(new Map([['a', bitmapFromParts(PARTS, [3])]]), PARTS, 0);
  assert.deepEqual(empty.rare.map((e) => e.part), [3]);
});

test('the sample is bounded, distinct, never the requester, and covers the rarest parts', () => {
  const owners = swarm();
  const rarity = rarityOf(owners, PARTS, 0);
  for (let seed = 1; seed <= 30; seed++) {
    const chosen = sampleHolders({ owners, rarity, max: 10, exclude: 'p7', random: seededRandom(seed) });
    assert.equal(chosen.length, 10);
    assert.equal(new Set(chosen).size, 10);
    assert.ok(!chosen.includes('p7'));
    for (const k of chosen) assert.ok(owners.has(k));
    // Every part some holder has is held by some chosen holder: the seed (the only holder of 32..63) is in.
    for (let p = 0; p < PARTS; p++) assert.ok(chosen.some((k) => hasPart(owners.get(k)!, p)), `part ${p} covered (seed ${seed})`);
  }
});

test('rare holders come first even when the requester is the seed', () => {
  const owners = swarm();
  const rarity = rarityOf(owners, PARTS, 0);
  const chosen = sampleHolders({ owners, rarity, max: 5, exclude: 'seed', random: seededRandom(3) });
  assert.ok(!chosen.includes('seed'));
  // Without the seed, parts 40, 41 and 42 each have one holder left: all three are listed.
  for (const k of ['r40', 'r41', 'r42']) assert.ok(chosen.includes(k), `${k} listed`);
});

test('the sample is deterministic for an injected random and varies with it', () => {
  const owners = swarm();
  const rarity = rarityOf(owners, PARTS, 0);
  const a = sampleHolders({ owners, rarity, max: 20, random: seededRandom(9) });
  const b = sampleHolders({ owners, rarity, max: 20, random: seededRandom(9) });
  const c = sampleHolders({ owners, rarity, max: 20, random: seededRandom(10) });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('the random part is spread evenly over the common holders', () => {
  const owners = swarm();
  const rarity = rarityOf(owners, PARTS, 0);
  const random = seededRandom(5);
  const hits = new Map<string, number>();
  for (let i = 0; i < 2000; i++) for (const k of sampleHolders({ owners, rarity, max: 10, random })) hits.set(k, (hits.get(k) ?? 0) + 1);
  const common = [...hits].filter(([k]) => k.startsWith('p')).map(([, n]) => n);
  assert.equal(common.length, 200, 'every common holder listed some time');
  // about 2000 x 9 / 204 = 88 each; no holder far above or below
  assert.ok(Math.min(...common) > 40 && Math.max(...common) < 150, `${Math.min(...common)}..${Math.max(...common)}`);
});

test('few holders: every one of them, in arrival order, without the requester', () => {
  const owners = new Map<string, Uint8Array>([['a', fullBitmap(8)], ['b', fullBitmap(8)], ['c', fullBitmap(8)]]);
  const rarity = rarityOf(owners, 8, 0);
  assert.deepEqual(sampleHolders({ owners, rarity, max: 2, exclude: 'b', random: () => 0.5 }), ['a', 'c']);
  assert.deepEqual(sampleHolders({ owners, rarity, max: 3, random: () => 0.5 }), ['a', 'b', 'c']);
  assert.throws(() => sampleHolders({ owners, rarity, max: 0, random: () => 0.5 }), RangeError);
});

test('a stale view skips holders that left and refreshes after refreshMs', () => {
  let now = 0;
  const sampler = new HolderSampler<string>(3, seededRandom(1), () => now, 1000);
  const owners = new Map<string, Uint8Array>();
  for (let i = 0; i < 20; i++) owners.set(`h${i}`, fullBitmap(8));
  sampler.sample('f', owners, 8);
  owners.delete('h0');
  owners.delete('h1');
  for (let i = 0; i < 50; i++) for (const k of sampler.sample('f', owners, 8)) assert.ok(owners.has(k));
  owners.set('late', bitmapFromParts(8, [1]));
  now = 1000;
  let seen = false;
  for (let i = 0; i < 200 && !seen; i++) seen = sampler.sample('f', owners, 8).includes('late');
  assert.ok(seen, 'a holder that arrived is listed after a refresh');
});

const addr = (i: number) => ({ ip4: `10.0.${i >> 8}.${i & 255}`, ip6: `fd99:0000:0000:0000:0000:0000:0000:${i.toString(16).padStart(4, '0')}` });
const M = 'b'.repeat(32);

function registryWith(holders: number, maxHolders: number | undefined): { registry: Registry; ids: string[] } {
  let n = 0;
  const registry = new Registry({ store: new MemoryStore(), now: () => 1000, newId: () => (++n).toString(16).toUpperCase().padStart(16, '0'), maxHolders, random: seededRandom(2) });
  const ids: string[] = [];
  for (let i = 0; i < holders; i++) ids.push(registry.login(addr(i), 5000).sessionId);
  registry.add(ids[0]!, 8 * 1024, 1024, 'f.bin', M);
  for (let i = 1; i < holders; i++) registry.reportPart(ids[i]!, M, i % 8);
  return { registry, ids };
}

test('Registry FCHU with maxHolders: at most that many holders, never the requester, fresh version per answer', () => {
  const { registry, ids } = registryWith(120, 16);
  const a = registry.fetch(ids[5]!, M)!;
  const b = registry.fetch(ids[5]!, M)!;
  const list = a.holders();
  assert.equal(list.length, 16);
  assert.ok(!list.some((h) => h.address.ip4 === addr(5).ip4), 'requester not listed');
  for (let p = 0; p < 8; p++) assert.ok(list.some((h) => hasPart(h.bitmap, p)), `part ${p} held by a listed holder`);
  assert.notEqual(a.version, b.version, 'a version cache never serves one sample to everyone');
});

test('Registry FCHU without maxHolders (or 0) lists every holder, the requester too, as before', () => {
  for (const max of [undefined, 0]) {
    const { registry, ids } = registryWith(60, max);
    const a = registry.fetch(ids[5]!, M)!;
    assert.equal(a.holders().length, 60);
    assert.equal(a.version, registry.fetch(ids[5]!, M)!.version);
  }
  assert.throws(() => registryWith(2, -1), RangeError);
});
