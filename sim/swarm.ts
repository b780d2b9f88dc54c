/** Runs one simulated swarm to the end and gathers its figures. */
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../scripts/lib/random.js';
import { countParts, partCountOf } from '../src/protocol/index.js';
import { EventQueue } from './events.js';
import { FluidNetwork } from './network.js';
import { SimPeer } from './peer.js';
import { dMinSeconds, newRegistry, wireSizes } from './real.js';
import { Series, type Spread, spreadOf } from './stats.js';
import { SimTracker, type TrackerKind } from './tracker.js';
import type { SimConfig, World } from './world.js';

export interface PeerOutcome {
  readonly index: number;
  readonly role: 'seed' | 'leecher' | 'free-rider';
  readonly arriveAt: number;
  /** Seconds from arrival to the last part, null if it never completed. */
  readonly seconds: number | null;
  readonly uploaded: number;
  readonly downloaded: number;
  /** Parts it held at the end (every one of them for a peer that completed). */
  readonly partsHeld: number;
}

export interface SimResult {
  readonly peers: readonly PeerOutcome[];
  /** Leechers (free riders apart), seconds. */
  readonly leechers: Spread;
  readonly freeRiders: Spread | null;
  readonly incomplete: number;
  /** The fluid bound, seconds (for the peers present from the start; see the README for arrivals). */
  readonly dMin: number;
  readonly endSeconds: number;
  readonly wastedBytes: number;
  /** Cross-check copies (heal.ts), bytes. */
  readonly checkedBytes: number;
  readonly deliveredBytes: number;
  readonly choked: number;
  /** Requests held for a place (admissionWaitMs) and served when one freed. */
  readonly servedFromHold: number;
  readonly picks: number;
  readonly tracker: {
    readonly requests: number;
    readonly bytesOut: number;
    readonly byKind: Record<string, number>;
    readonly peakRequestsPerSec: number;
    readonly meanRequestsPerSec: number;
    readonly peakBytesPerSec: number;
    readonly meanBytesPerSec: number;
    readonly maxQueueMs: number;
  };
  readonly series: { readonly binMs: number; readonly delivered: number[]; readonly trackerRequests: number[]; readonly trackerBytes: number[] };
  readonly parts: number;
  readonly events: number;
  readonly wallSeconds: number;
  /** CPU time of this process (the machine is shared: wall time says little). */
  readonly cpuSeconds: number;
  /** Events per CPU second. */
  readonly eventsPerSecond: number;
}

function addressOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** How far a run has got (for `--progress`: long runs can be timed and extrapolated). */
export interface SimProgress {
  readonly simulatedSeconds: number;
  readonly events: number;
  readonly cpuSeconds: number;
  /** Downloaders still waiting to complete. */
  readonly waiting: number;
  /** Requests refused so far (closed unanswered: ~3 events each, most of a big swarm's). */
  readonly refused: number;
  /** Events waiting in the queue (cancelled ones included until they reach its top). */
  readonly queued: number;
}

/** `onProgress` is told every `everyEvents` events; it schedules nothing, so the run is the same with or without it. */
export function simulate(config: SimConfig, onProgress?: (p: SimProgress) => void, everyEvents = 500_000): SimResult {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  if (config.peers.length > 1 << 24) throw new RangeError('at most 2^24 peers');
  const q = new EventQueue();
  const random = seededRandom(config.seed);
  const trackerRandom = seededRandom(config.seed ^ 0x5eed);
  const net = new FluidNetwork(q);
  const parts = partCountOf(config.fileSize, config.partLength);
  const registry = newRegistry(() => q.now, trackerRandom, config.tracker.maxHolders);
  const tracker = new SimTracker(q, registry, config.tracker, config.latencyMs, config.binMs);
  const peers: SimPeer[] = [];
  const byIp = new Map<string, SimPeer>();
  let waiting = config.peers.filter((p) => !p.seed).length;
  const world: World = {
    config,
    q,
    net,
    random,
    tracker,
    sizes: wireSizes(parts),
    fileSize: config.fileSize,
    partLength: config.partLength,
    parts,
    md5: 'd41d8cd98f00b204e9800998ecf8427e',
    peers,
    byIp,
    partBytes: (p) => Math.min(config.partLength, config.fileSize - p * config.partLength),
    wasted: 0,
    checked: 0,
    choked: 0,
    servedFromHold: 0,
    picks: 0,
    delivered: new Series(config.binMs),
    completed(peer) {
      waiting--;
      if (peer.spec.seedTimeMs !== undefined) q.after(peer.spec.seedTimeMs, () => peer.leave());
    },
    departed(peer) {
      if (!peer.complete && !peer.spec.seed) waiting--;
    },
  };
  config.peers.forEach((spec, i) => {
    const peer = new SimPeer(i, spec, net.host(spec.freeRider ? 0 : spec.up, spec.down), addressOf(i), world);
    peers.push(peer);
    byIp.set(peer.ip4, peer);
    q.at(spec.arriveAt + (spec.seed ? 0 : (config.startupMs ?? 0)), () => peer.arrive());
  });
  let reported = 0;
  q.run(config.limitMs, () => {
    if (onProgress && q.processed - reported >= everyEvents) {
      reported = q.processed;
      const c = process.cpuUsage(cpu0);
      onProgress({ simulatedSeconds: q.now / 1000, events: q.processed, cpuSeconds: (c.user + c.system) / 1e6, waiting, refused: world.choked, queued: q.size });
    }
    return waiting <= 0;
  });
  const endMs = q.now;
  // let the last RPADs reach the tracker (their replies change nothing)
  q.run(Math.min(config.limitMs, endMs + 1000));
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

  const outcomes: PeerOutcome[] = peers.map((p) => ({
    index: p.index,
    role: p.spec.seed ? 'seed' : p.spec.freeRider ? 'free-rider' : 'leecher',
    arriveAt: p.spec.arriveAt,
    seconds: p.doneAt === null || p.spec.seed ? null : (p.doneAt - p.spec.arriveAt) / 1000,
    uploaded: p.uploaded,
    downloaded: p.downloaded,
    partsHeld: countParts(p.have),
  }));
  const times = (role: PeerOutcome['role']): number[] => outcomes.filter((o) => o.role === role && o.seconds !== null).map((o) => o.seconds as number);
  const seeds = config.peers.filter((p) => p.seed);
  const others = config.peers.filter((p) => !p.seed);
  const dMin = dMinSeconds(
    config.fileSize,
    seeds.reduce((s, p) => s + p.up, 0),
    others.map((p) => (p.freeRider ? 0 : p.up)),
    others.map((p) => (p.down === Infinity ? 0 : p.down)),
  );
  const byKind: Record<string, number> = {};
  for (const [k, v] of tracker.byKind) byKind[k as TrackerKind] = v;
  const endSeconds = endMs / 1000;
  const span = Math.max(endSeconds, 1e-9);
  const fr = times('free-rider');
  return {
    peers: outcomes,
    leechers: spreadOf(times('leecher')),
    freeRiders: fr.length > 0 ? spreadOf(fr) : null,
    incomplete: outcomes.filter((o) => o.role !== 'seed' && o.seconds === null).length,
    dMin,
    endSeconds,
    wastedBytes: world.wasted,
    checkedBytes: world.checked,
    deliveredBytes: world.delivered.total(),
    choked: world.choked,
    servedFromHold: world.servedFromHold,
    picks: world.picks,
    tracker: {
      requests: tracker.requests.total(),
      bytesOut: tracker.bytesOut.total(),
      byKind,
      peakRequestsPerSec: tracker.requests.peakPerSecond(),
      meanRequestsPerSec: tracker.requests.total() / span,
      peakBytesPerSec: tracker.bytesOut.peakPerSecond(),
      meanBytesPerSec: tracker.bytesOut.total() / span,
      maxQueueMs: tracker.maxQueueMs,
    },
    series: { binMs: config.binMs, delivered: world.delivered.perSecond(), trackerRequests: tracker.requests.perSecond(), trackerBytes: tracker.bytesOut.perSecond() },
    parts,
    events: q.processed,
    wallSeconds,
    cpuSeconds,
    eventsPerSecond: q.processed / Math.max(cpuSeconds, 1e-9),
  };
}
