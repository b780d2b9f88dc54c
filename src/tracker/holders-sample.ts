/**
 * A bounded FCHU answer: which holders to list when a file has more than
 * `max` of them. Pure: randomness and time are injected.
 *
 * Why: AFCH lists every holder with a full bitmap, 63 + parts/8 bytes each
 * (1000 holders x 4096 parts = 575 KB per answer), and every downloading peer
 * polls it every second. A peer keeps at most a dozen requests in flight, so a
 * few dozen owners are plenty, as long as they are the right ones:
 *  1. rarest parts first: for the rarest parts (fewest holders), one random
 *     holder of each part not yet covered by a holder already chosen, up to
 *     half of `max`. Early in a flash crowd that is the seed (it alone holds
 *     most parts); later, the few peers that hold a part nobody else has.
 *  2. the rest uniformly at random among the other holders, so load spreads
 *     and every peer gets a different view (piece diversity).
 * The requester is never listed (it knows its own parts and the downloader
 * skips itself anyway; the slot is better spent on another holder).
 *
 * Cost per answer: O(max) plus a refresh every `refreshMs` of O(holders x
 * bitmap bytes) (which parts are rarest, and who holds them), so a tracker with
 * 10^4 holders does not scan 10^4 bitmaps per FCHU. Between refreshes, holders
 * that left are skipped and holders that arrived are missed (at most
 * `refreshMs`); a change of more than a tenth in the holder count forces a refresh.
 */
import { hasPart } from '../protocol/bitfield.js';

/** Default bound on holders per AFCH (0 = every holder, as before). */
export const DEFAULT_MAX_HOLDERS = 50;
/** How often the rarity view of a file is recomputed. */
export const DEFAULT_RARITY_REFRESH_MS = 1000;
/** How many of the rarest parts the view keeps holder lists for. */
const RARE_PARTS_KEPT = 64;

/** The rarest parts of a file and who holds them, as of `at`. */
export interface Rarity<K> {
  readonly at: number;
  /** Holder keys in arrival order (an index for uniform sampling). */
  readonly keys: readonly K[];
  /** Rarest first (ties in part order); parts nobody holds are left out. */
  readonly rare: readonly { readonly part: number; readonly holders: readonly K[] }[];
}

/** Scans every holder's bitmap once: O(holders x parts). */
export function rarityOf<K>(owners: ReadonlyMap<K, Uint8Array>, parts: number, at: number, keep = RARE_PARTS_KEPT): Rarity<K> {
  const counts = new Uint32Array(parts);
  for (const bm of owners.values()) {
    const bytes = Math.min(bm.length, Math.ceil(parts / 8));
    for (let byte = 0; byte < bytes; byte++) {
      const b = bm[byte] as number;
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (b & (0x80 >> bit) && byte * 8 + bit < parts) counts[byte * 8 + bit]! += 1;
    }
  }
  const held: number[] = [];
  for (let p = 0; p < parts; p++) if ((counts[p] as number) > 0) held.push(p);
  held.sort((a, b) => (counts[a] as number) - (counts[b] as number) || a - b);
  const rare = held.slice(0, keep).map((part) => {
    const holders: K[] = [];
    for (const [key, bm] of owners) if (hasPart(bm, part)) holders.push(key);
    return { part, holders };
  });
  return { at, keys: [...owners.keys()], rare };
}

export interface SampleInput<K> {
  /** Every current holder of the file and its bitmap. */
  readonly owners: ReadonlyMap<K, Uint8Array>;
  readonly rarity: Rarity<K>;
  /** Most holders in the answer; must be >= 1. */
  readonly max: number;
  /** The requester: never listed. */
  readonly exclude?: K;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

/**
 * At most `max` distinct current holders (never `exclude`): holders of the
 * rarest parts first, then uniformly random others. Every holder when there
 * are no more than `max` besides the requester (in arrival order).
 */
export function sampleHolders<K>(input: SampleInput<K>): K[] {
  const { owners, rarity, max, exclude, random } = input;
  if (!(max >= 1)) throw new RangeError(`max holders must be >= 1, got ${max}`);
  const others = owners.size - (exclude !== undefined && owners.has(exclude) ? 1 : 0);
  if (others <= max) return [...owners.keys()].filter((k) => k !== exclude);
  const chosen = new Set<K>();
  const usable = (k: K): boolean => k !== exclude && owners.has(k) && !chosen.has(k);
  // 1. Cover the rarest parts, one random holder for each part no chosen holder has yet.
  const rareQuota = Math.ceil(max / 2);
  for (const { part, holders } of rarity.rare) {
    if (chosen.size >= rareQuota) break;
    let covered = false;
    for (const k of chosen) if (hasPart(owners.get(k) as Uint8Array, part)) { covered = true; break; }
    if (covered) continue;
    // a few random draws first (a common part has hundreds of holders: no need to filter them all)
    let got: K | undefined;
    for (let i = 0; i < 4 && got === undefined && holders.length > 0; i++) {
      const k = holders[Math.min(holders.length - 1, Math.floor(random() * holders.length))] as K;
      if (usable(k)) got = k;
    }
    if (got === undefined) {
      const live = holders.filter(usable);
      if (live.length > 0) got = live[Math.min(live.length - 1, Math.floor(random() * live.length))] as K;
    }
    if (got !== undefined) chosen.add(got);
  }
  // 2. Fill up at random: a partial Fisher-Yates over the key index, swaps kept in a map (O(max), not O(holders)).
  const keys = rarity.keys;
  const swapped = new Map<number, number>();
  const at = (i: number): number => swapped.get(i) ?? i;
  for (let i = 0; i < keys.length && chosen.size < max; i++) {
    const j = i + Math.min(keys.length - 1 - i, Math.floor(random() * (keys.length - i)));
    const pick = at(j);
    swapped.set(j, at(i));
    const k = keys[pick] as K;
    if (usable(k)) chosen.add(k);
  }
  // Holders that arrived since the last refresh are not in `keys`: take them in order if still short.
  if (chosen.size < max) for (const k of owners.keys()) { if (chosen.size >= max) break; if (usable(k)) chosen.add(k); }
  return [...chosen];
}

/**
 * Keeps one Rarity per file, refreshed when older than `refreshMs` or when the
 * number of holders moved by more than a tenth (a rough but cheap sign that it is stale).
 */
export class HolderSampler<K> {
  private readonly views = new Map<string, Rarity<K>>();

  constructor(
    readonly max: number,
    private readonly random: () => number,
    private readonly now: () => number,
    private readonly refreshMs = DEFAULT_RARITY_REFRESH_MS,
  ) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max holders must be a positive integer, got ${max}`);
  }

  /** The holders to list for `file` (an id such as the md5), never `exclude`. */
  sample(file: string, owners: ReadonlyMap<K, Uint8Array>, parts: number, exclude?: K): K[] {
    const now = this.now();
    let rarity = this.views.get(file);
    // A tenth more or fewer holders than the view knows also forces a refresh (a flash crowd
    // grows by one holder per FCHU or so: refreshing on every change would scan every bitmap each time).
    if (!rarity || now - rarity.at >= this.refreshMs || now < rarity.at || Math.abs(rarity.keys.length - owners.size) > Math.floor(owners.size / 10)) {
      rarity = rarityOf(owners, parts, now);
      this.views.set(file, rarity);
    }
    return sampleHolders({ owners, rarity, max: this.max, exclude, random: this.random });
  }

  /** Drops the view of a file (e.g. it has no holders any more). */
  forget(file: string): void {
    this.views.delete(file);
  }
}
