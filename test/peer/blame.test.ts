/** The pure blame logic: majorities, the adaptive cross-check sample, and md5-judged guesses of who lied. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../support/random.js';
import { type DiskCopy, type HealInput, type HealPlan, checkChance, judge, liarKey, planHeal, provenLiars } from '../../src/peer/download/blame.js';

const seeded = seededRandom;

const good = (p: number): string => `g${p}`.padEnd(64, '0');
const bad = (p: number, who = 'x'): string => `b${who}${p}`.padEnd(64, '0');

test('judge: agreement, an undecided two-way dispute, and a majority that names the odd one out', () => {
  assert.deepEqual(judge(new Map([['A', good(1)], ['B', good(1)]])), { winner: good(1), liars: [], disputed: false });
  assert.deepEqual(judge(new Map([['A', good(1)], ['L', bad(1)]])), { winner: null, liars: [], disputed: true });
  assert.deepEqual(judge(new Map([['A', good(1)], ['L', bad(1)], ['B', good(1)]])), { winner: good(1), liars: ['L'], disputed: true });
  // Three different copies: nobody has a majority.
  assert.equal(judge(new Map([['A', good(1)], ['L', bad(1)], ['M', bad(1, 'm')]])).winner, null);
});

test('checkChance: a new owner is checked at once, passes halve the chance to a floor, the budget caps the total', () => {
  assert.equal(checkChance({ passed: 0 }, { parts: 1000, checks: 0 }), 1);
  assert.equal(checkChance({ passed: 1 }, { parts: 1000, checks: 1 }), 0.5);
  assert.equal(checkChance({ passed: 20 }, { parts: 1000, checks: 5 }), 0.02);
  assert.equal(checkChance({ passed: 0 }, { parts: 1000, checks: 30 }), 0, '3 % of 1000 parts is the budget');
  assert.equal(checkChance({ passed: 9, disputed: true }, { parts: 1000, checks: 30 }), 1, 'an owner in an unsettled dispute: every part');
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 1 << 30 }), (parts, seed) => {
      // However the dice fall, the checks of a whole download stay within the budget.
      const random = seeded(seed);
      let checks = 0;
      const passed = new Map<number, number>();
      for (let p = 0; p < parts; p++) {
        const owner = p % 3;
        if (random() < checkChance({ passed: passed.get(owner) ?? 0 }, { parts, checks })) {
          checks++;
          passed.set(owner, (passed.get(owner) ?? 0) + 1);
        }
      }
      return checks <= Math.ceil(0.03 * parts);
    }),
  );
});

/** A swarm described by who sent which part and who lies; the md5 holds only when every part is right. */
class Swarm {
  readonly evidence = new Map<number, Map<string, string>>();
  readonly disk = new Map<number, DiskCopy>();
  constructor(
    readonly parts: number,
    readonly holders: readonly string[],
    /** owner -> digest it sends for part p. */
    readonly sends: (owner: string, part: number) => string,
    readonly holds: (owner: string, part: number) => boolean = () => true,
  ) {}
  take(part: number, owner: string): void {
    const d = this.sends(owner, part);
    this.disk.set(part, { owner, digest: d });
    this.see(part, owner, d);
  }
  see(part: number, owner: string, d = this.sends(owner, part)): void {
    let m = this.evidence.get(part);
    if (!m) this.evidence.set(part, (m = new Map()));
    m.set(owner, d);
  }
  verified(): boolean {
    for (let p = 0; p < this.parts; p++) if (this.disk.get(p)?.digest !== good(p)) return false;
    return true;
  }
  input(tried: Set<string>, random: () => number): HealInput {
    return { parts: this.parts, evidence: this.evidence, disk: this.disk, holders: (p) => this.holders.filter((o) => this.holds(o, p)), tried, random };
  }
  /** Runs the heal loop as the download does; returns the guesses made and the final plan. */
  heal(random: () => number, maxRounds = 20): { rounds: string[][]; refetched: number; final: HealPlan | 'verified' } {
    const tried = new Set<string>();
    const rounds: string[][] = [];
    let refetched = 0;
    while (!this.verified()) {
      if (rounds.length >= maxRounds) throw new Error('too many rounds');
      const plan = planHeal(this.input(tried, random));
      if (plan.kind === 'stuck') return { rounds, refetched, final: plan };
      tried.add(liarKey(plan.liars));
      rounds.push([...plan.liars]);
      for (const r of plan.refetch) {
        this.take(r.part, r.from[0]!);
        refetched++;
      }
    }
    return { rounds, refetched, final: 'verified' };
  }
}

test('planHeal: one liar next to one honest seed is found, and only suspect parts are fetched again', () => {
  for (let seed = 0; seed < 50; seed++) {
    const random = seeded(seed);
    const s = new Swarm(24, ['H', 'L'], (o, p) => (o === 'L' && p % 3 === 0 ? bad(p) : good(p)));
    for (let p = 0; p < 24; p++) s.take(p, p % 2 === 0 ? 'L' : 'H');
    s.see(0, 'H'); // one cross-check found a dispute on part 0
    const { rounds, refetched, final } = s.heal(random);
    assert.equal(final, 'verified');
    assert.ok(rounds.length <= 2, `seed ${seed}: ${JSON.stringify(rounds)}`);
    assert.deepEqual(rounds.at(-1), ['L']);
    assert.ok(refetched < 2 * 24, `seed ${seed}: ${refetched} parts fetched again: less than the whole file twice`);
    assert.deepEqual([...provenLiars(s.evidence, good).keys()], ['L']);
  }
});

test('planHeal: two colluders sending identical wrong bytes outvote the honest owner, but the md5 judges them', () => {
  for (let seed = 0; seed < 30; seed++) {
    const random = seeded(seed);
    const liars = new Set(['C1', 'C2']);
    const s = new Swarm(12, ['H', 'C1', 'C2'], (o, p) => (liars.has(o) ? bad(p, 'c') : good(p)));
    for (let p = 0; p < 12; p++) s.take(p, p % 3 === 0 ? 'H' : p % 3 === 1 ? 'C1' : 'C2');
    // A cross-check and its tie-break: 2 against 1 on part 1.
    s.see(1, 'H');
    s.see(1, 'C2');
    assert.deepEqual(judge(s.evidence.get(1)!).liars, ['H'], 'the majority is wrong here');
    const { rounds, final } = s.heal(random);
    assert.equal(final, 'verified', `seed ${seed}: ${JSON.stringify(rounds)}`);
    assert.deepEqual(rounds.at(-1), ['C1', 'C2']);
    assert.deepEqual([...provenLiars(s.evidence, good).keys()].sort(), ['C1', 'C2']);
  }
});

test('planHeal: two liars among five owners are both found', () => {
  const owners = ['A', 'B', 'C', 'L1', 'L2'];
  for (let seed = 0; seed < 20; seed++) {
    const random = seeded(seed);
    const s = new Swarm(40, owners, (o, p) => (o === 'L1' && p % 3 === 1 ? bad(p, '1') : o === 'L2' && p % 2 === 0 ? bad(p, '2') : good(p)));
    for (let p = 0; p < 40; p++) s.take(p, owners[Math.floor(random() * owners.length)]!);
    const { final } = s.heal(random);
    assert.equal(final, 'verified', `seed ${seed}`);
    const proven = [...provenLiars(s.evidence, good).keys()].sort();
    for (const o of proven) assert.ok(o === 'L1' || o === 'L2', `honest ${o} blamed`);
  }
});

test('planHeal: a part only a liar holds cannot be healed: stuck, naming the part and the liar', () => {
  const s = new Swarm(6, ['H', 'L'], (o, p) => (o === 'L' ? bad(p) : good(p)), (o, p) => o === 'L' || p !== 4);
  for (let p = 0; p < 6; p++) s.take(p, p === 4 ? 'L' : 'H');
  s.see(2, 'L'); // a cross-check: L disagrees with H on part 2
  const { final } = s.heal(seeded(1));
  assert.notEqual(final, 'verified');
  const plan = final as Extract<HealPlan, { kind: 'stuck' }>;
  assert.equal(plan.kind, 'stuck');
  assert.deepEqual(plan.parts, [4]);
  assert.deepEqual(plan.liars, ['L']);
});

test('planHeal: a liar never caught by a cross-check is still found by guessing (no evidence but the md5)', () => {
  const s = new Swarm(10, ['H', 'L'], (o, p) => (o === 'L' && p >= 6 ? bad(p) : good(p)));
  for (let p = 0; p < 10; p++) s.take(p, p < 4 ? 'H' : 'L');
  const { final, rounds } = s.heal(seeded(7));
  assert.equal(final, 'verified');
  assert.deepEqual(rounds.at(-1), ['L']);
});

test('planHeal: the same random source gives the same guesses (randomness is injected)', () => {
  const run = (seed: number): string => {
    const s = new Swarm(16, ['H', 'L', 'M'], (o, p) => (o === 'L' && p % 3 === 0 ? bad(p) : good(p)));
    for (let p = 0; p < 16; p++) s.take(p, ['H', 'L', 'M'][p % 3]!);
    return JSON.stringify(s.heal(seeded(seed)));
  };
  assert.equal(run(42), run(42));
});
