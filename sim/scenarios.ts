/**
 * The scenarios `npm run sim -- --scenario NAME` knows. Each builds a SimConfig
 * from a few knobs (peers, seed, bounded answers, poll policy, part length).
 * Rates are bytes/s; MiB = 2^20 bytes.
 */
import { seededRandom } from '../scripts/lib/random.js';
import { DEFAULT_POLL_POLICY } from '../src/peer/poll-policy.js';
import { DEFAULT_CHOKER_OPTIONS } from '../src/peer/choke/options.js';
import { PEER_DOWNLOAD, PEER_REFUSAL_HOLD_MS } from './real.js';
import { DOWNLOAD_DEFAULTS, type PeerSpec, type SimConfig } from './world.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface ScenarioKnobs {
  /** Peers besides the seed (the scenario's default when absent). */
  peers?: number;
  seed: number;
  /** Most holders per AFCH, 0 = all (the tracker's --max-holders). */
  maxHolders: number;
  adaptivePoll: boolean;
  /** Part length override (the default is the protocol's 256 KiB, or what the scenario says). */
  partLength?: number;
  /** File size override. */
  size?: number;
}

export interface Scenario {
  readonly name: string;
  readonly about: string;
  build(k: ScenarioKnobs): SimConfig;
}

interface Net {
  latencyMs: number;
  setupMs: number;
  uplinkQueueMs: number;
  /** A downloader's start-up from its spawn (world.ts `startupMs`). */
  startupMs: number;
}
/**
 * bench:swarm on loopback, rates limited in the peers (token buckets, no queue): next to no latency, a small cost per
 * connection; nine Node processes spawned together on two cores take 1.8 s to start (S1: last 1.25 × D_min from
 * spawn, 1.18 by each peer's own clock; bench:swarm's defaults: 1.23 and 1.20 of 53.7 s, 1.6 s).
 */
const LOOPBACK: Net = { latencyMs: 0.05, setupMs: 1, uplinkQueueMs: 0, startupMs: 1800 };
/**
 * bench:swarm --netns --limit-mode tc: veth pairs (next to no latency), and each
 * uplink shaped by a tbf whose queue holds up to 100 ms (scripts/lib/netns.ts
 * tbfArgs), kept full by the uploads' TCP.
 */
const NETNS_TC: Net = { ...LOOPBACK, uplinkQueueMs: 100 };
/**
 * More processes start slower on the same two cores. Each start-up is bench:swarm's own
 * figure for that scenario (README, S1 table: from spawn minus by own clock, × D_min):
 * S3, 11 processes: (1.30 - 1.23) × 32 s = 2.2 s; S2, 17 processes: (1.30 - 1.24) × 51.2 s = 3.1 s.
 */
const NETNS_TC_S3: Net = { ...NETNS_TC, startupMs: 2200 };
const NETNS_TC_S2: Net = { ...NETNS_TC, startupMs: 3100 };
/** A campus or data-centre network (no uplink queue modelled); one peer per machine starts in 0.3 s (measured alone), left out against runs of minutes. */
const WAN: Net = { latencyMs: 10, setupMs: 1, uplinkQueueMs: 0, startupMs: 0 };

function base(k: ScenarioKnobs, fileSize: number, peers: PeerSpec[], net: Net, partLength = 256 * KiB): SimConfig {
  fileSize = k.size ?? fileSize;
  const est = fileSize / Math.max(1, peers[0]!.up);
  return {
    fileSize,
    partLength: k.partLength ?? partLength,
    peers,
    ...net,
    // bench:tracker: ~9 500 FCHU/s on this machine; a 1 Gbit/s uplink
    tracker: { requestsPerSec: 9500, egressBytesPerSec: 125_000_000, maxHolders: k.maxHolders },
    // adaptive: the downloader's policy with its bounds (--poll-interval 1 s .. --poll-max 8 s); fixed: every 1 s
    poll: k.adaptivePoll
      ? { ...DEFAULT_POLL_POLICY, minMs: PEER_DOWNLOAD.pollMs, maxMs: PEER_DOWNLOAD.pollMaxMs, adaptive: true }
      : { ...DEFAULT_POLL_POLICY, minMs: PEER_DOWNLOAD.pollMs, jitter: 0, adaptive: false },
    download: DOWNLOAD_DEFAULTS,
    // the peer's: a refused request is held for a place, then closed (REFUSAL_HOLD_MS)
    choker: { ...DEFAULT_CHOKER_OPTIONS, admissionWaitMs: PEER_REFUSAL_HOLD_MS },
    refreshMs: PEER_DOWNLOAD.refreshMs,
    swarmWatchMs: PEER_DOWNLOAD.swarmWatchMs,
    seed: k.seed,
    limitMs: Math.max(600_000, 40 * est * 1000),
    binMs: 1000,
  };
}

const seed = (up: number, extra: Partial<PeerSpec> = {}): PeerSpec => ({ up, down: Infinity, arriveAt: 0, seed: true, ...extra });
const leecher = (up: number, down = Infinity, arriveAt = 0, extra: Partial<PeerSpec> = {}): PeerSpec => ({ up, down, arriveAt, ...extra });
const many = (n: number, f: (i: number) => PeerSpec): PeerSpec[] => Array.from({ length: n }, (_, i) => f(i));

/** Arrival times spread over `ms` by a seeded generator (independent of the run's own draws). */
function spreadArrivals(n: number, ms: number, seedValue: number): number[] {
  const next = seededRandom((seedValue * 2654435761) >>> 0);
  return Array.from({ length: n }, () => next() * ms);
}

function poissonArrivals(n: number, meanGapMs: number, seedValue: number): number[] {
  const u = spreadArrivals(n, 1, seedValue + 17);
  let t = 0;
  return u.map((x) => (t += -Math.log(1 - x) * meanGapMs));
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 's1',
    about: '32 MiB, 1 seed at 2 MiB/s, 8 leechers at 1 MiB/s up (bench:swarm --netns --limit-mode tc S1; D_min 25.6 s)',
    build: (k) => base(k, 32 * MiB, [seed(2 * MiB), ...many(k.peers ?? 8, () => leecher(MiB))], NETNS_TC),
  },
  {
    name: 's2',
    about: '64 MiB, 1 seed at 4 MiB/s, 16 leechers at 1 MiB/s up (D_min 51.2 s)',
    build: (k) => base(k, 64 * MiB, [seed(4 * MiB), ...many(k.peers ?? 16, () => leecher(MiB))], NETNS_TC_S2),
  },
  {
    name: 's3',
    about: 'S1 plus 2 free riders (D_min 32 s)',
    build: (k) => base(k, 32 * MiB, [seed(2 * MiB), ...many(k.peers ?? 8, () => leecher(MiB)), leecher(0, Infinity, 0, { freeRider: true }), leecher(0, Infinity, 0, { freeRider: true })], NETNS_TC_S3),
  },
  {
    name: 'bench-default',
    about: "bench:swarm's defaults: 32 MiB, seed 1 MB/s, 8 leechers at 500 kB/s (D_min 53.7 s)",
    build: (k) => base(k, 32 * MiB, [seed(1_000_000), ...many(k.peers ?? 8, () => leecher(500_000))], LOOPBACK),
  },
  {
    name: 'bench-default-fr',
    about: "bench:swarm's defaults with --free-riders 2 (D_min 67.1 s)",
    build: (k) => base(k, 32 * MiB, [seed(1_000_000), ...many(k.peers ?? 8, () => leecher(500_000)), leecher(0, Infinity, 0, { freeRider: true }), leecher(0, Infinity, 0, { freeRider: true })], LOOPBACK),
  },
  {
    name: 'flash',
    about: 'flash crowd: 10 000 peers join within 10 s for 1 GiB (16 MiB parts); seed 10 MiB/s, peers 1 MiB/s up, 4 MiB/s down, 10 ms latency',
    build: (k) => {
      const n = k.peers ?? 10_000;
      const at = spreadArrivals(n, 10_000, k.seed);
      return base(k, GiB, [seed(10 * MiB), ...many(n, (i) => leecher(MiB, 4 * MiB, at[i]))], WAN, 16 * MiB);
    },
  },
  {
    name: 'poisson',
    about: 'Poisson arrivals (one every 2 s on average) for 256 MiB (4 MiB parts); each peer seeds 60 s after completing, then leaves',
    build: (k) => {
      const n = k.peers ?? 300;
      const at = poissonArrivals(n, 2000, k.seed);
      return base(k, 256 * MiB, [seed(10 * MiB), ...many(n, (i) => leecher(MiB, 4 * MiB, at[i], { seedTimeMs: 60_000 }))], WAN, 4 * MiB);
    },
  },
  {
    name: 'freeriders',
    about: '50 % free riders: 100 peers for 64 MiB, half never upload; seed 4 MiB/s, contributors 1 MiB/s',
    build: (k) => {
      const n = k.peers ?? 100;
      return base(k, 64 * MiB, [seed(4 * MiB), ...many(n, (i) => (i % 2 === 0 ? leecher(MiB, 4 * MiB) : leecher(0, 4 * MiB, 0, { freeRider: true })))], WAN, 1 * MiB);
    },
  },
  {
    name: 'mix',
    about: 'bandwidth mix: 200 peers for 128 MiB, 1 in 10 fast (10 MiB/s both ways), the rest slow (256 KiB/s up, 2 MiB/s down)',
    build: (k) => {
      const n = k.peers ?? 200;
      return base(k, 128 * MiB, [seed(10 * MiB), ...many(n, (i) => (i % 10 === 0 ? leecher(10 * MiB, 10 * MiB) : leecher(256 * KiB, 2 * MiB)))], WAN, 1 * MiB);
    },
  },
  {
    name: 'seed-leaves',
    about: 'a seed that leaves early: 50 peers for 64 MiB; the seed (4 MiB/s) leaves after uploading the file twice over (32 s)',
    build: (k) => {
      const n = k.peers ?? 50;
      return base(k, 64 * MiB, [seed(4 * MiB, { leaveAt: 32_000 }), ...many(n, () => leecher(MiB, 4 * MiB))], WAN, 1 * MiB);
    },
  },
];

export function scenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
