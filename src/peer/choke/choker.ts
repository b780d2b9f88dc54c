/**
 * The choker, pure: who may be served. No timers and no sockets; every call
 * takes `now` (ms) and randomness comes from the injected `random`. The edge that
 * owns the timers and implements the `UploadAdmission`/`TrafficRecorder` seams is
 * `service.ts`.
 *
 * State: at most `uploadSlots` regular unchoked peers plus one optimistic one.
 * `round(now)` (every 10 s) re-chokes:
 *  * interested peers (asked us for a part in the last `interestMs`) are ranked
 *    (ranking.ts: tit-for-tat while downloading, least served first while seeding,
 *    snubbing peers last) and the best `uploadSlots` are unchoked;
 *  * every `optimisticEveryRounds` rounds (30 s) the optimistic slot moves to
 *    another interested, not regularly unchoked peer at random, newcomers weighted
 *    `newcomerWeight`×; it is also refilled at once whenever it is empty, its peer
 *    lost interest, or its peer won a regular slot.
 * Between rounds a slot left empty (too few interested peers at the last round,
 * a holder idle for `slotIdleMs`, or forgotten) goes to the first interested
 * peer that asks (`claimVacancy`); while downloading, only to a peer that sends
 * us data (or, for the optimistic slot, a newcomer): free riders wait for the
 * optimistic draw at the rounds.
 */
import type { RemoteKey } from '../bandwidth.js';
import { RateMeter } from './rate-meter.js';
import { type Candidate, type ChokeMode, pickWeighted, rank } from './ranking.js';

export interface ChokerOptions {
  /** Regular upload slots (the optimistic slot comes on top). */
  uploadSlots: number;
  /** Re-choke period; the edge schedules rounds with it. */
  rechokeIntervalMs: number;
  /** The optimistic slot moves every this many rounds. */
  optimisticEveryRounds: number;
  /** Window of the rolling rates used for ranking. */
  rankWindowMs: number;
  /** Window of the rates shown in status snapshots. */
  statusWindowMs: number;
  /** A peer is interested while its last request is at most this old. */
  interestMs: number;
  /**
   * Between rounds, a slot holder that neither asked nor was sent anything for
   * this long (and is not being served) gives its slot to a peer that asks: it
   * finished or went elsewhere, and a slot must not sit idle until the next round.
   */
  slotIdleMs: number;
  /** A peer that sent us nothing for this long is snubbing (ranked last while downloading). */
  snubAfterMs: number;
  /** Newcomers' weight in the optimistic draw (others weigh 1). */
  newcomerWeight: number;
  /** Peers with no traffic, no interest and no slot for this long are dropped from the state. */
  forgetAfterMs: number;
}

export const DEFAULT_CHOKER_OPTIONS: Readonly<ChokerOptions> = {
  uploadSlots: 4,
  rechokeIntervalMs: 10_000,
  optimisticEveryRounds: 3,
  rankWindowMs: 20_000,
  statusWindowMs: 5_000,
  interestMs: 20_000,
  slotIdleMs: 5_000,
  snubAfterMs: 60_000,
  newcomerWeight: 3,
  forgetAfterMs: 300_000,
};

/** What one peer looks like to the choker right now. */
export interface PeerStatus {
  remote: RemoteKey;
  /** Bytes we sent them / they sent us, since first seen. */
  uploaded: number;
  downloaded: number;
  /** Bytes/s over the status window (5 s by default). */
  uploadRate: number;
  downloadRate: number;
  choked: boolean;
  /** Holds the optimistic slot (then `choked` is false). */
  optimistic: boolean;
  interested: boolean;
  snubbed: boolean;
  newcomer: boolean;
  /** When we first heard of them (ms, the injected clock). */
  firstSeen: number;
}

export interface RoundResult {
  /** 1 for the first round. */
  round: number;
  mode: ChokeMode;
  /** Regular slots, best first. */
  regular: RemoteKey[];
  optimistic: RemoteKey | null;
  /** Whether this round moved the optimistic slot on schedule. */
  rotated: boolean;
  /** Unchoked now but not before / choked now but unchoked before. */
  unchokedNow: RemoteKey[];
  chokedNow: RemoteKey[];
}

interface PeerState {
  remote: RemoteKey;
  firstSeen: number;
  lastRequest: number;
  up: RateMeter;
  down: RateMeter;
}

export class Choker {
  readonly options: Readonly<ChokerOptions>;
  private readonly random: () => number;
  private readonly peers = new Map<RemoteKey, PeerState>();
  private regular: RemoteKey[] = [];
  private optimistic: RemoteKey | null = null;
  private rounds = 0;
  private lastMode: ChokeMode = 'downloading';

  constructor(options: Partial<ChokerOptions> = {}, random: () => number = Math.random) {
    const o = { ...DEFAULT_CHOKER_OPTIONS, ...options };
    for (const [k, v] of Object.entries(o)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`choker option ${k} must be a number >= 0, got ${v}`);
    }
    if (!Number.isInteger(o.uploadSlots)) throw new RangeError(`uploadSlots must be an integer, got ${o.uploadSlots}`);
    if (!(o.optimisticEveryRounds >= 1)) throw new RangeError('optimisticEveryRounds must be >= 1');
    this.options = Object.freeze(o);
    this.random = random;
  }

  /** Rounds run so far. */
  get round(): number {
    return this.rounds;
  }

  /** The holder of the optimistic slot, if any. */
  get optimisticPeer(): RemoteKey | null {
    return this.optimistic;
  }

  get mode(): ChokeMode {
    return this.lastMode;
  }

  /** `remote` asked us for a part: it is interested. */
  requested(remote: RemoteKey, now: number): void {
    this.peer(remote, now).lastRequest = now;
  }

  uploaded(remote: RemoteKey, bytes: number, now: number): void {
    this.peer(remote, now).up.add(bytes, now);
  }

  downloaded(remote: RemoteKey, bytes: number, now: number): void {
    this.peer(remote, now).down.add(bytes, now);
  }

  /** Drops a peer (gone from the swarm); its slot becomes vacant. */
  forget(remote: RemoteKey): void {
    this.peers.delete(remote);
    this.regular = this.regular.filter((r) => r !== remote);
    if (this.optimistic === remote) this.optimistic = null;
  }

  isUnchoked(remote: RemoteKey): boolean {
    return this.optimistic === remote || this.regular.includes(remote);
  }

  unchoked(): RemoteKey[] {
    return this.optimistic === null ? [...this.regular] : [...this.regular, this.optimistic];
  }

  isInterested(remote: RemoteKey, now: number): boolean {
    const p = this.peers.get(remote);
    return p !== undefined && now - p.lastRequest <= this.options.interestMs;
  }

  /** Seeding when nothing came in from anyone during the ranking window. */
  autoMode(now: number): ChokeMode {
    for (const p of this.peers.values()) {
      if (p.down.sum(now, this.options.rankWindowMs) > 0) return 'downloading';
    }
    return 'seeding';
  }

  /**
   * Between rounds: gives `remote` (which must be interested) an empty slot if
   * there is one, first freeing the slots of holders idle for `slotIdleMs` (no
   * request, no bytes sent to them) unless `busy(holder)` (being served now).
   * Regular slots first, then the optimistic one. Returns whether `remote` is unchoked.
   */
  claimVacancy(remote: RemoteKey, now: number, busy: (holder: RemoteKey) => boolean = () => false): boolean {
    if (this.isUnchoked(remote)) return true;
    if (!this.isInterested(remote, now)) return false;
    this.dropIdle(now, busy);
    // Tit-for-tat between rounds too: while downloading, a regular slot left empty
    // goes only to a peer that sends us data, and the optimistic one to a peer that
    // does or to a newcomer. Otherwise a free rider that keeps asking takes every
    // vacancy first come, and reciprocity only holds at the 10 s rounds.
    const p = this.peers.get(remote)!;
    const trading = this.lastMode === 'seeding' || p.down.sum(now, this.options.rankWindowMs) > 0;
    if (!trading && !(p.up.total === 0 && p.down.total === 0)) return false;
    if (trading && this.regular.length < this.options.uploadSlots) {
      this.regular.push(remote);
      return true;
    }
    if (this.optimistic === null) {
      this.optimistic = remote;
      return true;
    }
    return false;
  }

  /** Re-chokes. `mode` defaults to `autoMode(now)`. */
  roundAt(now: number, mode: ChokeMode = this.autoMode(now)): RoundResult {
    const before = new Set(this.unchoked());
    this.rounds++;
    this.lastMode = mode;
    this.prune(now);

    const candidates: Candidate[] = [];
    for (const p of this.peers.values()) {
      if (now - p.lastRequest <= this.options.interestMs) candidates.push(this.candidate(p, now));
    }
    const ranked = rank(candidates, mode, this.random);
    this.regular = ranked.slice(0, this.options.uploadSlots).map((c) => c.remote);

    const rest = ranked.slice(this.options.uploadSlots);
    const due = (this.rounds - 1) % this.options.optimisticEveryRounds === 0;
    const current = this.optimistic;
    const stillValid = current !== null && rest.some((c) => c.remote === current);
    let rotated = false;
    if (due || !stillValid) {
      // "move to another" peer: the current holder only keeps it if nobody else can take it
      let pool = rest;
      if (mode === 'downloading') {
        // Peers we gave to that never gave back (free riders) get the optimistic slot
        // only when no newcomer and no peer that ever sent us data wants it.
        const fair = rest.filter((c) => c.newcomer || (this.peers.get(c.remote)?.down.total ?? 0) > 0);
        if (fair.length > 0) pool = fair;
      }
      const others = pool.filter((c) => c.remote !== current);
      const pick = pickWeighted(others.length > 0 ? others : pool, this.options.newcomerWeight, this.random);
      this.optimistic = pick?.remote ?? null;
      rotated = due;
    }

    const after = this.unchoked();
    return {
      round: this.rounds,
      mode,
      regular: [...this.regular],
      optimistic: this.optimistic,
      rotated,
      unchokedNow: after.filter((r) => !before.has(r)),
      chokedNow: [...before].filter((r) => !after.includes(r)),
    };
  }

  status(now: number): PeerStatus[] {
    const w = this.options.statusWindowMs;
    return [...this.peers.values()].map((p) => {
      const c = this.candidate(p, now);
      return {
        remote: p.remote,
        uploaded: p.up.total,
        downloaded: p.down.total,
        uploadRate: p.up.rate(now, w, p.firstSeen),
        downloadRate: p.down.rate(now, w, p.firstSeen),
        choked: !this.isUnchoked(p.remote),
        optimistic: this.optimistic === p.remote,
        interested: now - p.lastRequest <= this.options.interestMs,
        snubbed: c.snubbed,
        newcomer: c.newcomer,
        firstSeen: p.firstSeen,
      };
    });
  }

  private candidate(p: PeerState, now: number): Candidate {
    const o = this.options;
    return {
      remote: p.remote,
      downloadRate: p.down.rate(now, o.rankWindowMs, p.firstSeen),
      uploadRate: p.up.rate(now, o.rankWindowMs, p.firstSeen),
      snubbed: now - p.firstSeen >= o.snubAfterMs && now - p.down.lastAt >= o.snubAfterMs,
      newcomer: p.up.total === 0 && p.down.total === 0,
    };
  }

  private peer(remote: RemoteKey, now: number): PeerState {
    let p = this.peers.get(remote);
    if (!p) {
      const window = Math.max(this.options.rankWindowMs, this.options.statusWindowMs);
      p = { remote, firstSeen: now, lastRequest: -Infinity, up: new RateMeter(window), down: new RateMeter(window) };
      this.peers.set(remote, p);
    }
    return p;
  }

  private dropIdle(now: number, busy: (holder: RemoteKey) => boolean): void {
    const active = (r: RemoteKey): boolean => {
      const p = this.peers.get(r);
      return p !== undefined && (busy(r) || now - Math.max(p.lastRequest, p.up.lastAt) <= this.options.slotIdleMs);
    };
    this.regular = this.regular.filter(active);
    if (this.optimistic !== null && !active(this.optimistic)) this.optimistic = null;
  }

  private prune(now: number): void {
    const idle = this.options.forgetAfterMs;
    for (const p of this.peers.values()) {
      const last = Math.max(p.firstSeen, p.lastRequest, p.up.lastAt, p.down.lastAt);
      if (now - last > idle && !this.isUnchoked(p.remote)) this.peers.delete(p.remote);
    }
  }
}
