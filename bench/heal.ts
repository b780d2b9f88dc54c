/**
 * `npm run bench:heal`: what lying uploaders and the cross-checks cost. In one
 * process on loopback: a tracker, honest seeds (startPeer, upload limited so
 * the transfer, not fixed delays, dominates), scripted liars (wrong bytes of the
 * right length on every third part, test/support/liar.ts) and one leecher.
 * The seeds are not the file's origin (see below). Each row is the median of --runs downloads of a fresh random file; the
 * reference of each row is the same download without the liars, or without
 * cross-checks (crossCheckShare 0) for the clean swarm.
 *
 * Usage: npm run bench:heal -- [--size 16MiB] [--part-size 262144] [--up-rate 16MB] [--runs 3] [--json]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger, silentLogger } from '../src/log.js';
import { PEER_DEFAULTS, type PeerHandle, startPeer } from '../src/peer/index.js';
import { startTracker } from '../src/tracker/index.js';
import { parseRate } from '../src/units.js';
import { type Liar, register, startLiar } from '../test/support/liar.js';

interface Run {
  seconds: number;
  /** Bytes the leecher received, over the file size. */
  traffic: number;
  verified: boolean;
  liarsBanned: number;
  honestBanned: number;
}

interface Setup {
  seeds: number;
  liars: number;
  crossCheckShare: number;
}

async function once(setup: Setup, size: number, partSize: number, upRate: number, root: string, n: number): Promise<Run> {
  const tracker = await startTracker({ host: '127.0.0.1', port: 0, dbPath: ':memory:' });
  const dir = mkdtempSync(join(root, `run${n}-`));
  const content = randomBytes(size);
  const peers: PeerHandle[] = [];
  const liars: Liar[] = [];
  try {
    // The honest seeds got the file by downloading it from an origin that then left: an origin's seed
    // spreading (src/peer/bandwidth/spread.ts) turns away a second request for a part while some part
    // was never sent, which today also starves a leecher that needs a part again (healing).
    const originDir = mkdtempSync(join(dir, 'origin-'));
    writeFileSync(join(originDir, 'payload.bin'), content);
    const origin = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.1.9', ip6: '::1', port: 0, dir: originDir, partSize, log: silentLogger() });
    const md5 = (await origin.share(join(originDir, 'payload.bin'))).md5;
    for (let i = 0; i < setup.seeds; i++) {
      const seed = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: `127.0.1.${10 + i}`, ip6: '::1', port: 0, dir: mkdtempSync(join(dir, 'seed-')), upRate, log: silentLogger() });
      peers.push(seed);
      const got = await seed.get(md5);
      if (got.type !== 'complete') throw new Error(`seed ${i} could not get the file: ${JSON.stringify(got)}`);
    }
    await origin.logout();
    await origin.close();
    for (let i = 0; i < setup.liars; i++) {
      const liar = await startLiar(`127.0.1.${40 + i}`, content, partSize, (part) => part % 3 === i % 3);
      liars.push(liar);
      await register(tracker.port, liar, { md5, fileLength: size, partLength: partSize });
    }
    const t0 = performance.now();
    const leecher = await startPeer({
      tracker: { host: '127.0.0.1', port: tracker.port },
      ip4: '127.0.1.99',
      ip6: '::1',
      port: 0,
      dir: mkdtempSync(join(dir, 'leecher-')),
      crossCheckShare: setup.crossCheckShare,
      // HEAL_DEBUG=1: the leecher's log on stderr (what was suspected, fetched again, how long it took).
      log: process.env['HEAL_DEBUG'] ? createLogger({ level: 'debug', format: 'json' }) : silentLogger(),
    }, (e) => {
      if (process.env['HEAL_DEBUG'] && e.event !== 'choke') console.error(JSON.stringify({ t: +((performance.now() - t0) / 1000).toFixed(3), ...e }));
    });
    peers.push(leecher);
    const outcome = await leecher.get(md5);
    const seconds = (performance.now() - t0) / 1000;
    const status = leecher.status();
    const download = status.downloads[0]!;
    const liarKeys = new Set(liars.map((l) => l.key));
    const verified = outcome.type === 'complete' && readFileSync(outcome.path).equals(content);
    return {
      seconds,
      traffic: status.bandwidth.downloaded / size,
      verified,
      liarsBanned: download.banned.filter((b) => liarKeys.has(b.key)).length,
      honestBanned: download.banned.filter((b) => !liarKeys.has(b.key)).length,
    };
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await Promise.all(liars.map((l) => l.close()));
    await tracker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function row(setup: Setup, runs: number, size: number, partSize: number, upRate: number, root: string): Promise<Run & { all: number[] }> {
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) results.push(await once(setup, size, partSize, upRate, root, i));
  return {
    seconds: median(results.map((r) => r.seconds)),
    traffic: median(results.map((r) => r.traffic)),
    verified: results.every((r) => r.verified),
    liarsBanned: Math.min(...results.map((r) => r.liarsBanned)),
    honestBanned: Math.max(...results.map((r) => r.honestBanned)),
    all: results.map((r) => +r.seconds.toFixed(2)),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '16MiB' },
      'part-size': { type: 'string', default: '262144' },
      'up-rate': { type: 'string', default: '16MB' },
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('bench:heal: what lying uploaders and the cross-checks cost a download\n\n  npm run bench:heal -- [--size 16MiB] [--part-size 262144] [--up-rate 16MB] [--runs 3] [--json]\n');
    return;
  }
  const size = parseRate(values.size!);
  const partSize = parseRate(values['part-size']!);
  const upRate = parseRate(values['up-rate']!);
  const runs = Math.max(1, Number(values.runs));
  const root = mkdtempSync(join(tmpdir(), 'bugtorrent-bench-heal-'));
  const load = loadavg()[0]!;
  try {
    const share = PEER_DEFAULTS.crossCheckShare;
    const only = process.env['HEAL_CASE'];
    const cases: { name: string; setup: Setup; reference: Setup; bound: number }[] = [
      { name: 'clean swarm, 3 seeds: cross-checks on vs off', setup: { seeds: 3, liars: 0, crossCheckShare: share }, reference: { seeds: 3, liars: 0, crossCheckShare: 0 }, bound: 1.05 },
      { name: '1 seed + 1 liar (1 part in 3) vs the seed alone', setup: { seeds: 1, liars: 1, crossCheckShare: share }, reference: { seeds: 1, liars: 0, crossCheckShare: share }, bound: 3 },
      { name: '3 seeds + 2 liars (1 in 3) vs the 3 seeds alone', setup: { seeds: 3, liars: 2, crossCheckShare: share }, reference: { seeds: 3, liars: 0, crossCheckShare: share }, bound: 3 },
    ];
    const out = [];
    for (const c of cases.filter((_, i) => only === undefined || String(i) === only)) {
      const ours = await row(c.setup, runs, size, partSize, upRate, root);
      const ref = await row(c.reference, runs, size, partSize, upRate, root);
      out.push({
        case: c.name,
        seconds: +ours.seconds.toFixed(2),
        reference_seconds: +ref.seconds.toFixed(2),
        time_ratio: +(ours.seconds / ref.seconds).toFixed(2),
        traffic: +ours.traffic.toFixed(3),
        reference_traffic: +ref.traffic.toFixed(3),
        traffic_ratio: +(ours.traffic / ref.traffic).toFixed(3),
        bound: c.bound,
        verified: ours.verified && ref.verified,
        liars_banned: ours.liarsBanned,
        honest_banned: ours.honestBanned,
        runs: ours.all,
        reference_runs: ref.all,
      });
    }
    const loadAfter = loadavg()[0]!;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ size, partSize, upRate, runs, loadavg: [load, loadAfter], rows: out })}\n`);
      return;
    }
    console.log(`file ${size} bytes, parts of ${partSize}, seeds limited to ${upRate} B/s, median of ${runs} runs; 1-min load average ${load.toFixed(1)} → ${loadAfter.toFixed(1)} on ${availableParallelism()} cores`);
    console.log('| case | ours (s) | reference (s) | time ratio | traffic ×file | ref traffic | traffic ratio | bound | verified | liars banned | honest banned |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of out) {
      console.log(`| ${r.case} | ${r.seconds} | ${r.reference_seconds} | ${r.time_ratio} | ${r.traffic} | ${r.reference_traffic} | ${r.traffic_ratio} | ≤ ${r.bound} | ${r.verified ? 'yes' : 'NO'} | ${r.liars_banned} | ${r.honest_banned} |`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
