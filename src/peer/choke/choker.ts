/**
 * The choker, pure: who may be served, and who comes first. No timers and no
 * sockets; every call takes `now` (ms) and randomness comes from the injected
 * `random`. The edge that owns the timers and implements the
 * `UploadAdmission`/`TrafficRecorder` seams is `service.ts`.
 *
 * Work-conserving: upload capacity is never idle while an interested peer asks.
 * `admit(remote, now, serving)` serves any asker while fewer than
 * `uploadSlots + 1` peers are being served; slots only decide who comes first
 * when more ask than can be served:
 *  * priority 0: the `uploadSlots` regular slots, given at each `roundAt` (every
 *    10 s) to the interested peers ranked best (ranking.ts: tit-for-tat while
 *    downloading, least served first while seeding, snubbing peers last);
 *  * priority 1: the optimistic slot (moves every `optimisticEveryRounds` rounds
 *    to another interested peer at random, newcomers weighted `newcomerWeight`×;
 *    refilled at once when empty);
 *  * priority 2: everybody else; priority 3: free riders (record.ts: they hold
 *    parts and never served them to us or to anyone we hear of). Free riders
 *    never hold a regular slot and get the optimistic one only when no other
 *    peer wants it: they are served from spare capacity.
 * A peer refused while every place is taken "claims" the next free place for
 * `claimMs`: a lower-priority asker does not take it meanwhile.
 * With a known capacity (bytes/s), a full set of served peers that leaves the
 * uplink under-used for `capacityWindowMs` gets one more place (slots follow
 * measured capacity use), up to twice the slots.
 *
 * Interest is per file: a peer asked us for a part of it within `interestMs`,
 * and no holder list since shows it complete for that file (`holders`). A peer
 * that is interested in nothing loses its slot at once.
 * Mode: `autoMode` says seeding as soon as nothing came in for `seedingAfterMs`
 * (the edge may pass the real answer: do we still download anything?).
 */
import type { RemoteKey } from '../bandwidth.js';
import { PerFile } from './per-file.js';
import { RateMeter } from './rate-meter.js';
import { type Candidate, type ChokeMode, pickWeighted, rank } from './ranking.js';
import { type ChokerOptions, chokerOptions } from './options.js';
import { type Holding, PeerRecords, type RecordOptions } from './record.js';

/**
 * Why `verdict` says no: every place served or kept for claimants ahead
 * (`full`), a further part in parallel while others want parts (`parallel`), or a free
 * rider while a peer that earns its place is served (`free-rider`).
 */
export type RefusalReason = 'full' | 'parallel' | 'free-rider';

/** Who comes first when more ask than can be served: lower is better. */
export type Priority = 0 | 1 | 2 | 3;

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
  /** Holds parts, never served them to us or to anyone we hear of. */
  freeRider: boolean;
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

/** The meter of a remote that never moved a byte: shared, never added to (a refused asker costs no meters). */
const NO_BYTES = new RateMeter(1);

interface PeerState {
  remote: RemoteKey;
  firstSeen: number;
  lastRequest: number;
  /** md5 ('' when unknown) -> its last request for a part of that file */
  wants: PerFile;
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
  private readonly records: PeerRecords;
  /** Refused while every place was taken: remote -> when (insertion order = first come). */
  private readonly claims = new Map<RemoteKey, number>();
  private claimsInOrder = true;
  private lastClaimAt = -Infinity;
  private readonly upTotal: RateMeter;
  /** Places beyond uploadSlots + 1, when measured use says the uplink has room. */
  private extra = 0;
  private fullSince: number | null = null;

  constructor(options: Partial<ChokerOptions> = {}, random: () => number = Math.random) {
    const o = chokerOptions(options);
    this.options = o;
    this.random = random;
    const record: RecordOptions = { minHeld: o.freeRiderMinHeld, minGiven: o.freeRiderMinGiven, minRefusals: o.freeRiderMinRefusals, graceMs: o.freeRiderGraceMs };
    this.records = new PeerRecords(record);
    this.upTotal = new RateMeter(o.capacityWindowMs);
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

  /** `remote` asked us for a part (of `md5`): it is interested (in that file). */
  requested(remote: RemoteKey, now: number, md5 = ''): void {
    const p = this.peer(remote, now);
    p.lastRequest = now;
    p.wants.set(md5, now);
  }

  uploaded(remote: RemoteKey, bytes: number, now: number): void {
    const p = this.peer(remote, now);
    if (p.up === NO_BYTES) p.up = this.meter();
    p.up.add(bytes, now);
    this.upTotal.add(bytes, now);
  }

  /** We are sending `part` of `md5` to `remote` (for its record: do our parts spread from it?). */
  gave(remote: RemoteKey, md5: string, part: number, now: number): void {
    this.peer(remote, now);
    this.records.gave(remote, md5, part, now);
  }

  /**
   * One file's holder list (an FCHU answer, ourselves excluded), `parts` its part
   * count. Peers listed complete are no longer interested in it: if that leaves
   * them interested in nothing, their slot is free at once. Returns those peers.
   */
  holders(md5: string, parts: number, holdings: readonly Holding[], now: number): RemoteKey[] {
    // records only for remotes we keep (a holder list names many we never meet)
    const complete = this.records.learn(md5, parts, holdings, (r) => this.peers.has(r));
    const freed: RemoteKey[] = [];
    for (const r of complete) {
      const p = this.peers.get(r);
      if (!p || !p.wants.delete(md5)) continue;
      if (!this.isInterested(r, now) && this.isUnchoked(r)) {
        this.dropSlot(r);
        freed.push(r);
      }
    }
    return freed;
  }

  isFreeRider(remote: RemoteKey, now: number): boolean {
    const p = this.peers.get(remote);
    return p !== undefined && this.records.isFreeRider(remote, p.down.total, now);
  }

  /** Who comes first when more ask than can be served (see the top of this file). */
  priority(remote: RemoteKey, now: number): Priority {
    if (this.regular.includes(remote)) return 0;
    if (this.optimistic === remote) return 1;
    return this.isFreeRider(remote, now) ? 3 : 2;
  }

  /** Places: peers that may be served at once (uploadSlots + 1, more when measured use says so). */
  places(): number {
    return this.options.uploadSlots + 1 + this.extra;
  }

  /** Peers refused while every place was taken, within `claimMs`, best first. */
  claimants(now: number): RemoteKey[] {
    this.expireClaims(now);
    return [...this.claims.keys()].sort((a, b) => this.priority(a, now) - this.priority(b, now));
  }

  /**
   * Whether `remote` (which just asked: call `requested` first) may be served
   * now, given the peers being served (`serving`, at least one part under way).
   * Work-conserving: yes while a place is free, unless better-priority
   * claimants wait for every free place. A refused peer claims the next one.
   */
  admit(remote: RemoteKey, now: number, serving: ReadonlySet<RemoteKey> | ReadonlyMap<RemoteKey, number>): boolean {
    return this.verdict(remote, now, serving) === null;
  }

  /** `admit`, saying why: null when `remote` may be served now, else the reason it is refused. */
  verdict(remote: RemoteKey, now: number, serving: ReadonlySet<RemoteKey> | ReadonlyMap<RemoteKey, number>): RefusalReason | null {
    if (serving.has(remote)) {
      // Already holds a place: another part in parallel (up to partsPerPeer; a Set counts one
      // each) splits the uplink further, so it is given only while no other peer waits for a
      // place and the parts in flight leave one: with 5 places at 2 MiB/s, one peer's four
      // parts made every newcomer's first part take a second or more (bench:swarm S1).
      // Still work-conserving: with nobody else asking, one peer may use every place.
      const parts = serving instanceof Map ? (serving.get(remote) ?? 1) : 1;
      if (parts >= this.options.partsPerPeer) return 'parallel';
      this.expireClaims(now);
      if (partsInFlight(serving) >= this.places()) return 'parallel';
      for (const r of this.claims.keys()) if (r !== remote && !serving.has(r)) return 'parallel';
      // Nor while another peer wants parts from us at all: one flow already fills a
      // shaped uplink, and a second part for one peer halves everyone else's rate
      // (the seed's first parts in sim S1 came after 1.25 s, ten flows at once).
      // A peer alone with us keeps its parallel parts (a single transfer's pipeline).
      if (this.othersInterested(remote, now)) return 'parallel';
      if (this.isFreeRider(remote, now) && this.servesEarner(remote, now, serving)) return 'free-rider';
      this.claims.delete(remote);
      return null;
    }
    this.expireClaims(now);
    this.followCapacity(now, serving.size);
    const free = this.places() - serving.size;
    // A free rider is served from idle capacity only: not beside a peer that earns its
    // place. A place is not a share of the uplink: TCP splits it evenly between the
    // parts in flight, so one free rider among five served peers took a fifth of it
    // (sim s3: 25 % of the seed's upload, contributors 1.37 × D_min).
    if (free > 0 && this.isFreeRider(remote, now) && this.servesEarner(remote, now, serving)) return this.claimAndRefuse(remote, now, 'free-rider');
    // Claimants ahead of us, counted only while they could still leave us a free place
    // (a refused peer asks again soon: with many of them this loop is the hot spot).
    let better = 0;
    if (free > 0) {
      const mine = this.priority(remote, now);
      const ahead = (r: RemoteKey): boolean => r !== remote && !serving.has(r) && this.claims.has(r);
      if (mine === 1 || mine === 2) {
        // better than 1 or 2 is a slot holder: look among the (few) slot holders, not every claimant
        for (const r of new Set(mine === 1 ? this.regular : this.unchoked())) if (ahead(r) && ++better >= free) break;
      } else if (mine === 3) {
        for (const r of this.claims.keys()) {
          if (r !== remote && !serving.has(r) && this.priority(r, now) < mine && ++better >= free) break;
        }
      }
    }
    if (free > better) {
      this.claims.delete(remote);
      this.claimVacancy(remote, now, (r) => serving.has(r));
      return null;
    }
    return this.claimAndRefuse(remote, now, 'full');
  }

  /** Some peer other than `remote` asked us for a part within `interestMs` (and is not complete for it). */
  private othersInterested(remote: RemoteKey, now: number): boolean {
    for (const [r, p] of this.peers) if (r !== remote && this.interested(p, now)) return true;
    return false;
  }

  /** Someone other than `remote` who is not a free rider is being served. */
  private servesEarner(remote: RemoteKey, now: number, serving: ReadonlySet<RemoteKey> | ReadonlyMap<RemoteKey, number>): boolean {
    for (const r of serving.keys()) if (r !== remote && !this.isFreeRider(r, now)) return true;
    return false;
  }

  /** `remote` is refused: it claims the next free place (kept `claimMs`). */
  private claimAndRefuse(remote: RemoteKey, now: number, reason: RefusalReason): RefusalReason {
    if (!this.claims.has(remote)) {
      // a clock that went back (a caller's, not performance.now) breaks the order: scan them all from then on
      if (now < this.lastClaimAt) this.claimsInOrder = false;
      this.lastClaimAt = now;
      this.claims.set(remote, now);
    }
    return reason;
  }

  /** `remote` closed a request of ours unanswered: evidence for its record as an uploader. */
  refusedBy(remote: RemoteKey, now: number): void {
    this.peer(remote, now);
    this.records.refused(remote, now);
  }

  downloaded(remote: RemoteKey, bytes: number, now: number): void {
    const p = this.peer(remote, now);
    if (p.down === NO_BYTES) p.down = this.meter();
    p.down.add(bytes, now);
  }

  /** Drops a peer (gone from the swarm); its slot becomes vacant. */
  forget(remote: RemoteKey): void {
    this.peers.delete(remote);
    this.records.forget(remote);
    this.claims.delete(remote);
    this.dropSlot(remote);
  }

  isUnchoked(remote: RemoteKey): boolean {
    return this.optimistic === remote || this.regular.includes(remote);
  }

  unchoked(): RemoteKey[] {
    return this.optimistic === null ? [...this.regular] : [...this.regular, this.optimistic];
  }

  isInterested(remote: RemoteKey, now: number): boolean {
    const p = this.peers.get(remote);
    return p !== undefined && this.interested(p, now);
  }

  /** Seeding once nothing came in from anyone for `seedingAfterMs`. */
  autoMode(now: number): ChokeMode {
    for (const p of this.peers.values()) {
      if (now - p.down.lastAt <= this.options.seedingAfterMs) return 'downloading';
    }
    return 'seeding';
  }

  /**
   * Between rounds: gives `remote` (which must be interested) an empty slot if
   * there is one, first freeing the slots of holders idle for `slotIdleMs` (no
   * request, no bytes sent to them) unless `busy(holder)` (being served now).
   * Regular slots first, then the optimistic one; a free rider only ever takes
   * an empty optimistic slot. Returns whether `remote` is unchoked.
   */
  claimVacancy(remote: RemoteKey, now: number, busy: (holder: RemoteKey) => boolean = () => false): boolean {
    if (this.isUnchoked(remote)) return true;
    if (!this.isInterested(remote, now)) return false;
    this.dropIdle(now, busy);
    if (!this.isFreeRider(remote, now) && this.regular.length < this.options.uploadSlots) {
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
    const riders: Candidate[] = [];
    for (const p of this.peers.values()) {
      if (!this.interested(p, now)) continue;
      (this.records.isFreeRider(p.remote, p.down.total, now) ? riders : candidates).push(this.candidate(p, now));
    }
    const ranked = rank(candidates, mode, this.random);
    this.regular = ranked.slice(0, this.options.uploadSlots).map((c) => c.remote);
    // Capacity in use: fewer places give tit-for-tat more weight again.
    if (this.extra > 0 && this.upTotal.rate(now, this.options.capacityWindowMs) >= 0.95 * this.options.capacity) this.extra--;

    const rest = [...ranked.slice(this.options.uploadSlots), ...riders];
    const due = (this.rounds - 1) % this.options.optimisticEveryRounds === 0;
    const current = this.optimistic;
    const stillValid = current !== null && rest.some((c) => c.remote === current);
    let rotated = false;
    if (due || !stillValid) {
      // "move to another" peer: the current holder only keeps it if nobody else can take it
      // Free riders get the optimistic slot only when nobody else wants it.
      const pool = rest.length > riders.length ? rest.slice(0, rest.length - riders.length) : rest;
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
        freeRider: this.records.isFreeRider(p.remote, p.down.total, now),
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
      if (this.peers.size >= this.options.maxRemotes) this.evictIdlest();
      p = { remote, firstSeen: now, lastRequest: -Infinity, wants: new PerFile(), up: NO_BYTES, down: NO_BYTES };
      this.peers.set(remote, p);
    }
    return p;
  }

  private meter(): RateMeter {
    return new RateMeter(Math.max(this.options.rankWindowMs, this.options.statusWindowMs));
  }

  /**
   * Makes room for a newcomer: forgets the remotes idle longest that hold no slot,
   * an eighth of the table at once (one scan per many newcomers, not one each).
   */
  private evictIdlest(): void {
    // each one's last activity computed once, not in every comparison (a sort of 256 called it ~4 000 times),
    // into plain arrays sorted by index (an object per remote per eviction was 9 % of a flash crowd's allocations)
    const idle: PeerState[] = [];
    const at: number[] = [];
    for (const p of this.peers.values()) {
      if (this.isUnchoked(p.remote)) continue;
      idle.push(p);
      at.push(lastActive(p));
    }
    // least recently active first; equally idle ones in table order (as a stable sort of the remotes)
    const order = idle.map((_, i) => i).sort((a, b) => at[a]! - at[b]! || a - b);
    for (const i of order.slice(0, Math.max(1, this.options.maxRemotes >> 3))) this.forget(idle[i]!.remote);
  }

  /** Interested in some file: asked for it recently, and not listed complete for it since. */
  private interested(p: PeerState, now: number): boolean {
    // the latest request decides (subtraction is monotonic: the same answer as testing each)
    return now - p.wants.max() <= this.options.interestMs;
  }

  private dropSlot(remote: RemoteKey): void {
    if (this.regular.includes(remote)) this.regular = this.regular.filter((r) => r !== remote);
    if (this.optimistic === remote) this.optimistic = null;
  }

  private expireClaims(now: number): void {
    if (this.claimsInOrder) {
      // claims are kept in the order they were made (a claim's time never changes) and a
      // forgotten peer's claim goes with it: the expired ones are a prefix
      for (const [r, at] of this.claims) {
        if (now - at <= this.options.claimMs) return;
        this.claims.delete(r);
      }
      return;
    }
    for (const [r, at] of this.claims) if (now - at > this.options.claimMs || !this.peers.has(r)) this.claims.delete(r);
  }

  /**
   * Slots follow measured capacity use: every place taken, yet the uplink
   * under 85 % of `capacity` for a whole window (the peers served cannot take
   * more, e.g. their download is slow): one more place, up to twice the slots.
   */
  private followCapacity(now: number, serving: number): void {
    const o = this.options;
    if (!(o.capacity > 0) || serving < this.places()) {
      this.fullSince = null;
      return;
    }
    this.fullSince ??= now;
    if (now - this.fullSince < o.capacityWindowMs || this.extra >= o.uploadSlots + 1) return;
    if (this.upTotal.rate(now, o.capacityWindowMs) < 0.85 * o.capacity) {
      this.extra++;
      this.fullSince = now;
    }
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
      if (now - lastActive(p) > idle && !this.isUnchoked(p.remote)) this.forget(p.remote);
    }
  }
}

function lastActive(p: PeerState): number {
  return Math.max(p.firstSeen, p.lastRequest, p.up.lastAt, p.down.lastAt);
}

/** Parts being sent now: a Map counts each peer's parts, a Set one part per peer. */
function partsInFlight(serving: ReadonlySet<RemoteKey> | ReadonlyMap<RemoteKey, number>): number {
  if (!(serving instanceof Map)) return serving.size;
  let n = 0;
  for (const parts of serving.values()) n += parts;
  return n;
}
