/** The simulator end to end on tiny swarms: deterministic, complete, and its bound right. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dMinSeconds } from '../../sim/real.js';
import { scenario } from '../../sim/scenarios.js';
import { simulate } from '../../sim/swarm.js';
import { DOWNLOAD_DEFAULTS, type SimConfig } from '../../sim/world.js';
import { DEFAULT_CHOKER_OPTIONS } from '../../src/peer/choke/options.js';
import { DEFAULT_POLL_POLICY } from '../../src/peer/poll-policy.js';

const KiB = 1024;

function tiny(seed: number, over: Partial<SimConfig> = {}): SimConfig {
  return {
    fileSize: 2 * 1024 * KiB,
    partLength: 64 * KiB,
    peers: [
      { up: 512 * KiB, down: Infinity, arriveAt: 0, seed: true },
      ...Array.from({ length: 5 }, (_, i) => ({ up: 256 * KiB, down: 2048 * KiB, arriveAt: i * 100 })),
      { up: 0, down: Infinity, arriveAt: 0, freeRider: true },
    ],
    latencyMs: 1,
    setupMs: 1,
    uplinkQueueMs: 0,
    tracker: { requestsPerSec: 1000, egressBytesPerSec: 10_000_000, maxHolders: 0 },
    poll: { ...DEFAULT_POLL_POLICY, adaptive: false, jitter: 0 },
    download: DOWNLOAD_DEFAULTS,
    choker: { ...DEFAULT_CHOKER_OPTIONS, admissionWaitMs: 0 },
    refreshMs: 15_000,
    swarmWatchMs: 3000,
    seed,
    limitMs: 600_000,
    binMs: 1000,
    ...over,
  };
}

test('a tiny swarm completes: every peer, the free rider too, holds every part', () => {
  const r = simulate(tiny(1));
  assert.equal(r.incomplete, 0);
  assert.equal(r.parts, 32);
  for (const p of r.peers) assert.equal(p.partsHeld, r.parts, `peer ${p.index} (${p.role})`);
  assert.equal(r.leechers.n, 5);
  assert.ok(r.freeRiders && r.freeRiders.n === 1);
  // the last peer cannot beat the bound (single peers may), and every downloader moved at least the file
  assert.ok(Math.max(r.leechers.last, r.freeRiders!.last) >= r.dMin * 0.999, `${r.leechers.last} >= ${r.dMin}`);
  for (const p of r.peers) if (p.role !== 'seed') assert.ok(p.downloaded >= 2 * 1024 * KiB);
  // the tracker heard one RPAD per part per downloader
  assert.equal(r.tracker.byKind['RPAD'], 6 * 32);
  assert.equal(r.peers.find((p) => p.role === 'free-rider')!.uploaded, 0);
});

test('deterministic: the same seed gives the same run, another seed another run', () => {
  const a = simulate(tiny(7));
  const b = simulate(tiny(7));
  const c = simulate(tiny(8));
  const strip = (r: ReturnType<typeof simulate>) => ({ ...r, wallSeconds: 0, cpuSeconds: 0, eventsPerSecond: 0 });
  assert.deepEqual(strip(a), strip(b));
  assert.notDeepEqual(
    a.peers.map((p) => p.seconds),
    c.peers.map((p) => p.seconds),
  );
});

test('bounded answers: with maxHolders the tracker sends smaller AFCHs and the swarm still completes', () => {
  const all = simulate(tiny(3));
  const bounded = simulate(tiny(3, { tracker: { requestsPerSec: 1000, egressBytesPerSec: 10_000_000, maxHolders: 2 } }));
  assert.equal(bounded.incomplete, 0);
  assert.ok(bounded.tracker.bytesOut / bounded.tracker.byKind['FCHU']! < all.tracker.bytesOut / all.tracker.byKind['FCHU']!);
});

test('adaptive polling asks the tracker less than polling every second', () => {
  const fixed = simulate(tiny(4));
  // polled as a big swarm is (smallSwarm 0): the same floor as the fixed poll, and a known
  // holder's new parts are not news (in a small swarm they are, and it polls at the floor)
  const adaptive = simulate(tiny(4, { poll: { ...DEFAULT_POLL_POLICY, smallSwarm: 0, adaptive: true } }));
  assert.equal(adaptive.incomplete, 0);
  assert.ok(adaptive.tracker.byKind['FCHU']! < fixed.tracker.byKind['FCHU']!, `${adaptive.tracker.byKind['FCHU']} < ${fixed.tracker.byKind['FCHU']}`);
});

test('D_min for known cases: S1 25.6 s, S3 32 s, seed-bound and download-bound swarms', () => {
  const MiB = 1024 * 1024;
  assert.equal(dMinSeconds(32 * MiB, 2 * MiB, Array(8).fill(MiB), Array(8).fill(0)), 25.6);
  assert.equal(dMinSeconds(32 * MiB, 2 * MiB, [...Array(8).fill(MiB), 0, 0], Array(10).fill(0)), 32);
  // one leecher: the seed's uplink is the bound
  assert.equal(dMinSeconds(10 * MiB, MiB, [MiB], [0]), 10);
  // a slow downloader: its downlink is the bound
  assert.equal(dMinSeconds(10 * MiB, 10 * MiB, [10 * MiB, 10 * MiB], [MiB, 0]), 10);
  // the scenarios' own figures
  const s1 = scenario('s1')!.build({ seed: 1, maxHolders: 50, adaptivePoll: false });
  const s3 = scenario('s3')!.build({ seed: 1, maxHolders: 50, adaptivePoll: false });
  const dm = (c: SimConfig) => dMinSeconds(c.fileSize, c.peers[0]!.up, c.peers.slice(1).map((p) => (p.freeRider ? 0 : p.up)), c.peers.slice(1).map(() => 0));
  assert.equal(dm(s1), 25.6);
  assert.equal(dm(s3), 32);
});

test('a seed that leaves before anyone has a full copy leaves the swarm incomplete, and the run still ends', () => {
  const config = tiny(5);
  const peers = config.peers.map((p) => (p.seed ? { ...p, leaveAt: 500 } : p));
  const r = simulate({ ...config, peers, limitMs: 60_000 });
  assert.ok(r.incomplete > 0);
  assert.ok(r.endSeconds <= 60);
});

test('deterministic at scale too: a bounded flash crowd with adaptive polling gives the same run twice', () => {
  const build = () => scenario('flash')!.build({ peers: 30, seed: 9, maxHolders: 5, adaptivePoll: true, size: 8 * 1024 * KiB, partLength: 512 * KiB });
  const strip = (r: ReturnType<typeof simulate>) => ({ ...r, wallSeconds: 0, cpuSeconds: 0, eventsPerSecond: 0 });
  const a = simulate(build());
  assert.equal(a.incomplete, 0);
  assert.deepEqual(strip(a), strip(simulate(build())));
});

test("a busy uplink's queue (a tc shaper's) delays requests and replies: the same swarm finishes later", () => {
  // one seed, one leecher: every request waits behind the seed's busy queue, and nothing else changes
  const pair = (seed: number, uplinkQueueMs: number) => {
    const c = tiny(seed, { uplinkQueueMs });
    return simulate({ ...c, peers: c.peers.slice(0, 2) });
  };
  for (const seed of [1, 2, 3]) {
    const plain = pair(seed, 0);
    const queued = pair(seed, 100);
    assert.equal(queued.incomplete, 0);
    assert.ok(queued.leechers.last > plain.leechers.last, `seed ${seed}: ${queued.leechers.last} > ${plain.leechers.last}`);
  }
});

test('complete peers and seeds poll FCHU every swarmWatchMs for their choker (tracker load the peer really causes)', () => {
  const watching = simulate(tiny(2));
  const not = simulate(tiny(2, { swarmWatchMs: 0 }));
  assert.equal(not.incomplete, 0);
  assert.ok(watching.tracker.byKind['FCHU']! > not.tracker.byKind['FCHU']!, `${watching.tracker.byKind['FCHU']} > ${not.tracker.byKind['FCHU']}`);
});

test('progress reports change nothing in the run, and come in order', () => {
  const strip = (r: ReturnType<typeof simulate>) => ({ ...r, wallSeconds: 0, cpuSeconds: 0, eventsPerSecond: 0 });
  const seen: { events: number; simulatedSeconds: number; refused: number }[] = [];
  const reported = simulate(tiny(11), (p) => seen.push(p), 500);
  assert.deepEqual(strip(reported), strip(simulate(tiny(11))));
  assert.ok(seen.length >= 2, `${seen.length} reports`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.events > seen[i - 1]!.events && seen[i]!.simulatedSeconds >= seen[i - 1]!.simulatedSeconds && seen[i]!.refused >= seen[i - 1]!.refused);
  assert.ok(seen.at(-1)!.refused <= reported.choked, 'refusals so far never exceed the run\'s');
});

test("cross-checks (heal.ts's chance and budget): some parts fetched twice, never more than the budget; none with share 0", () => {
  const r = simulate(tiny(4));
  const downloaders = r.peers.filter((p) => p.role !== 'seed').length;
  assert.ok(r.checkedBytes > 0);
  // at most ceil(3 % of 32 parts) = 1 check per downloader, 64 KiB each
  assert.ok(r.checkedBytes <= downloaders * 1 * 64 * KiB, `${r.checkedBytes}`);
  const none = simulate(tiny(4, { download: { ...DOWNLOAD_DEFAULTS, crossCheckShare: 0 } }));
  assert.equal(none.checkedBytes, 0);
  assert.equal(none.incomplete, 0);
});

test("a downloader's start-up counts in its time (from spawn): every leecher is later, none sooner than the start-up", () => {
  const plain = simulate(tiny(6));
  const started = simulate(tiny(6, { startupMs: 2000 }));
  assert.equal(started.incomplete, 0);
  for (const p of started.peers) if (p.role !== 'seed') assert.ok(p.seconds! > 2, `peer ${p.index}: ${p.seconds} s`);
  assert.ok(started.leechers.last > plain.leechers.last + 1, `${started.leechers.last} vs ${plain.leechers.last}`);
});

test('a refused request held for a place (admissionWaitMs) is served when one frees before the hold ends: fewer refusals, with or without an uplink queue', () => {
  // the seed alone has parts at first and 2 places for 5 leechers: most first requests meet full places
  const crowd = (seed: number, admissionWaitMs: number, uplinkQueueMs: number) => {
    const c = tiny(seed, { uplinkQueueMs });
    return simulate({ ...c, peers: c.peers.slice(0, 6).map((p) => ({ ...p, arriveAt: 0 })), choker: { ...c.choker, uploadSlots: 1, admissionWaitMs } });
  };
  for (const uplinkQueueMs of [0, 100]) {
    let immediate = 0;
    let held = 0;
    let served = 0;
    for (const seed of [1, 2, 3]) {
      const a = crowd(seed, 0, uplinkQueueMs);
      const b = crowd(seed, 250, uplinkQueueMs);
      assert.equal(a.incomplete + b.incomplete, 0);
      assert.equal(a.servedFromHold, 0);
      immediate += a.choked;
      held += b.choked;
      served += b.servedFromHold;
    }
    assert.ok(served > 0, `uplink queue ${uplinkQueueMs}: ${served} requests served from the hold`);
    assert.ok(immediate > 0, `uplink queue ${uplinkQueueMs}: some requests refused`);
    assert.ok(held < immediate, `uplink queue ${uplinkQueueMs}: ${held} refusals with a hold < ${immediate} without`);
  }
});
