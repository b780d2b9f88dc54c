/**
 * The owners one download knows: who holds which parts (from the tracker's
 * holder lists), how many requests each has from us, and how each has behaved
 * (faults and back-off, choked, banned). Pure apart from the injected clock:
 * the download asks it whom it may ask now and tells it how each fetch ended.
 */
import { type PeerAddress, countParts, formatHostPort } from '../../protocol/index.js';

export interface Owner {
  /** `ip4:port`, the name an owner has everywhere in a download. */
  readonly key: string;
  readonly address: PeerAddress;
  readonly port: number;
  bitmap: Buffer;
  /** Requests in flight to this owner now. */
  load: number;
  /** Faults since its last good part (escalates the back-off). */
  failures: number;
  /** Not asked before this time (ms, the injected clock). */
  backoffUntil: number;
  /** In the tracker's latest list. */
  listed: boolean;
  /** Times it choked us (closed a request unanswered): not faults. */
  choked: number;
  /** Chokes since its last good part: a long run of them slowly lengthens the wait. */
  chokedInARow: number;
  /** Parts it gave us that we kept. */
  parts: number;
  /** Why it is never asked again, or null. */
  banned: string | null;
  /**
   * The schedule's, as the picker's OwnerView: whether it could be asked at the
   * schedule's last pick (written there, meaningless elsewhere: ask `available`).
   */
  available: boolean;
}

export interface HolderEntry {
  readonly address: PeerAddress;
  readonly port: number;
  readonly bitmap: Buffer;
}

export interface OwnerSetOptions {
  readonly now: () => number;
  readonly random: () => number;
  readonly maxPerOwner: number;
  readonly maxBackoffMs: number;
  /** Our own entry in the lists (never an owner). */
  readonly isSelf: (address: PeerAddress, port: number) => boolean;
}

/**
 * After an owner choked us (an immediate close: no place free), ask it again
 * after this long plus up to as much again at random — about a part's time at
 * a modest rate, so a place that frees is taken soon. Each run of
 * CHOKES_PER_DOUBLING chokes in a row doubles it (up to maxBackoffMs): an owner
 * that never has a place for us (a free rider) is asked less and less.
 */
export const CHOKED_RETRY_MS = 300;
export const CHOKES_PER_DOUBLING = 4;
/**
 * The download's own run of chokes (from any owner, since the last part kept)
 * doubles the wait once more for every this many of them: in a large swarm
 * whose places are all taken, a downloader that knows dozens of owners would
 * otherwise ask each of them every 0.3-0.6 s, a new connection every time
 * (sim flash crowd, 300 peers: ~1 000 refusals per part delivered). In a small
 * swarm parts keep landing and the run never gets this long.
 */
export const SWARM_CHOKES_PER_DOUBLING = 16;
/**
 * Owners gone from the tracker's list (a bounded answer lists a few of many)
 * keep their back-off for when they are listed again, at most this many (the
 * oldest go first): a re-listed owner that just refused us is not asked at once.
 */
export const MAX_RESTING_OWNERS = 256;
/**
 * Addresses of complete holders kept for the whole-file md5's content+owner
 * convention (PROTOCOL.md: the sharer's own addresses; the sharer is listed
 * with every part), the first this many: a partial holder cannot be the sharer,
 * and keeping every address ever listed grew with the swarm (sim, 10^4 peers:
 * a list per download as long as the holders it had seen, 10^6 entries in 18 s).
 */
export const MAX_SHARER_ADDRESSES = 256;
/**
 * In a long run of chokes, how many requests may be in flight at once to owners
 * not proven (none kept from them since they last choked us, or ever): every
 * slot while the download's run is shorter than PROBES_CAPPED_AFTER, then half
 * of them, halved again for each further SWARM_CHOKES_PER_DOUBLING chokes, never
 * fewer than MIN_PROBES. Owners that are giving us parts are not limited, and a
 * part kept ends the run. Why: where every place is taken, each free slot is a
 * request held 250 ms (REFUSAL_HOLD_MS) and closed, and longer waits per owner
 * do not bound that, since each bounded FCHU answer brings new owners to ask
 * (sim flash crowd of 10^3: 2.2 M refused connections for 64 000 parts, ~13 a
 * second per downloader, 80 % of the run). With the cap: 1.56 M at the same
 * completion (median 1.15 -> 1.14, last 1.28 -> 1.29 x D_min), and at 10^4 half
 * the refusals of the first 30 s. A small swarm keeps landing parts and rarely
 * gets there (sim s1 and s2 unchanged to the event; 10^2, bounded, within 1 %); from 32
 * chokes on, 10^2 finished 3 % later.
 */
export const PROBES_CAPPED_AFTER = 3 * SWARM_CHOKES_PER_DOUBLING;
export const MIN_PROBES = 2;
/** First back-off after a fault; doubles with each further fault up to maxBackoffMs. */
export const FIRST_BACKOFF_MS = 500;

export type BitmapChange = (owner: Owner, before: Buffer | null, after: Buffer | null) => void;

export class OwnerSet {
  private readonly owners = new Map<string, Owner>();
  /** Complete holders ever listed for this file, MAX_SHARER_ADDRESSES at most (verification tries each one's md5 convention). */
  private readonly sharers = new Map<string, PeerAddress>();
  /** Some owner was listed with every part: the sharer (or a full copy) is known. */
  sharerKnown = false;
  /** Bans of owners not (or no longer) in the lists, e.g. kept from an earlier run. */
  private readonly absentBans = new Map<string, string>();
  /** Back-offs of owners that left the list while backed off (MAX_RESTING_OWNERS at most, oldest first). */
  private readonly resting = new Map<string, Pick<Owner, 'failures' | 'backoffUntil' | 'chokedInARow'>>();
  /** Chokes from any owner since the last part kept. */
  private chokedSincePart = 0;

  constructor(
    private readonly options: OwnerSetOptions,
    /** Told of every bitmap that appears, changes or goes, so availability stays up to date. */
    private readonly onBitmap: BitmapChange,
  ) {}

  get size(): number {
    return this.owners.size;
  }

  get(key: string): Owner | undefined {
    return this.owners.get(key);
  }

  values(): IterableIterator<Owner> {
    return this.owners.values();
  }

  /** Addresses to try for the md5's content+owner convention: complete holders ever listed (the sharer is one). */
  addresses(): PeerAddress[] {
    return [...this.sharers.values()];
  }

  /** Owners we are fetching from right now. */
  get active(): number {
    let n = 0;
    for (const o of this.owners.values()) if (o.load > 0) n++;
    return n;
  }

  banned(): { key: string; reason: string }[] {
    const out: { key: string; reason: string }[] = [];
    for (const o of this.owners.values()) if (o.banned !== null) out.push({ key: o.key, reason: o.banned });
    for (const [key, reason] of this.absentBans) out.push({ key, reason });
    return out;
  }

  /** One FCHU answer: new owners appear, bitmaps change, owners gone from the list (and idle) leave. */
  update(holders: readonly HolderEntry[], parts: number): void {
    for (const o of this.owners.values()) o.listed = false;
    for (const h of holders) {
      if (this.options.isSelf(h.address, h.port)) continue;
      const key = formatHostPort(h.address.ip4, h.port);
      if (countParts(h.bitmap) === parts) {
        this.sharerKnown = true;
        if (this.sharers.size < MAX_SHARER_ADDRESSES) this.sharers.set(`${h.address.ip4}|${h.address.ip6}`, h.address);
      }
      const known = this.owners.get(key);
      if (known) {
        known.listed = true;
        if (known.bitmap !== h.bitmap && !known.bitmap.equals(h.bitmap)) {
          const before = known.bitmap;
          known.bitmap = h.bitmap;
          if (known.banned === null) this.onBitmap(known, before, h.bitmap);
        }
      } else {
        const banned = this.absentBans.get(key) ?? null;
        this.absentBans.delete(key);
        const rest = this.resting.get(key);
        this.resting.delete(key);
        const owner: Owner = { key, address: h.address, port: h.port, bitmap: h.bitmap, load: 0, failures: 0, backoffUntil: 0, listed: true, choked: 0, chokedInARow: 0, parts: 0, banned, available: false, ...rest };
        this.owners.set(key, owner);
        if (banned === null) this.onBitmap(owner, null, h.bitmap);
      }
    }
    for (const [key, o] of this.owners) {
      // A banned owner is remembered (so it stays banned); others leave once idle.
      if (o.listed || o.load > 0 || o.banned !== null) continue;
      this.owners.delete(key);
      if (o.backoffUntil > this.options.now() || o.chokedInARow > 0 || o.failures > 0) {
        this.resting.set(key, { failures: o.failures, backoffUntil: o.backoffUntil, chokedInARow: o.chokedInARow });
        if (this.resting.size > MAX_RESTING_OWNERS) this.resting.delete(this.resting.keys().next().value!);
      }
      this.onBitmap(o, o.bitmap, null);
    }
  }

  /** May be asked for a part now. */
  available(o: Owner, now = this.options.now()): boolean {
    return o.listed && o.banned === null && o.load < this.options.maxPerOwner && o.backoffUntil <= now;
  }
  /** No part kept from `o` since it last choked us (or ever). */
  unproven(o: Owner): boolean {
    return o.parts === 0 || o.chokedInARow > 0;
  }

  /** How many more requests to unproven owners may start now (see PROBES_CAPPED_AFTER), of `slots` in all. */
  probeRoom(slots: number): number {
    if (this.chokedSincePart < PROBES_CAPPED_AFTER) return slots;
    const halvings = 1 + Math.floor((this.chokedSincePart - PROBES_CAPPED_AFTER) / SWARM_CHOKES_PER_DOUBLING);
    let probes = 0;
    for (const o of this.owners.values()) if (o.load > 0 && this.unproven(o)) probes += o.load;
    return Math.max(MIN_PROBES, slots >> halvings) - probes;
  }

  /** A part came from `o` and was kept. */
  succeeded(o: Owner): void {
    o.failures = 0;
    o.chokedInARow = 0;
    o.parts++;
    this.chokedSincePart = 0;
  }

  /**
   * `o` choked us: no fault; others are asked first for a while. The wait grows
   * with long runs of chokes, its own and the download's. Returns the wait.
   */
  choked(o: Owner): number {
    o.choked++;
    const doublings = Math.floor(o.chokedInARow / CHOKES_PER_DOUBLING) + Math.floor(this.chokedSincePart / SWARM_CHOKES_PER_DOUBLING);
    const base = Math.min(this.options.maxBackoffMs, CHOKED_RETRY_MS * 2 ** doublings);
    o.chokedInARow++;
    this.chokedSincePart++;
    const wait = base + Math.floor(this.options.random() * base);
    o.backoffUntil = Math.max(o.backoffUntil, this.options.now() + wait);
    return wait;
  }

  /** `o` failed a fetch: back off, doubling with each fault in a row. Returns the back-off. */
  faulted(o: Owner): number {
    o.failures++;
    const backoff = Math.min(this.options.maxBackoffMs, FIRST_BACKOFF_MS * 2 ** (o.failures - 1));
    o.backoffUntil = this.options.now() + backoff;
    return backoff;
  }

  /** Never ask `key` again for this file (its parts stop counting towards availability). */
  ban(key: string, reason: string): void {
    const o = this.owners.get(key);
    if (!o) {
      this.absentBans.set(key, reason);
      return;
    }
    if (o.banned !== null) return;
    o.banned = reason;
    this.onBitmap(o, o.bitmap, null);
  }

  /** Lifts a ban (the whole-file md5 showed the owner honest after all). */
  unban(key: string): void {
    this.absentBans.delete(key);
    const o = this.owners.get(key);
    if (!o || o.banned === null) return;
    o.banned = null;
    this.onBitmap(o, null, o.bitmap);
  }

  isBanned(key: string): boolean {
    return this.absentBans.has(key) || (this.owners.get(key)?.banned ?? null) !== null;
  }

  /** The earliest time a backed-off owner may be asked again, or null. */
  nextWake(now = this.options.now()): number | null {
    let next = Infinity;
    for (const o of this.owners.values()) if (o.banned === null && o.backoffUntil > now) next = Math.min(next, o.backoffUntil);
    return next === Infinity ? null : next;
  }
}
