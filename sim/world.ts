/** The simulator's configuration, and what every simulated peer shares (the "world"). */
import type { ChokerOptions } from '../src/peer/choke/options.js';
import type { PollPolicyOptions } from '../src/peer/poll-policy.js';
import type { EventQueue } from './events.js';
import type { FluidNetwork } from './network.js';
import type { SimPeer } from './peer.js';
import { PEER_DOWNLOAD, type WireSizes } from './real.js';
import type { Series } from './stats.js';
import type { SimTracker, TrackerBudget } from './tracker.js';

export interface PeerSpec {
  /** Upload capacity, bytes/s (a free rider's is unused). */
  readonly up: number;
  /** Download capacity, bytes/s; Infinity = unlimited. */
  readonly down: number;
  /** When it joins, ms. */
  readonly arriveAt: number;
  /** Holds the whole file from the start (and ADDs it). */
  readonly seed?: boolean;
  /** Never uploads (a peer run with --no-upload). */
  readonly freeRider?: boolean;
  /** Leaves this long after it completes; absent: stays to the end. */
  readonly seedTimeMs?: number;
  /** Leaves at this time whatever it holds (a seed that leaves early). */
  readonly leaveAt?: number;
}

export interface DownloadModel {
  readonly maxPerOwner: number;
  readonly maxInFlight: number;
  readonly randomFirst: number;
  readonly endgameCopies: number;
  readonly endgameParts: number;
  readonly maxBackoffMs: number;
  /** Share of the parts cross-checked against a second owner (heal.ts; 0: none). */
  readonly crossCheckShare: number;
}

export interface SimConfig {
  readonly fileSize: number;
  readonly partLength: number;
  readonly peers: readonly PeerSpec[];
  /** One-way latency between any two hosts (and to the tracker), ms. */
  readonly latencyMs: number;
  /** Extra cost of each new connection (accept, process start of a request), ms. */
  readonly setupMs: number;
  /**
   * How long a message waits behind our own uploads in a busy uplink's queue, ms:
   * bench:swarm --netns --limit-mode tc shapes each uplink with a tbf whose queue
   * holds up to 100 ms (scripts/lib/netns.ts tbfArgs), and TCP keeps it full.
   * 0: no queue (the fluid rate alone).
   */
  readonly uplinkQueueMs: number;
  /**
   * A downloader's start-up, ms: from its process being spawned (its arrival, where
   * its time is counted from) to its first request (LOGI). bench:swarm counts
   * from the spawn of nine Node processes on two cores: its S1 last 1.25 × D_min
   * is 1.18 by each peer's own clock, 1.8 s of start-up (README, S1 table).
   * Seeds are started and ready before the clock starts. Absent: 0.
   */
  readonly startupMs?: number;
  readonly tracker: TrackerBudget & { readonly maxHolders: number };
  /** FCHU polling: fixed at minMs, or adaptive (src/peer/poll-policy.ts). */
  readonly poll: PollPolicyOptions & { readonly adaptive: boolean };
  readonly download: DownloadModel;
  readonly choker: Partial<ChokerOptions> & { readonly admissionWaitMs: number };
  /** The idempotent LOGI every this long (0: none), as src/peer/index.ts. */
  readonly refreshMs: number;
  /** A complete peer's FCHU every this long for its choker (0: none), as src/peer/index.ts. */
  readonly swarmWatchMs: number;
  readonly seed: number;
  /** Simulated time limit, ms. */
  readonly limitMs: number;
  /** Width of the time series' bins, ms. */
  readonly binMs: number;
}

/** The peer's own defaults (src/peer/config.ts PEER_DEFAULTS). */
export const DOWNLOAD_DEFAULTS: DownloadModel = {
  maxPerOwner: PEER_DOWNLOAD.maxPerOwner,
  maxInFlight: PEER_DOWNLOAD.maxInFlight,
  randomFirst: PEER_DOWNLOAD.randomFirst,
  endgameCopies: PEER_DOWNLOAD.endgameCopies,
  endgameParts: PEER_DOWNLOAD.endgameParts,
  maxBackoffMs: PEER_DOWNLOAD.maxBackoffMs,
  crossCheckShare: PEER_DOWNLOAD.crossCheckShare,
};

export interface World {
  readonly config: SimConfig;
  readonly q: EventQueue;
  readonly net: FluidNetwork;
  readonly random: () => number;
  readonly tracker: SimTracker;
  readonly sizes: WireSizes;
  readonly fileSize: number;
  readonly partLength: number;
  readonly parts: number;
  readonly md5: string;
  readonly peers: readonly SimPeer[];
  readonly byIp: ReadonlyMap<string, SimPeer>;
  partBytes(part: number): number;
  /** Bytes moved for nothing: endgame duplicates, transfers cut off. */
  wasted: number;
  /** Bytes fetched again to cross-check a part (heal.ts). */
  checked: number;
  choked: number;
  servedFromHold: number;
  picks: number;
  readonly delivered: Series;
  completed(peer: SimPeer): void;
  departed(peer: SimPeer): void;
}
