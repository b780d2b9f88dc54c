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
import { bitsInByte, countParts, hasPart } from '../protocol/bitfield.js';

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

/** The owner to ask for `part` (see the top of this file), or null when no available one holds it. */
export function chooseOwner(
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

/**
 * Bitmaps reused from pick to pick: the picker runs once per free slot, and
 * its fresh arrays per call were most of its cost (a 10⁴-peer simulation, a
 * 1024-part transfer). Picks are synchronous, so one set is enough.
 */
let union = new Uint8Array(0);
let freshBits = new Uint8Array(0);
let askableBits = new Uint8Array(0);

function scratch(bytes: number): void {
  if (union.length < bytes) {
    union = new Uint8Array(bytes);
    freshBits = new Uint8Array(bytes);
    askableBits = new Uint8Array(bytes);
  }
}

/** The bits of byte `i` that are parts (the last byte of a bitmap may have spare bits). */
function partMask(i: number, parts: number): number {
  const spare = (i + 1) * 8 - parts;
  return spare <= 0 ? 0xff : (0xff << spare) & 0xff;
}

/** The lowest part set in byte `b` of a bitmap (b ≠ 0), as its bit's place 0..7. */
const firstBit = (b: number): number => Math.clz32(b) - 24;

/** The `k`-th part (0-based, ascending) set in `bits[0..bytes)`. */
function nthPart(bits: Uint8Array, bytes: number, k: number): number {
  for (let i = 0; i < bytes; i++) {
    let b = bits[i] as number;
    const n = bitsInByte(b);
    if (k >= n) {
      k -= n;
      continue;
    }
    for (;;) {
      const j = firstBit(b);
      if (k-- === 0) return i * 8 + j;
      b &= ~(0x80 >> j);
    }
  }
  return -1;
}

function pickIndex(n: number, random: () => number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

export function pickPart(input: PickInput): Pick | null {
  const { parts, have, inFlight, owners, random } = input;
  const avail = input.availability ?? availability(parts, owners);
  const usable = owners.filter((o) => o.available);
  if (usable.length === 0) return null;
  const bytes = have.length;
  scratch(bytes);
  // The union of the usable owners' bitmaps: one pass over bytes, not owners x parts tests.
  union.fill(0, 0, bytes);
  for (const o of usable) {
    const b = o.bitmap;
    const n = Math.min(bytes, b.length);
    for (let i = 0; i < n; i++) union[i] = (union[i] as number) | (b[i] as number);
  }
  // Fresh parts: missing, not in flight, held by someone we may ask now (as bits).
  let missingNotInFlight = 0;
  let fresh = 0;
  for (let i = 0; i < bytes; i++) {
    const missing = ~(have[i] as number) & partMask(i, parts);
    missingNotInFlight += bitsInByte(missing);
    freshBits[i] = missing & (union[i] as number);
  }
  for (const p of inFlight.keys()) {
    if (p >= parts || p < 0 || hasPart(have, p)) continue;
    missingNotInFlight--;
    freshBits[p >> 3] = (freshBits[p >> 3] as number) & ~(0x80 >> (p & 7));
  }
  for (let i = 0; i < bytes; i++) fresh += bitsInByte(freshBits[i] as number);
  if (fresh > 0) {
    if (countParts(have) >= input.randomFirst) {
      // The least-loaded available owners that hold a fresh part; rarest first among their parts.
      const wanted = new Map<string, number>();
      let minLoad = Infinity;
      for (const o of usable) {
        const b = o.bitmap;
        const m = Math.min(bytes, b.length);
        let n = 0;
        for (let i = 0; i < m; i++) n += bitsInByte((b[i] as number) & (freshBits[i] as number));
        wanted.set(o.key, n);
        if (n > 0 && o.load < minLoad) minLoad = o.load;
      }
      const askable = usable.filter((o) => o.load === minLoad && (wanted.get(o.key) as number) > 0);
      // Fresh parts an askable owner holds; the rarest of them are the candidates, in part order.
      askableBits.fill(0, 0, bytes);
      for (const o of askable) {
        const b = o.bitmap;
        const m = Math.min(bytes, b.length);
        for (let i = 0; i < m; i++) askableBits[i] = (askableBits[i] as number) | ((b[i] as number) & (freshBits[i] as number));
      }
      let min = Infinity;
      let candidates = 0;
      for (let i = 0; i < bytes; i++) {
        for (let b = askableBits[i] as number; b !== 0; ) {
          const j = firstBit(b);
          b &= ~(0x80 >> j);
          const a = avail[i * 8 + j] as number;
          if (a < min) {
            min = a;
            candidates = 1;
          } else if (a === min) candidates++;
        }
      }
      // Only the rarest stay set.
      for (let i = 0; i < bytes; i++) {
        for (let b = askableBits[i] as number; b !== 0; ) {
          const j = firstBit(b);
          b &= ~(0x80 >> j);
          if (avail[i * 8 + j] !== min) askableBits[i] = (askableBits[i] as number) & ~(0x80 >> j);
        }
      }
      const part = nthPart(askableBits, bytes, input.inOrder ? 0 : pickIndex(candidates, random));
      const owner = chooseOwner(part, askable, undefined, random, wanted);
      return owner === null ? null : { part, owner, endgame: false };
    }
    const part = nthPart(freshBits, bytes, pickIndex(fresh, random));
    const owner = chooseOwner(part, usable, undefined, random);
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
