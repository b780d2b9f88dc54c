/**
 * Everything a peer process plugs into the bandwidth seams, built from its
 * command-line settings in one call:
 *
 *   const bw = createBandwidthPolicy({ upRate: parseRate(o.upRate), downRate: parseRate(o.downRate), noUpload: o.noUpload, log });
 *   new Peer({ ..., upThrottle: bw.upThrottle, admission: bw.admission, traffic: bw.traffic });
 *   // downloads: bw.downThrottle (consume each received chunk)
 *   bw.start();   // after the listener is up: first re-choke round, then every 10 s
 *   bw.stop();    // on shutdown
 *   bw.status();  // per-remote bytes, rates and choke state (dashboard, --json)
 */
import type { Logger } from '../../log.js';
import type { RemoteKey, TrafficRecorder, UploadAdmission } from '../bandwidth.js';
import { type ChokerServiceOptions, type ChokerStatus, ChokerService, realTimers } from '../choke/service.js';
import type { RefusalReason } from '../choke/choker.js';
import { RateMeter } from '../choke/rate-meter.js';
import { type HolderAddress, SwarmIdentity } from './identity.js';
import { SeedSpread } from './spread.js';
import { type RateLimiter, createThrottle } from './throttle.js';

/** A free rider: every upload request is refused (the uploader closes without a reply). */
export const REFUSE_ALL: UploadAdmission = { admit: () => Promise.resolve(null) };

export interface BandwidthSettings {
  /** Bytes/s, 0 = unlimited. Shared by every upload connection. */
  upRate: number;
  /** Bytes/s, 0 = unlimited. Shared by every download connection. */
  downRate?: number;
  /** Never serve anybody (free rider, for benchmarks). */
  noUpload?: boolean;
  /** Choker tuning (uploadSlots, admissionWaitMs, ...) and injected clock/timers. */
  choker?: ChokerServiceOptions;
  /** Logs each re-choke round at debug level. */
  log?: Logger;
  /** Our own IPv4 (never counted as a remote). */
  self?: string;
  /**
   * Seed spreading (spread.ts): the part count of files we share as their source,
   * null for others. Absent: off.
   */
  origin?: (md5: string) => number | null;
  /** How long a request turned away by seed spreading is held before the close. Default SPREAD_HOLD_MS (0). */
  spreadHoldMs?: number;
  /**
   * Whether we still download anything: false switches the choker to seeding
   * at once. Absent: seeding once nothing came in for 3 s (choker `seedingAfterMs`).
   */
  downloading?: () => boolean;
  /** Part count of a file (for "this holder is complete"); absent or null: only files we are the source of. */
  parts?: (md5: string) => number | null;
}

/**
 * How long a request that finds every place taken is held for one (served the
 * moment a place frees, best priority first) before the close without a reply,
 * unless `choker.admissionWaitMs` says otherwise. The protocol has no "unchoke"
 * message: refused at once, the asker came back 0.3–0.6 s later and the place
 * stood idle meanwhile; held, the next part starts as the last one ends.
 * Simulated (npm run sim, 6 seeds, with the small-swarm poll of poll-policy.ts):
 * s1 last/mean 1.16/1.11 -> 1.12/1.09 × D_min, s2 1.09/1.04 -> 1.07/1.04; a
 * 100-peer flash crowd last 1.18 -> 1.13 but median 1.06 -> 1.11. Longer holds
 * spread finishes evenly (at 1 s, s2's mean went to 1.09, the flash median to
 * 1.14): a held asker waits in turn where it could have found another owner.
 * Our downloader reads the close without a byte as "choked" either way.
 */
export const REFUSAL_HOLD_MS = 250;
/** How long a request turned away by seed spreading is held before its close (no place will come of it). */
export const SPREAD_HOLD_MS = 0;

export interface BandwidthPolicy {
  upThrottle: RateLimiter;
  downThrottle: RateLimiter;
  admission: UploadAdmission;
  traffic: TrafficRecorder;
  choker: ChokerService;
  /** Remote IPv6 -> IPv4 aliases and departures, learned from holder lists. */
  identity: SwarmIdentity;
  /**
   * Feed every FCHU answer here (with its md5): learns each owner's ip4+ip6 so
   * a remote connecting over IPv6 counts as the same peer as over IPv4, and makes
   * the choker forget peers gone from every list. Returns the forgotten keys.
   */
  learnHolders(md5: string, holders: readonly (HolderAddress & { bitmap?: Uint8Array })[], parts?: number): string[];
  start(): void;
  stop(): void;
  status(): BandwidthStatus;
}

export interface BandwidthStatus extends ChokerStatus {
  /** Limits, bytes/s (0 = unlimited). */
  upRate: number;
  downRate: number;
  noUpload: boolean;
  /** Every byte since start, all remotes (forgotten ones included). */
  uploaded: number;
  downloaded: number;
  /** Bytes/s over the last 5 s, all remotes. */
  uploadRate: number;
  downloadRate: number;
  /** Distinct peers being sent a part right now (at most `places`). */
  servingPeers: number;
  /** Peers that may be served at once (uploadSlots + 1, more when measured use says so). */
  places: number;
  /** Requests refused since start. */
  refused: number;
}

/** The debug line of each refusal (tests and bench:swarm read them). */
const REFUSAL_MESSAGES: Readonly<Record<RefusalReason, string>> = {
  full: 'request refused: no free place',
  parallel: 'request refused: no further part in parallel while others want parts',
  'free-rider': 'request refused: a free rider is served only while no contributor is',
};

/** Window of the overall rates in status(). */
const TOTAL_RATE_WINDOW_MS = 5000;

export function createBandwidthPolicy(settings: BandwidthSettings): BandwidthPolicy {
  const { log } = settings;
  const downloading = settings.downloading;
  // No `capacity`: adding places when the uplink looks under-used (choker.ts followCapacity)
  // also fires when the CPU, not the peers, is slow (measured on a loaded machine), and the
  // bound of uploadSlots + 1 served peers is a promise (test/bandwidth/slots.test.ts).
  const choker = new ChokerService({
    admissionWaitMs: REFUSAL_HOLD_MS,
    ...(downloading ? { mode: () => (downloading() ? 'downloading' : 'seeding') } : {}),
    ...settings.choker,
    onRound: (r) => {
      settings.choker?.onRound?.(r);
      if (r.unchokedNow.length || r.chokedNow.length) {
        log?.debug({ round: r.round, mode: r.mode, regular: r.regular, optimistic: r.optimistic, unchoked: r.unchokedNow, choked: r.chokedNow }, 'rechoke');
      }
    },
    // Work conservation, visible: a refusal happens only with every place in use or kept for a claimant ahead
    // (or, for a further part in parallel, while others want parts).
    onRefuse: (remote, serving, places, reserved, reason) => {
      settings.choker?.onRefuse?.(remote, serving, places, reserved, reason);
      log?.debug({ remote, serving, places, reserved }, REFUSAL_MESSAGES[reason]);
    },
  });
  const upThrottle = createThrottle({ rate: settings.upRate });
  const downThrottle = createThrottle({ rate: settings.downRate ?? 0 });
  const noUpload = Boolean(settings.noUpload);
  const identity = new SwarmIdentity();
  const spread = settings.origin ? new SeedSpread(settings.origin) : null;
  const holdMs = settings.spreadHoldMs ?? SPREAD_HOLD_MS;
  // On the choker's timers (injected ones in tests); no hold at all refuses at once, as the
  // choker's admissionWaitMs 0 does: an unref'd 0 ms timer let a test's event loop end
  // before the refusal arrived (1 run in ~60 of work-conserving.test.ts).
  const timers = settings.choker?.timers ?? realTimers;
  const hold = (): Promise<null> => (holdMs > 0 ? new Promise((resolve) => void timers.setTimeout(() => resolve(null), holdMs)) : Promise.resolve(null));
  const admission: UploadAdmission = {
    admit: async (remote, request) => {
      const who = key(remote);
      // Spreading is for contention only: a duplicate part is refused when serving it would
      // take the last free place; with places to spare the uplink would idle instead
      // (measured in netns: the seed idle while every leecher backed off a spreading refusal).
      if (spread && request && choker.servingPeers() >= choker.places() - 1 && spread.refuse(request.md5, request.part, who)) return hold();
      const release = await choker.admit(who, request);
      if (release && spread && request) spread.admitted(request.md5, request.part, who);
      return release;
    },
  };
  const key = (remote: RemoteKey): RemoteKey => identity.resolve(remote);
  const clock = settings.choker?.now ?? ((): number => performance.now());
  const started = clock();
  const upTotal = new RateMeter(TOTAL_RATE_WINDOW_MS);
  const downTotal = new RateMeter(TOTAL_RATE_WINDOW_MS);
  return {
    upThrottle,
    downThrottle,
    admission: noUpload ? REFUSE_ALL : admission,
    traffic: {
      uploaded: (remote: RemoteKey, bytes: number) => {
        upTotal.add(bytes, clock());
        choker.uploaded(key(remote), bytes);
      },
      downloaded: (remote: RemoteKey, bytes: number) => {
        downTotal.add(bytes, clock());
        choker.downloaded(key(remote), bytes);
      },
      refusedBy: (remote: RemoteKey) => choker.refusedBy(key(remote)),
    },
    choker,
    identity,
    learnHolders: (md5, holders, parts) => {
      const gone = identity.learn(md5, holders, settings.self);
      for (const k of gone) choker.forget(k);
      const count = parts ?? settings.parts?.(md5) ?? settings.origin?.(md5) ?? 0;
      const holdings = holders.filter((h) => h.bitmap !== undefined).map((h) => ({ remote: key(h.address.ip4), bitmap: h.bitmap! }));
      choker.holders(md5, count, holdings);
      if (gone.length) log?.debug({ md5, gone }, 'peers left the swarm; forgotten by the choker');
      return gone;
    },
    start: () => choker.start(),
    stop: () => choker.stop(),
    status: () => {
      const now = clock();
      return {
        ...choker.status(),
        upRate: upThrottle.rate,
        downRate: downThrottle.rate,
        noUpload,
        uploaded: upTotal.total,
        downloaded: downTotal.total,
        uploadRate: upTotal.rate(now, TOTAL_RATE_WINDOW_MS, started),
        downloadRate: downTotal.rate(now, TOTAL_RATE_WINDOW_MS, started),
        servingPeers: choker.servingPeers(),
        places: choker.places(),
        refused: choker.refused,
      };
    },
  };
}
