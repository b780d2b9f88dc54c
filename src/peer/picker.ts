/**
 * The part picker: which part to ask next, and of whom. Pure: no sockets, no
 * clock; randomness is injected (`random()` in [0, 1)) so tests can pin it.
 *
 * Policy:
 *  1. Random first: while we hold fewer than `randomFirst` parts, any missing
 *     part an available owner holds, uniformly at random (get something to
 *     trade quickly rather than the same rare part as everyone else).
 *  2. Rarest first: the missing parts held by the fewest owners, ties broken at
 *     random (or, with `inOrder`, the lowest part first), among the parts the least-loaded available owners hold. So each
 *     free slot goes to an owner we ask least (every uploader that holds
 *     something we lack stays busy, not only the holders of the globally rarest
 *     parts), and of that owner we ask its rarest part.
 *  3. Endgame: when every missing part is already in flight and at most
 *     `endgameParts` are missing, ask for the ones with the fewest requests in
 *     flight again, of an owner not yet asked for it (at most `endgameCopies`
 *     requests per part); the first copy wins. Not with more missing: two
 *     copies of a part share the uplinks, so the loser has most of its bytes
 *     when it is cancelled, and duplicating all 12 parts in flight wasted 9 %
 *     of every leecher's download in bench:swarm S1.
 * The owner for a part is the available one with the least load; among equally
 * loaded ones, the one holding the fewest parts we still need (spare an owner
 * that alone can give us many parts, e.g. the seed, for those), then at random.
 */
import { bitsInByte, countParts, hasPart, setPart } from '../protocol/bitfield.js';

export interface OwnerView {
  readonly key: string;
  readonly bitmap: Uint8Array;
  /** Requests in flight to this owner now. */
  readonly load: number;
  /** May be asked now (not backing off, under its per-owner cap). */
  readonly available: boolean;
}

export interface PickInput {
  readonly parts: number;
  readonly have: Uint8Array;
  /** Part -> keys of the owners it is being fetched from right now. */
  readonly inFlight: ReadonlyMap<number, ReadonlySet<string>>;
  readonly owners: readonly OwnerView[];
  readonly randomFirst: number;
  readonly endgameCopies: number;
  /** Missing parts at most for the endgame to begin (default: any number). */
  readonly endgameParts?: number;
  readonly random: () => number;
  /**
   * How many of `owners` hold each part, kept up to date by the caller as
   * bitmaps change (Availability below); computed from `owners` when absent.
   */
  readonly availability?: Uint16Array;
  /**
   * Ties between equally rare parts go to the lowest part, not a random one
   * (after the random start). For a download nobody trades with (every owner is
   * a seed, no one else is known to be downloading): the swarm gains nothing
   * from a random order then, and parts landing in order let the whole-file md5
   * follow them instead of hashing most of the file after the last one.
   */
  readonly inOrder?: boolean;
}

export interface Pick {
  readonly part: number;
  readonly owner: string;
  readonly endgame: boolean;
}

function pickOne<T>(items: readonly T[], random: () => number): T {
  const i = Math.min(items.length - 1, Math.floor(random() * items.length));
  return items[i] as T;
}

/** How many owners hold each part. */
export function availability(parts: number, owners: readonly OwnerView[]): Uint16Array {
  const counts = new Uint16Array(parts);
  for (const o of owners) for (let p = 0; p < parts; p++) if (hasPart(o.bitmap, p)) counts[p] = (counts[p] as number) + 1;
  return counts;
}

function chooseOwner(
  part: number,
  owners: readonly OwnerView[],
  exclude: ReadonlySet<string> | undefined,
  random: () => number,
  wanted?: ReadonlyMap<string, number>,
): string | null {
  let best: OwnerView[] = [];
  const key = (o: OwnerView): [number, number] => [o.load, wanted?.get(o.key) ?? 0];
  for (const o of owners) {
    if (!o.available || !hasPart(o.bitmap, part) || exclude?.has(o.key)) continue;
    if (best.length === 0) { best = [o]; continue; }
    const [l, w] = key(o);
    const [bl, bw] = key(best[0] as OwnerView);
    const cmp = l - bl || w - bw;
    if (cmp < 0) best = [o];
    else if (cmp === 0) best.push(o);
  }
  return best.length > 0 ? pickOne(best, random).key : null;
}

/**
 * Availability kept up to date as owners come, go and change bitmaps (as
 * libtorrent's inc_refcount/dec_refcount), instead of recounted for every pick.
 */
export class Availability {
  readonly counts: Uint16Array;
  constructor(readonly parts: number) {
    this.counts = new Uint16Array(parts);
  }
  /** An owner's bitmap went from `before` to `after` (null: absent). */
  change(before: Uint8Array | null, after: Uint8Array | null): void {
    const c = this.counts;
    for (let p = 0; p < this.parts; p++) {
      const was = before !== null && hasPart(before, p);
      const is = after !== null && hasPart(after, p);
      if (was !== is) c[p] = (c[p] as number) + (is ? 1 : -1);
    }
  }
}

export function pickPart(input: PickInput): Pick | null {
  const { parts, have, inFlight, owners, random } = input;
  const avail = input.availability ?? availability(parts, owners);
  const usable = owners.filter((o) => o.available);
  if (usable.length === 0) return null;
  // The union of the usable owners' bitmaps: one pass over bytes, not owners x parts tests.
  const union = new Uint8Array(have.length);
  for (const o of usable) for (let i = 0; i < union.length; i++) union[i] = (union[i] as number) | (o.bitmap[i] ?? 0);
  const reachable = (p: number): boolean => hasPart(union, p);

  // Fresh parts: missing, not in flight, held by someone we may ask now.
  const fresh: number[] = [];
  let missingNotInFlight = 0;
  for (let p = 0; p < parts; p++) {
    if (hasPart(have, p) || inFlight.has(p)) continue;
    missingNotInFlight++;
    if (reachable(p)) fresh.push(p);
  }
  if (fresh.length > 0) {
    let candidates = fresh;
    let askable = usable;
    if (countParts(have) >= input.randomFirst) {
      // The least-loaded available owners that hold a fresh part; rarest first among their parts.
      const freshBits = new Uint8Array(have.length);
      for (const p of fresh) setPart(freshBits, p);
      const wanted = new Map<string, number>();
      for (const o of usable) {
        let n = 0;
        for (let i = 0; i < freshBits.length; i++) n += bitsInByte((o.bitmap[i] ?? 0) & (freshBits[i] as number));
        wanted.set(o.key, n);
      }
      let minLoad = Infinity;
      for (const o of usable) if ((wanted.get(o.key) as number) > 0) minLoad = Math.min(minLoad, o.load);
      askable = usable.filter((o) => o.load === minLoad && (wanted.get(o.key) as number) > 0);
      const heldByAskable = (p: number): boolean => askable.some((o) => hasPart(o.bitmap, p));
      let min = Infinity;
      for (const p of fresh) if (heldByAskable(p)) min = Math.min(min, avail[p] as number);
      candidates = fresh.filter((p) => avail[p] === min && heldByAskable(p));
      const part = input.inOrder ? (candidates[0] as number) : pickOne(candidates, random);
      const owner = chooseOwner(part, askable, undefined, random, wanted);
      return owner === null ? null : { part, owner, endgame: false };
    }
    const part = pickOne(candidates, random);
    const owner = chooseOwner(part, askable, undefined, random);
    return owner === null ? null : { part, owner, endgame: false };
  }
  // Some missing part is not in flight but nobody available holds it: wait, not endgame.
  if (missingNotInFlight > 0) return null;

  // Endgame: every missing part is in flight, and few are missing.
  if (input.endgameParts !== undefined) {
    let missing = 0;
    for (const p of inFlight.keys()) if (!hasPart(have, p)) missing++;
    if (missing > input.endgameParts) return null;
  }
  let best: { part: number; owner: string }[] = [];
  let bestKey = [Infinity, Infinity];
  for (const [p, askedOf] of inFlight) {
    if (hasPart(have, p) || askedOf.size >= input.endgameCopies) continue;
    const owner = chooseOwner(p, owners, askedOf, () => 0);
    if (owner === null) continue;
    const key = [askedOf.size, avail[p] as number];
    const cmp = key[0]! - bestKey[0]! || key[1]! - bestKey[1]!;
    if (cmp < 0) { best = [{ part: p, owner }]; bestKey = key; }
    else if (cmp === 0) best.push({ part: p, owner });
  }
  if (best.length === 0) return null;
  const chosen = pickOne(best, random);
  const owner = chooseOwner(chosen.part, owners, inFlight.get(chosen.part), random) as string;
  return { part: chosen.part, owner, endgame: true };
}
