/**
 * Everything a peer can be told, with every default written once. `startPeer`
 * takes a `PeerSettings` (any subset); `peerConfig` fills in the rest. The CLI,
 * the tests, the benchmarks and the demo all build a peer through this one type,
 * so a default cannot differ between them.
 */
import type { Logger } from '../log.js';
import { DEFAULT_PART_LENGTH, DEFAULT_PEER_PORT } from '../protocol/index.js';
import type { GuardLimits } from '../net/guard.js';
import { DEFAULT_TTL } from './flood/plan.js';
import { DEFAULT_LISTENER_LIMITS } from './listener.js';
import { DEFAULT_MIN_RATE, DEFAULT_STALL_FLOOR_MS } from './uploader.js';
import { DEFAULT_QUERY_WAIT_MS } from './flood/service.js';

export interface PeerConfig {
  /** The tracker: host (name or IP literal) and port. */
  readonly tracker: { readonly host: string; readonly port: number };
  /** Announced, listened on and connected from. Absent: the first non-internal address, else loopback. */
  readonly ip4?: string | undefined;
  readonly ip6?: string | undefined;
  /** Port for other peers; 0 picks a free one (the same on both addresses). */
  readonly port: number;
  /** Download folder (created if missing). */
  readonly dir: string;
  /** LenPart for files this peer shares. */
  readonly partSize: number;
  /** Upload chunk size (AREP Lenchunk). */
  readonly chunkSize: number;

  // Bandwidth and choking.
  /** Bytes/s, 0 = unlimited, shared by every upload. */
  readonly upRate: number;
  /** Bytes/s, 0 = unlimited, shared by every download. */
  readonly downRate: number;
  /** Never serve anybody (a free rider, for benchmarks). */
  readonly noUpload: boolean;
  /** Peers served at once by tit-for-tat; one optimistic slot comes on top. */
  readonly uploadSlots: number;
  /**
   * Parts one peer is sent at once (Infinity = no limit). Measured with 2 on
   * bench:swarm --netns S1: no change in first-part latency or finish times.
   */
  readonly partsPerPeer: number;
  /**
   * An upload whose reader stalls is cut: a part may take its reader
   * max(uploadStallFloorMs, part / uploadMinRate) in all.
   */
  readonly uploadStallFloorMs: number;
  readonly uploadMinRate: number;
  /** A client whose upload stalled gets no uploads for this long. */
  readonly stallPenaltyMs: number;
  /** Incoming connections: per client (both families), in all, and their deadlines. */
  readonly connections: GuardLimits;

  // Downloads.
  /** FCHU polling period while downloading, while the answers bring news (poll-policy.ts). */
  readonly pollMs: number;
  /** The longest FCHU period once answers bring nothing new (the policy doubles up to it). */
  readonly pollMaxMs: number;
  /** An owner that sends nothing for this long is given up on. */
  readonly stallMs: number;
  readonly connectTimeoutMs: number;
  /** Parts in flight per owner and per download. */
  readonly maxPerOwner: number;
  readonly maxInFlight: number;
  /** Parts picked at random before rarest-first takes over. */
  readonly randomFirst: number;
  /** Requests per part at most in the endgame. */
  readonly endgameCopies: number;
  /** Missing parts at most for the endgame (duplicate requests) to begin. */
  readonly endgameParts: number;
  /** How long `get` waits for an md5 to appear at the tracker before it is an error. */
  readonly findTimeoutMs: number;
  /** Longest back-off of a faulty owner. */
  readonly maxBackoffMs: number;
  /**
   * Cross-check at most this share of a file's parts against a second owner
   * while downloading (catches lying uploaders early); 0 = never (the whole-file
   * md5 still finds and heals wrong parts at the end).
   */
  readonly crossCheckShare: number;

  // Tracker session.
  /** Refresh the session (an idempotent LOGI) this often so the tracker knows we are alive; 0 = never. */
  readonly refreshMs: number;
  /** While seeding, ask FCHU for each complete shared file this often (who is in the swarm); 0 = never. */
  readonly swarmWatchMs: number;
  /** When the tracker refuses our logout, ask again this often (`leave`). */
  readonly logoutRetryMs: number;

  // Flooding search.
  /** Peers to flood queries to, besides those met in holder lists. */
  readonly neighbors: readonly { readonly host: string; readonly port: number }[];
  readonly ttl: number;
  readonly queryWaitMs: number;

  /** Serve Prometheus metrics here; null = off. Port 0 picks a free one. */
  readonly metrics: { readonly host: string; readonly port: number } | null;

  readonly log: Logger;
  /** Randomness of the picker (tests pin it). Default: crypto-strong. */
  readonly random?: (() => number) | undefined;
}

/** What may be left out of a PeerConfig. */
export type PeerSettings = Partial<Omit<PeerConfig, 'tracker' | 'log'>> & Pick<PeerConfig, 'tracker' | 'log'>;

export const PEER_DEFAULTS = {
  port: DEFAULT_PEER_PORT,
  dir: '.',
  partSize: DEFAULT_PART_LENGTH,
  chunkSize: 4096,
  upRate: 0,
  downRate: 0,
  noUpload: false,
  uploadSlots: 4,
  partsPerPeer: Infinity,
  uploadStallFloorMs: DEFAULT_STALL_FLOOR_MS,
  uploadMinRate: DEFAULT_MIN_RATE,
  stallPenaltyMs: 30_000,
  connections: DEFAULT_LISTENER_LIMITS,
  pollMs: 1000,
  pollMaxMs: 8000,
  stallMs: 10_000,
  connectTimeoutMs: 5000,
  maxPerOwner: 4,
  maxInFlight: 12,
  randomFirst: 4,
  endgameCopies: 2,
  endgameParts: 4,
  findTimeoutMs: 10_000,
  // The choker re-decides every 10 s: a refused owner is worth asking again within that.
  maxBackoffMs: 10_000,
  // 3 % of the parts: on a clean swarm that is the whole extra traffic (bench/heal.ts measures it).
  crossCheckShare: 0.03,
  refreshMs: 15_000,
  // Who is complete and who never uploads, as the choker learns it from holder lists: worth knowing soon.
  swarmWatchMs: 3000,
  logoutRetryMs: 5000,
  neighbors: [] as readonly { host: string; port: number }[],
  ttl: DEFAULT_TTL,
  queryWaitMs: DEFAULT_QUERY_WAIT_MS,
  metrics: null as PeerConfig['metrics'],
} satisfies Omit<PeerConfig, 'tracker' | 'log' | 'ip4' | 'ip6' | 'random'>;

/** Fills in every default; an explicit value (0 included) is kept as given. */
export function peerConfig(settings: PeerSettings): PeerConfig {
  const out: Record<string, unknown> = { ...PEER_DEFAULTS };
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) out[k] = v;
  return out as unknown as PeerConfig;
}

/** The download tuning a PeerConfig implies. */
export type DownloadTuning = Pick<
  PeerConfig,
  'pollMs' | 'pollMaxMs' | 'stallMs' | 'connectTimeoutMs' | 'maxPerOwner' | 'maxInFlight' | 'randomFirst' | 'endgameCopies' | 'endgameParts' | 'findTimeoutMs' | 'maxBackoffMs' | 'crossCheckShare'
>;
