/**
 * The choker's edge: implements the `UploadAdmission` and `TrafficRecorder` seams
 * (src/peer/bandwidth.ts) on top of the pure `Choker`, and owns its timers (the
 * re-choke round every 10 s, the bounded wait of a choked request). Clock, random
 * source and timer functions are injected so tests drive it round by round.
 *
 * The protocol has no choke message, so a RETP from a choked peer waits up to
 * `admissionWaitMs` (2 s) for a slot, either at a round or when a slot falls
 * empty; then `admit` resolves null and the uploader closes without a reply.
 * Hard cap: at most `uploadSlots + 1` distinct peers are being served at once
 * (a peer choked mid-part finishes that part first; see `mayServe`).
 *
 * Usage (one per peer process, shared by every connection):
 *   const choker = new ChokerService({ uploadSlots: 4 });
 *   choker.start();                       // first round now, then every 10 s
 *   uploader gets `choker` as UploadAdmission, transfers get it as TrafficRecorder
 *   choker.status()                       // for the dashboard / --json
 *   choker.stop();                        // on shutdown: timers cleared, waiters get null
 */
import type { RemoteKey, TrafficRecorder, UploadAdmission } from '../bandwidth.js';
import { Choker, type ChokerOptions, type PeerStatus, type RoundResult } from './choker.js';
import type { ChokeMode } from './ranking.js';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // the choker alone must never keep a process alive
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ChokerServiceOptions extends Partial<ChokerOptions> {
  /** How long a choked request waits for a slot before `admit` resolves null. Default 2000 ms. */
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
  private readonly serving = new Map<RemoteKey, number>();
  private waiters: Waiter[] = [];
  private roundTimer: unknown = null;
  private running = false;
  private stopped = false;

  constructor(options: ChokerServiceOptions = {}) {
    const { admissionWaitMs = 2000, now, random, timers, mode, onRound, ...chokerOptions } = options;
    if (!(admissionWaitMs >= 0)) throw new RangeError(`admissionWaitMs must be >= 0, got ${admissionWaitMs}`);
    this.choker = new Choker(chokerOptions, random ?? Math.random);
    this.admissionWaitMs = admissionWaitMs;
    this.now = now ?? (() => performance.now());
    this.timers = timers ?? realTimers;
    this.mode = mode;
    this.onRound = onRound;
  }

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

  /** Re-chokes now (the timer calls this; tests and a dashboard button may too). */
  rechoke(): RoundResult {
    const now = this.now();
    const result = this.choker.roundAt(now, this.mode?.());
    this.onRound?.(result);
    this.wakeWaiters();
    return result;
  }

  admit(remote: RemoteKey): Promise<(() => void) | null> {
    if (this.stopped) return Promise.resolve(null);
    const now = this.now();
    this.choker.requested(remote, now);
    if (this.mayServe(remote, now)) return Promise.resolve(this.grant(remote));
    return new Promise((resolve) => {
      const waiter: Waiter = { remote, resolve, timer: null };
      let waited = 0;
      const expire = (): void => {
        waited += this.admissionWaitMs;
        // Unchoked, only waiting for a peer choked mid-part to finish it: keep waiting
        // (bounded) rather than make it ask again.
        if (!this.stopped && this.choker.isUnchoked(remote) && !this.mayServe(remote, this.now()) && waited < 4 * this.admissionWaitMs) {
          waiter.timer = this.timers.setTimeout(expire, this.admissionWaitMs);
          return;
        }
        this.waiters = this.waiters.filter((w) => w !== waiter);
        // last chance: a holder may have gone idle while we waited
        resolve(!this.stopped && this.mayServe(remote, this.now()) ? this.grant(remote) : null);
      };
      waiter.timer = this.timers.setTimeout(expire, this.admissionWaitMs);
      this.waiters.push(waiter);
    });
  }

  uploaded(remote: RemoteKey, bytes: number): void {
    this.choker.uploaded(remote, bytes, this.now());
  }

  downloaded(remote: RemoteKey, bytes: number): void {
    this.choker.downloaded(remote, bytes, this.now());
  }

  /** A peer left the swarm: forget it and hand its slot to a waiter. */
  forget(remote: RemoteKey): void {
    this.choker.forget(remote);
    // its connections are gone or going: they no longer hold a place under the cap
    this.serving.delete(remote);
    this.wakeWaiters();
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

  private readonly busy = (remote: RemoteKey): boolean => (this.serving.get(remote) ?? 0) > 0;

  /**
   * Unchoked (or takes an empty slot), and the cap holds: at most
   * `uploadSlots + 1` distinct peers are served at once. A peer choked by a round
   * finishes the part it is being sent (never cut mid-part), so a newly unchoked
   * peer waits for that part to end rather than pushing the count above the cap.
   */
  private mayServe(remote: RemoteKey, now: number): boolean {
    if (!this.choker.claimVacancy(remote, now, this.busy)) return false;
    return this.busy(remote) || this.serving.size < this.choker.options.uploadSlots + 1;
  }

  /** Distinct peers being served now (never above uploadSlots + 1). */
  servingPeers(): number {
    return this.serving.size;
  }

  private tick(): void {
    if (!this.running) return;
    // schedule first: a throwing onRound observer must not stop the rounds
    this.roundTimer = this.timers.setTimeout(() => this.tick(), this.choker.options.rechokeIntervalMs);
    this.rechoke();
  }

  /** Grants a slot to every waiter that is unchoked now or can take an empty slot, first come first served. */
  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const now = this.now();
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.mayServe(w.remote, now)) {
        this.timers.clearTimeout(w.timer);
        w.resolve(this.grant(w.remote));
      } else {
        still.push(w);
      }
    }
    this.waiters = still;
  }

  /** Counts a request being served; the returned release is idempotent. */
  private grant(remote: RemoteKey): () => void {
    this.serving.set(remote, (this.serving.get(remote) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.serving.get(remote) ?? 1) - 1;
      if (n <= 0) this.serving.delete(remote);
      else this.serving.set(remote, n);
      // a holder that went idle meanwhile frees its slot for a waiter
      this.wakeWaiters();
    };
  }
}
