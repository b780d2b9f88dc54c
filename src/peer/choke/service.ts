/**
 * The choker's edge: implements the `UploadAdmission` and `TrafficRecorder` seams
 * (src/peer/bandwidth.ts) on top of the pure `Choker`, and owns its timers (the
 * re-choke round every 10 s, the bounded wait of a choked request). Clock, random
 * source and timer functions are injected so tests drive it round by round.
 *
 * The protocol has no choke message. A request that cannot be served now is
 * refused at once (`admit` resolves null, the uploader closes without a reply),
 * so the requester learns it without waiting; it has claimed the next free
 * place meanwhile (choker.ts `claims`), and `onVacancy` reports each freed
 * place with the peers refused just before, best first: what an edge needs to
 * tell them "ask again now". With `admissionWaitMs` > 0 a refused request is
 * held that long instead, and served as soon as a place frees (best priority
 * first): the place does not idle while its claimant comes back (the peer
 * holds 250 ms, policy.ts REFUSAL_HOLD_MS). Each held request is a connection,
 * so the listener's connection guard bounds them.
 * Hard cap: at most `places()` (uploadSlots + 1) distinct peers are served at
 * once; a peer choked mid-part finishes that part first.
 *
 * Usage (one per peer process, shared by every connection):
 *   const choker = new ChokerService({ uploadSlots: 4 });
 *   choker.start();                       // first round now, then every 10 s
 *   uploader gets `choker` as UploadAdmission, transfers get it as TrafficRecorder
 *   choker.status()                       // for the dashboard / --json
 *   choker.stop();                        // on shutdown: timers cleared, waiters get null
 */
import type { RemoteKey, TrafficRecorder, UploadAdmission } from '../bandwidth.js';
import { Choker, type PeerStatus, type RefusalReason, type RoundResult } from './choker.js';
import type { ChokerOptions } from './options.js';
import type { ChokeMode } from './ranking.js';
import type { Holding } from './record.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: the choker alone must never keep a process alive. */
export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // the choker alone must never keep a process alive
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ChokerServiceOptions extends Partial<ChokerOptions> {
  /** How long a refused request is held for a place before `admit` resolves null. Default 0: refused at once (the peer's policy holds REFUSAL_HOLD_MS). */
  admissionWaitMs?: number;
  /** Milliseconds, monotonic. Default `performance.now()`. */
  now?: () => number;
  /** Default `Math.random`. */
  random?: () => number;
  /** Default: real timers, unref'd. */
  timers?: Timers;
  /**
   * Whether we are seeding (rank by upload rate) or downloading (tit-for-tat).
   * Default: seeding when nothing came in from anyone during the ranking window.
   */
  mode?: () => ChokeMode;
  /** Called after every round (logging, dashboard events). */
  onRound?: (result: RoundResult) => void;
  /** A place fell free; `claimants`: peers refused within claimMs, best first (tell them to ask again). */
  onVacancy?: (claimants: RemoteKey[]) => void;
  /**
   * A request was refused: how many distinct peers were being served then, of
   * how many places, and how many free places were kept for claimants ahead of it.
   * `reason` (choker.ts RefusalReason): every place taken (`full`), a further part
   * in parallel while others want parts (`parallel`), or a free rider while a peer
   * that earns its place is served (`free-rider`).
   */
  onRefuse?: (remote: RemoteKey, serving: number, places: number, reserved: number, reason: RefusalReason) => void;
}

export interface ServingPeerStatus extends PeerStatus {
  /** Requests being served now (admitted, not yet released). */
  serving: number;
  /** Requests waiting for a slot now. */
  waiting: number;
}

export interface ChokerStatus {
  round: number;
  mode: ChokeMode;
  uploadSlots: number;
  /** Peers holding a slot (regular and optimistic). */
  unchoked: RemoteKey[];
  optimistic: RemoteKey | null;
  peers: ServingPeerStatus[];
}

interface Waiter {
  remote: RemoteKey;
  request: { md5: string; part: number } | undefined;
  resolve: (release: (() => void) | null) => void;
  timer: unknown;
}

export class ChokerService implements UploadAdmission, TrafficRecorder {
  readonly choker: Choker;
  readonly admissionWaitMs: number;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly mode: (() => ChokeMode) | undefined;
  private readonly onRound: ((r: RoundResult) => void) | undefined;
  private readonly onVacancy: ((claimants: RemoteKey[]) => void) | undefined;
  /** Requests refused (at once or after their hold), for status. */
  refused = 0;
  private readonly serving = new Map<RemoteKey, number>();
  private waiters: Waiter[] = [];
  private roundTimer: unknown = null;
  private running = false;
  private stopped = false;

  constructor(options: ChokerServiceOptions = {}) {
    const { admissionWaitMs = 0, now, random, timers, mode, onRound, onVacancy, onRefuse, ...chokerOptions } = options;
    if (!(admissionWaitMs >= 0)) throw new RangeError(`admissionWaitMs must be >= 0, got ${admissionWaitMs}`);
    this.choker = new Choker(chokerOptions, random ?? Math.random);
    this.admissionWaitMs = admissionWaitMs;
    this.now = now ?? (() => performance.now());
    this.timers = timers ?? realTimers;
    this.mode = mode;
    this.onRound = onRound;
    this.onVacancy = onVacancy;
    this.onRefuse = onRefuse;
  }
  private readonly onRefuse: ChokerServiceOptions['onRefuse'];

  /** Runs a first round now, then one every `rechokeIntervalMs`. Idempotent. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.tick();
  }

  /** Final: clears the timers; pending and future `admit` calls resolve null. */
  stop(): void {
    this.stopped = true;
    this.running = false;
    if (this.roundTimer !== null) this.timers.clearTimeout(this.roundTimer);
    this.roundTimer = null;
    for (const w of this.waiters.splice(0)) {
      this.timers.clearTimeout(w.timer);
      w.resolve(null);
    }
  }

  /** Peers that may be served at once now. */
  places(): number {
    return this.choker.places();
  }

  /** Re-chokes now (the timer calls this; tests and a dashboard button may too). */
  rechoke(): RoundResult {
    const now = this.now();
    const result = this.choker.roundAt(now, this.mode?.());
    this.onRound?.(result);
    this.wakeWaiters();
    return result;
  }

  admit(remote: RemoteKey, request?: { md5: string; part: number }): Promise<(() => void) | null> {
    if (this.stopped) return Promise.resolve(null);
    const now = this.now();
    this.choker.requested(remote, now, request?.md5);
    // Finished downloading: seeding rules from now on, not at the next round.
    if (this.choker.mode === 'downloading' && (this.mode?.() ?? this.choker.autoMode(now)) === 'seeding') this.rechoke();
    const refusal = this.choker.verdict(remote, now, this.serving);
    if (refusal === null) return Promise.resolve(this.grant(remote, request));
    if (this.admissionWaitMs === 0) {
      this.refuse(remote, refusal);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { remote, request, resolve, timer: null };
      waiter.timer = this.timers.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        // Asked once more, so that the refusal says how things stand at its close.
        const again = this.stopped ? refusal : this.choker.verdict(remote, this.now(), this.serving);
        if (again === null) {
          resolve(this.grant(remote, request));
          return;
        }
        this.refuse(remote, again);
        resolve(null);
      }, this.admissionWaitMs);
      this.waiters.push(waiter);
    });
  }

  /** Counts a refusal and tells `onRefuse` how the places stood (`reason`: why it was first turned away). */
  private refuse(remote: RemoteKey, reason: RefusalReason): void {
    this.refused++;
    if (!this.onRefuse) return;
    const claimants = this.choker.claimants(this.now());
    const ahead = claimants.slice(0, Math.max(0, claimants.indexOf(remote))).filter((r) => !this.serving.has(r)).length;
    this.onRefuse(remote, this.servingPeers(), this.places(), Math.min(ahead, this.places() - this.servingPeers()), reason);
  }

  /** One file's holder list (FCHU answer, ourselves excluded): completeness and records (choker.ts `holders`). */
  holders(md5: string, parts: number, holdings: readonly Holding[]): void {
    const freed = this.choker.holders(md5, parts, holdings, this.now());
    if (freed.length > 0) this.vacancy();
  }

  uploaded(remote: RemoteKey, bytes: number): void {
    this.choker.uploaded(remote, bytes, this.now());
  }

  downloaded(remote: RemoteKey, bytes: number): void {
    this.choker.downloaded(remote, bytes, this.now());
  }

  refusedBy(remote: RemoteKey): void {
    this.choker.refusedBy(remote, this.now());
  }

  /** A peer left the swarm: forget it and hand its place to a waiter. */
  forget(remote: RemoteKey): void {
    this.choker.forget(remote);
    // its connections are gone or going: they no longer hold a place under the cap
    this.serving.delete(remote);
    this.vacancy();
  }

  /** An upload to `remote` stalled and was cut (src/peer/uploader.ts): not receiving, so its slot goes to a waiter now. */
  stalled(remote: RemoteKey): void {
    this.forget(remote);
  }

  status(): ChokerStatus {
    const now = this.now();
    const waitingBy = new Map<RemoteKey, number>();
    for (const w of this.waiters) waitingBy.set(w.remote, (waitingBy.get(w.remote) ?? 0) + 1);
    return {
      round: this.choker.round,
      mode: this.choker.mode,
      uploadSlots: this.choker.options.uploadSlots,
      unchoked: this.choker.unchoked(),
      optimistic: this.choker.optimisticPeer,
      peers: this.choker.status(now).map((p) => ({ ...p, serving: this.serving.get(p.remote) ?? 0, waiting: waitingBy.get(p.remote) ?? 0 })),
    };
  }

  /** Distinct peers being served now (never above the choker's places()). */
  servingPeers(): number {
    return this.serving.size;
  }

  private tick(): void {
    if (!this.running) return;
    // schedule first: a throwing onRound observer must not stop the rounds
    this.roundTimer = this.timers.setTimeout(() => this.tick(), this.choker.options.rechokeIntervalMs);
    this.rechoke();
  }

  /** A place may have fallen free: held requests first (best priority first), then the observer. */
  private vacancy(): void {
    this.wakeWaiters();
    if (this.onVacancy && this.serving.size < this.choker.places()) {
      const claimants = this.choker.claimants(this.now());
      if (claimants.length > 0) this.onVacancy(claimants);
    }
  }

  /** Grants a place to every held request that may be served now, best priority first, then first come. */
  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const now = this.now();
    const order = this.waiters.map((w, i) => ({ w, i, p: this.choker.priority(w.remote, now) }));
    order.sort((a, b) => a.p - b.p || a.i - b.i);
    const granted = new Set<Waiter>();
    for (const { w } of order) {
      if (this.choker.admit(w.remote, now, this.serving)) {
        this.timers.clearTimeout(w.timer);
        granted.add(w);
        w.resolve(this.grant(w.remote, w.request));
      }
    }
    if (granted.size > 0) this.waiters = this.waiters.filter((w) => !granted.has(w));
  }

  /** Counts a request being served; the returned release is idempotent. */
  private grant(remote: RemoteKey, request?: { md5: string; part: number }): () => void {
    if (request) this.choker.gave(remote, request.md5, request.part, this.now());
    this.serving.set(remote, (this.serving.get(remote) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.serving.get(remote) ?? 1) - 1;
      if (n <= 0) this.serving.delete(remote);
      else this.serving.set(remote, n);
      this.vacancy();
    };
  }
}
