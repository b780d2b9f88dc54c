/**
 * Blame: who sent wrong bytes, decided from per-part digests alone (the
 * protocol has no per-part hashes, only one whole-file md5). Pure: the caller
 * passes the evidence and the randomness; sockets, disk and the md5 are its job.
 *
 * Evidence is, per part, the digest each owner's copy had (the copy on disk and
 * every cross-check). Where copies disagree, somebody lied; a strict majority of
 * at least two owners decides early (`judge`). Majorities can be bought (two
 * colluders sending the same wrong bytes outvote one honest owner), so the
 * whole-file md5 is the final judge: after it fails, `planHeal` proposes a set
 * of liars, the parts to fetch again from the others to test that guess, and
 * the caller re-checks the md5. Guesses come fewest liars first, cheapest
 * first, ties at random; a guess that failed is not proposed again.
 */

/** A hex digest (sha256) of one copy of a part. */
export type Digest = string;

/** The owner key given to parts whose sender is not known (a resumed version-1 download). */
export const UNKNOWN_SENDER = 'earlier run';

/** part -> owner -> digest of that owner's copy. */
export type Evidence = ReadonlyMap<number, ReadonlyMap<string, Digest>>;

export interface DiskCopy {
  /** The owner that sent the copy on disk. */
  readonly owner: string;
  readonly digest: Digest;
}

export interface Verdict {
  /** The digest a strict majority (of at least two owners) agrees on, or null. */
  readonly winner: Digest | null;
  /** Owners whose copy differs from the winner (empty without a winner). */
  readonly liars: readonly string[];
  /** Copies differ. */
  readonly disputed: boolean;
}

/** Judges the copies of one part: agreement, a dispute, or a dispute a majority decides. */
export function judge(copies: ReadonlyMap<string, Digest>): Verdict {
  const votes = new Map<Digest, string[]>();
  for (const [owner, d] of copies) {
    const v = votes.get(d);
    if (v) v.push(owner);
    else votes.set(d, [owner]);
  }
  if (votes.size <= 1) return { winner: votes.size === 1 ? [...votes.keys()][0]! : null, liars: [], disputed: false };
  let best: Digest | null = null;
  let bestVotes = 0;
  for (const [d, owners] of votes) if (owners.length > bestVotes) [best, bestVotes] = [d, owners.length];
  if (bestVotes < 2 || bestVotes * 2 <= copies.size) return { winner: null, liars: [], disputed: true };
  const liars: string[] = [];
  for (const [owner, d] of copies) if (d !== best) liars.push(owner);
  return { winner: best, liars: liars.sort(), disputed: true };
}

export interface CheckTuning {
  /** Cross-checks at most this share of the file's parts (the clean-swarm traffic bound). */
  readonly share: number;
  /** The chance never falls below this while the budget lasts (a liar honest at first is still met). */
  readonly floor: number;
}

export const CHECK_DEFAULTS: CheckTuning = { share: 0.03, floor: 0.02 };

/**
 * The chance that a part just accepted from an owner is cross-checked against a
 * second owner. Adaptive: an owner never checked is checked at once, each check
 * it passes halves its chance down to `floor`; the file's budget caps the total.
 * An owner in a dispute nobody could settle (two owners only) has every part
 * checked, budget or not: then each wrong part is known, with the other copy in
 * hand, before the md5 fails, instead of fetching all its parts again after.
 */
export function checkChance(owner: { readonly passed: number; readonly disputed?: boolean }, file: { readonly parts: number; readonly checks: number }, tuning: CheckTuning = CHECK_DEFAULTS): number {
  if (owner.disputed) return 1;
  if (file.checks >= Math.ceil(tuning.share * file.parts)) return 0;
  return Math.max(tuning.floor, 0.5 ** owner.passed);
}

/** Picks one of `candidates` at random (injected), or null. */
export function pickOne<T>(candidates: readonly T[], random: () => number): T | null {
  if (candidates.length === 0) return null;
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))]!;
}

export interface HealInput {
  readonly parts: number;
  readonly evidence: Evidence;
  /** The copy on disk of each part (every part is held when healing). */
  readonly disk: ReadonlyMap<number, DiskCopy>;
  /** Owners holding `part` that may be asked (by the tracker's lists). */
  readonly holders: (part: number) => readonly string[];
  /** Liar sets already tested (keys from `liarKey`). */
  readonly tried: ReadonlySet<string>;
  readonly random: () => number;
  /** Largest liar set considered when many owners are involved. */
  readonly maxLiars?: number;
}

export interface Refetch {
  readonly part: number;
  /** The digest the guess implies, when some owner it trusts has shown it. */
  readonly digest?: Digest;
  /** Owners to ask, best first (those already seen with the digest the guess implies). */
  readonly from: readonly string[];
}

export type HealPlan =
  /** Guess `liars`: fetch `refetch` from others, then check the md5 again. */
  | { readonly kind: 'try'; readonly liars: readonly string[]; readonly refetch: readonly Refetch[] }
  /** No guess left that can be tested: `parts` have no copy but from `liars` (the most plausible guess). */
  | { readonly kind: 'stuck'; readonly liars: readonly string[]; readonly parts: readonly number[] };

export function liarKey(liars: readonly string[]): string {
  return [...liars].sort().join(' ');
}

/** Every owner that sent us something for this file. */
function ownersIn(input: HealInput): string[] {
  const set = new Set<string>();
  for (const copies of input.evidence.values()) for (const o of copies.keys()) set.add(o);
  for (const c of input.disk.values()) set.add(c.owner);
  return [...set].sort();
}

function* subsets(items: readonly string[], maxSize: number): Generator<string[]> {
  const n = items.length;
  for (let size = 1; size <= Math.min(maxSize, n); size++) {
    const idx = Array.from({ length: size }, (_, i) => i);
    for (;;) {
      yield idx.map((i) => items[i]!);
      let k = size - 1;
      while (k >= 0 && idx[k] === n - size + k) k--;
      if (k < 0) break;
      idx[k]!++;
      for (let j = k + 1; j < size; j++) idx[j] = idx[j - 1]! + 1;
    }
  }
}

interface Guess {
  readonly liars: string[];
  readonly refetch: Refetch[];
  /** Parts no honest owner (under this guess) can give. */
  readonly orphans: number[];
  readonly order: number;
}

/** What guessing `liars` implies: null when the others contradict each other. */
function implication(input: HealInput, liars: ReadonlySet<string>, random: () => number): Omit<Guess, 'liars' | 'order'> | null {
  const refetch: Refetch[] = [];
  const orphans: number[] = [];
  for (let part = 0; part < input.parts; part++) {
    const copies = input.evidence.get(part);
    let implied: Digest | null = null;
    const vouching: string[] = [];
    if (copies) {
      for (const [owner, d] of copies) {
        if (liars.has(owner)) continue;
        if (implied !== null && d !== implied) return null; // two honest owners cannot disagree
        implied = d;
        vouching.push(owner);
      }
    }
    const disk = input.disk.get(part);
    if (disk && (implied === null ? !liars.has(disk.owner) : disk.digest === implied)) continue;
    const others = input.holders(part).filter((o) => !liars.has(o) && !vouching.includes(o));
    shuffle(others, random);
    const from = [...vouching.filter((o) => input.holders(part).includes(o)), ...others];
    if (from.length === 0 && implied === null) orphans.push(part);
    else refetch.push(implied === null ? { part, from } : { part, from, digest: implied });
  }
  return { refetch, orphans };
}

function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

/**
 * The next step of healing a file whose md5 failed: the most plausible untested
 * set of liars that leaves a consistent, complete honest copy (fewest liars,
 * then fewest parts to fetch, then at random), or `stuck` when none can be tested.
 */
export function planHeal(input: HealInput): HealPlan {
  const owners = ownersIn(input);
  const maxLiars = input.maxLiars ?? (owners.length > 10 ? 3 : owners.length);
  const testable: Guess[] = [];
  let untestable: Guess | null = null;
  for (const liars of subsets(owners, maxLiars)) {
    const key = liarKey(liars);
    if (input.tried.has(key)) continue;
    const imp = implication(input, new Set(liars), input.random);
    if (!imp) continue;
    const guess: Guess = { liars, ...imp, order: input.random() };
    if (imp.orphans.length > 0) {
      if (!untestable || better(guess, untestable, (g) => g.orphans.length)) untestable = guess;
    } else if (imp.refetch.length > 0) {
      testable.push(guess);
    }
  }
  if (testable.length > 0) {
    testable.sort((a, b) => a.liars.length - b.liars.length || a.refetch.length - b.refetch.length || a.order - b.order);
    const g = testable[0]!;
    return { kind: 'try', liars: g.liars, refetch: g.refetch };
  }
  if (untestable) return { kind: 'stuck', liars: untestable.liars, parts: untestable.orphans };
  return { kind: 'stuck', liars: owners, parts: [...input.disk.keys()].sort((a, b) => a - b) };
}

function better(a: Guess, b: Guess, cost: (g: Guess) => number): boolean {
  return a.liars.length - b.liars.length < 0 || (a.liars.length === b.liars.length && cost(a) < cost(b));
}

/** With the true digest of every part known (a verified file): the owners whose copies differed, and of which parts. */
export function provenLiars(evidence: Evidence, truth: (part: number) => Digest | undefined): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [part, copies] of evidence) {
    const t = truth(part);
    if (t === undefined) continue;
    for (const [owner, d] of copies) {
      if (d === t || owner === UNKNOWN_SENDER) continue;
      const list = out.get(owner);
      if (list) list.push(part);
      else out.set(owner, [part]);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}
