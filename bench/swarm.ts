/**
 * `npm run bench:swarm`: one seed and N leechers, real processes on distinct
 * loopback addresses, rate-limited, distributing one random file. Compares every
 * completion time with the fluid-model lower bound (Kumar & Ross):
 *
 *   D_min = max(F / u_s, F / d_min, N·F / (u_s + Σ u_i))
 *
 * F file size, u_s the seed's upload rate, u_i the leechers' upload rates (0 for
 * free riders), d_min the slowest download rate, N the number of leechers. No
 * protocol can do better, so `last / D_min` and `mean / D_min` (≥ 1) say how much
 * of the swarm's capacity we use.
 *
 * Usage: npm run bench:swarm -- [--leechers 8] [--size 32MiB] [--seed-up 1MB]
 *        [--leecher-up 500KB] [--down-rate R] [--free-riders K] [--json]
 *        [--peer-flag "--upload-slots 6"] [--seed-flag F]
 * Leechers keep seeding until the bench ends (no --exit-when-done): D_min
 * assumes every leecher serves until the last one is done.
 * The pure parts (arguments, D_min, summary, table) are exported and unit-tested
 * (test/bandwidth/swarm-bench.test.ts); `main` runs only when this is the script.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ArgumentError } from '../src/errors.js';
import { numberArg, rateArg } from '../scripts/lib/args.js';
import { type Proc, cpuSeconds, launch, waitFor, writeRandomFile } from '../scripts/lib/processes.js';
import { RATE_HELP, formatBytes, formatRate } from '../src/units.js';
import { NETNS_PREFIX, cleanupNetns, netnsAvailable } from '../scripts/lib/netns.js';
import { type Network, loopbackNetwork, netnsNetwork } from './swarm-network.js';
import { SCENARIOS, type ScenarioName, type TransferSample, figureLines, transferFigures } from './swarm-figures.js';

// ---------------------------------------------------------------- configuration

export interface SwarmConfig {
  leechers: number;
  freeRiders: number;
  /** File size, bytes. */
  size: number;
  /** Bytes/s; the seed's must be > 0 for the bound to mean anything. */
  seedUp: number;
  /** Bytes/s, 0 = unlimited. */
  leecherUp: number;
  /** Bytes/s for every leecher's downloads, 0 = unlimited. */
  downRate: number;
  json: boolean;
  /** Give up after this many seconds (0 = automatic: max(120, 6·D_min)). */
  timeout: number;
  keep: boolean;
  /** The launcher to run (default bin/bugtorrent.js), e.g. a build of another branch. */
  cli: string;
  /** Extra flags for every leecher (`--peer-flag "--upload-slots 6"`, repeatable), for tuning. */
  peerFlags: string[];
  /** Extra flags for the seed. */
  seedFlags: string[];
  /** Flags for node itself running every peer and the tracker (`--node-flag "--cpu-prof --cpu-prof-dir=DIR"`). */
  nodeFlags: string[];
  /** Each process in a network namespace of its own (root), instead of 127.0.0.x. */
  netns: boolean;
  /** Rates enforced by a tbf qdisc on each peer's NIC (`tc`, netns only) or by the peer itself (`client`, --up-rate). */
  limitMode: 'tc' | 'client';
  /** The scenario whose sizes and rates were used (flags given override it). */
  scenario: ScenarioName | null;
  /** Only remove leftover namespaces of earlier runs, then exit. */
  cleanup: boolean;
}

export const SWARM_HELP = `bench:swarm: one seed and N leechers over loopback, vs the fluid-model bound D_min

  --leechers N       leechers that also upload (default 8)
  --free-riders K    extra leechers that never upload (peer flag --no-upload; default 0)
  --size S           file size (default 32MiB)
  --seed-up R        seed upload rate (default 1MB)
  --leecher-up R     each contributing leecher's upload rate (default 500KB)
  --down-rate R      each leecher's download rate (default 0 = unlimited)
  --timeout SEC      give up after SEC seconds (default max(120, 6 x D_min))
  --json             print one JSON object instead of the table
  --keep             keep the temporary directory, with every process's output (<name>.out, <name>.log)
  --cli PATH         the bugtorrent launcher to run (default bin/bugtorrent.js)
  --peer-flag F      extra flags for every leecher, e.g. --peer-flag "--upload-slots 6" (repeatable)
  --seed-flag F      extra flags for the seed (repeatable)
  --node-flag=F      flags for node running every process, e.g. "--node-flag=--cpu-prof --cpu-prof-dir=/tmp/p" (repeatable)
  --scenario S       S1 (32MiB, seed 2MiB/s, 8 leechers 1MiB/s), S2 (64MiB, seed 4MiB/s, 16 leechers)
                     or S3 (S1 + 2 free riders); other flags given override it
  --netns            each process in a network namespace of its own (root): a bridge namespace,
                     veth pairs, 10.213.0.0/16 inside the namespaces only; removed at the end
  --limit-mode M     tc: a tbf on each peer's NIC, the peer itself unlimited (netns only);
                     client: the peer's own --up-rate (default client)
  --cleanup          remove namespaces left by interrupted runs (named btbench-<pid>-*, that pid gone) and exit

Rates and sizes: ${RATE_HELP}. So 2MB = 2 000 000 bytes, 64MiB = 67 108 864 bytes.
The defaults move at most 5 MB/s in total between 9 processes. They were 16
leechers, 64MiB, 2MB and 1MB (18 MB/s between 17 processes): measured on this
two-core machine, that run had a load average of 16-25, peers took 8-9 s just to
start, and the CPU, not the rates, shaped the times (last/D_min 1.76, where the
smaller swarm measures ~1.4). Pass those flags to run the original size.`;

export const DEFAULT_CLI = fileURLToPath(new URL('../../bin/bugtorrent.js', import.meta.url));

/** Parses the command line; `null` means --help was asked. Throws ArgumentError on junk. */
export function parseSwarmArgs(argv: string[]): SwarmConfig | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        leechers: { type: 'string' },
        'free-riders': { type: 'string' },
        size: { type: 'string' },
        'seed-up': { type: 'string' },
        'leecher-up': { type: 'string' },
        scenario: { type: 'string' },
        netns: { type: 'boolean', default: false },
        'limit-mode': { type: 'string', default: 'client' },
        cleanup: { type: 'boolean', default: false },
        'down-rate': { type: 'string', default: '0' },
        timeout: { type: 'string', default: '0' },
        json: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        cli: { type: 'string', default: DEFAULT_CLI },
        'peer-flag': { type: 'string', multiple: true, default: [] },
        'seed-flag': { type: 'string', multiple: true, default: [] },
        'node-flag': { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new ArgumentError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;
  let scenario: ScenarioName | null = null;
  if (v.scenario !== undefined) {
    if (!(v.scenario in SCENARIOS)) throw new ArgumentError(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}, got ${JSON.stringify(v.scenario)}`);
    scenario = v.scenario as ScenarioName;
  }
  const sc = scenario ? SCENARIOS[scenario] : null;
  v.leechers ??= String(sc?.leechers ?? 8);
  v['free-riders'] ??= String(sc?.freeRiders ?? 0);
  v.size ??= sc ? String(sc.size) : '32MiB';
  v['seed-up'] ??= sc ? String(sc.seedUp) : '1MB';
  v['leecher-up'] ??= sc ? String(sc.leecherUp) : '500KB';
  const limitMode = v['limit-mode'];
  if (limitMode !== 'tc' && limitMode !== 'client') throw new ArgumentError(`--limit-mode must be tc or client, got ${JSON.stringify(limitMode)}`);
  if (limitMode === 'tc' && !v.netns) throw new ArgumentError('--limit-mode tc needs --netns (a tbf on each peer\'s own NIC)');
  // 17 + 253 addresses 127.0.0.2..127.0.0.254: one seed, the rest leechers
  const leechers = numberArg('--leechers', v.leechers!, 1, 200, true);
  const freeRiders = numberArg('--free-riders', v['free-riders']!, 0, 200, true);
  if (leechers + freeRiders > 252) throw new ArgumentError('--leechers plus --free-riders must be at most 252 (one 127.0.0.x each)');
  const size = rateArg('--size', v.size!);
  if (size === 0) throw new ArgumentError('--size must be more than 0 bytes');
  const seedUp = rateArg('--seed-up', v['seed-up']!);
  if (seedUp === 0) throw new ArgumentError('--seed-up must be a finite rate: with an unlimited seed the bound D_min is 0');
  return {
    leechers,
    freeRiders,
    size,
    seedUp,
    leecherUp: rateArg('--leecher-up', v['leecher-up']!),
    downRate: rateArg('--down-rate', v['down-rate']!),
    timeout: numberArg('--timeout', v.timeout!, 0, 86_400, true),
    json: v.json!,
    keep: v.keep!,
    cli: v.cli!,
    peerFlags: (v['peer-flag'] ?? []).flatMap((f) => f.split(/\s+/).filter(Boolean)),
    seedFlags: (v['seed-flag'] ?? []).flatMap((f) => f.split(/\s+/).filter(Boolean)),
    nodeFlags: (v['node-flag'] ?? []).flatMap((f) => f.split(/\s+/).filter(Boolean)),
    netns: v.netns!,
    limitMode,
    scenario,
    cleanup: v.cleanup!,
  };
}

// ---------------------------------------------------------------- the model

export interface FluidModel {
  /** F / u_s: the seed must upload the file at least once. */
  seedBound: number;
  /** F / d_min: the slowest downloader must receive it. */
  downloadBound: number;
  /** N·F / (u_s + Σu_i): N copies through the swarm's total upload capacity. */
  capacityBound: number;
  /** The largest of the three, seconds. */
  dMin: number;
}

/**
 * The bound, in seconds. `seedUp` and `downRates` in bytes/s with 0 = unlimited
 * (its term vanishes). `leecherUps` has one entry per leecher (so its length is
 * N): the bytes/s it uploads, 0 for a free rider that uploads nothing, or
 * 'unlimited'.
 */
export function fluidModel(size: number, seedUp: number, leecherUps: readonly (number | 'unlimited')[], downRates: readonly number[]): FluidModel {
  const n = leecherUps.length;
  const inf = (r: number): number => (r === 0 ? Infinity : r);
  const seedBound = size / inf(seedUp);
  const dMinRate = downRates.length === 0 ? Infinity : Math.min(...downRates.map(inf));
  const downloadBound = size / dMinRate;
  const total = inf(seedUp) + leecherUps.reduce<number>((s, u) => s + (u === 'unlimited' ? Infinity : u), 0);
  const capacityBound = n === 0 ? 0 : (n * size) / total;
  return { seedBound, downloadBound, capacityBound, dMin: Math.max(seedBound, downloadBound, capacityBound) };
}

/** The model for a bench configuration: free riders upload 0, contributors `leecherUp` (0 = unlimited). */
export function modelFor(config: SwarmConfig): FluidModel {
  const ups: (number | 'unlimited')[] = [
    ...Array<number | 'unlimited'>(config.leechers).fill(config.leecherUp === 0 ? 'unlimited' : config.leecherUp),
    ...Array<number>(config.freeRiders).fill(0),
  ];
  return fluidModel(config.size, config.seedUp, ups, Array<number>(config.leechers + config.freeRiders).fill(config.downRate));
}

// ---------------------------------------------------------------- results

export type Role = 'leecher' | 'free-rider';

export interface PeerResult {
  name: string;
  ip4: string;
  role: Role;
  /** Seconds from the common start to the `complete` event; null if it never came. */
  finish: number | null;
  /** What the peer itself reported in `complete.seconds`. */
  selfReported: number | null;
  /** Seconds from the common start to its `ready` event (process start-up). */
  ready: number | null;
  verified: boolean | null;
  error?: string;
}

export interface SwarmSummary {
  d_min_s: number;
  last_s: number | null;
  mean_s: number | null;
  ratio_last: number | null;
  ratio_mean: number | null;
  completed: number;
  peers: number;
  contributor_mean_s?: number | null;
  free_rider_mean_s?: number | null;
  /** The same from each peer's own clock (`complete.seconds`: its start-up excluded). */
  last_self_s: number | null;
  mean_self_s: number | null;
  ratio_last_self: number | null;
  ratio_mean_self: number | null;
  /** 1-minute load average at the end and the cores: load above cores means the CPU shaped the times. */
  load_avg?: number;
  cores?: number;
  /** CPU seconds (every thread) each kind of process used by the end, from /proc: what the two cores were shared between. */
  cpu_s?: CpuFigures;
}

export interface CpuFigures {
  tracker: number | null;
  seed: number | null;
  leecher_mean: number | null;
  leecher_max: number | null;
  total: number;
}

/** CPU seconds per kind of process (`tracker`, `seed`, leechers `L*` and free riders `F*` together). */
export function cpuFigures(used: ReadonlyMap<string, number>): CpuFigures {
  const known = (x: number | undefined): number | null => (x === undefined || Number.isNaN(x) ? null : round2(x));
  const leechers = [...used].filter(([name, x]) => /^[LF]\d+$/.test(name) && !Number.isNaN(x)).map(([, x]) => x);
  const m = mean(leechers);
  return {
    tracker: known(used.get('tracker')),
    seed: known(used.get('seed')),
    leecher_mean: m === null ? null : round2(m),
    leecher_max: leechers.length === 0 ? null : round2(Math.max(...leechers)),
    total: round2([...used.values()].filter((x) => !Number.isNaN(x)).reduce((a, b) => a + b, 0)),
  };
}

const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);
const round3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** last/mean over every peer; null if any peer did not finish (an unfinished swarm has no last time). */
export function summarize(results: readonly PeerResult[], dMin: number, withFreeRiders: boolean): SwarmSummary {
  const finished = results.filter((r) => r.finish !== null).map((r) => r.finish!);
  const all = finished.length === results.length && results.length > 0;
  const last = all ? Math.max(...finished) : null;
  const avg = all ? mean(finished) : null;
  const summary: SwarmSummary = {
    d_min_s: round3(dMin)!,
    last_s: round3(last),
    mean_s: round3(avg),
    ratio_last: last === null || dMin === 0 ? null : round3(last / dMin),
    ratio_mean: avg === null || dMin === 0 ? null : round3(avg / dMin),
    completed: finished.length,
    peers: results.length,
    last_self_s: null,
    mean_self_s: null,
    ratio_last_self: null,
    ratio_mean_self: null,
  };
  const self = results.filter((r) => r.selfReported !== null).map((r) => r.selfReported!);
  if (all && self.length === results.length) {
    const lastSelf = Math.max(...self);
    const meanSelf = mean(self)!;
    summary.last_self_s = round3(lastSelf);
    summary.mean_self_s = round3(meanSelf);
    summary.ratio_last_self = dMin === 0 ? null : round3(lastSelf / dMin);
    summary.ratio_mean_self = dMin === 0 ? null : round3(meanSelf / dMin);
  }
  if (withFreeRiders) {
    const of = (role: Role): number | null => {
      const group = results.filter((r) => r.role === role);
      return group.every((r) => r.finish !== null) ? round3(mean(group.map((r) => r.finish!))) : null;
    };
    summary.contributor_mean_s = of('leecher');
    summary.free_rider_mean_s = of('free-rider');
  }
  return summary;
}

/** A plain text table: right-aligned numbers, left-aligned text, a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? '-' : typeof c === 'number' ? c.toFixed(1) : c)));
  const isNumber = (c: string | number | null): boolean => c === null || typeof c === 'number' || /^-?\d+(\.\d+)?$|^-$/.test(c);
  const numeric = header.map((_, i) => rows.every((r) => isNumber(r[i]!)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function report(config: SwarmConfig, model: FluidModel, results: readonly PeerResult[], load?: { avg: number; cores: number }): string {
  const s = summarize(results, model.dMin, config.freeRiders > 0);
  const ratio = (x: number | null): string => (x === null ? '-' : `${(x / model.dMin).toFixed(2)}`);
  const table = formatTable(
    ['peer', 'address', 'role', 'ready s', 'finish s', 'self s', 'x D_min', 'verified'],
    results.map((r) => [r.name, r.ip4, r.role, r.ready, r.finish, r.selfReported, ratio(r.finish), r.verified === null ? '-' : r.verified ? 'yes' : 'NO']),
  );
  const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a (not every peer finished)' : `${x.toFixed(1)} s`);
  const lines = [
    `swarm: 1 seed + ${config.leechers} leechers${config.freeRiders ? ` + ${config.freeRiders} free riders` : ''}, file ${formatBytes(config.size)}`,
    `rates: seed up ${formatRate(config.seedUp)}, leecher up ${formatRate(config.leecherUp)}, down ${formatRate(config.downRate)}`,
    `(defaults reduced from 16 leechers / 64MiB / 2MB / 1MB, where two CPU cores were the bottleneck; raise them and the CPU becomes part of what you measure)`,
    '',
    table,
    '',
    `reference: fluid-model lower bound D_min = max(F/u_s ${model.seedBound.toFixed(1)} s, F/d_min ${model.downloadBound.toFixed(1)} s, N·F/(u_s+Σu_i) ${model.capacityBound.toFixed(1)} s) = ${model.dMin.toFixed(1)} s`,
    `last finish  ${fmt(s.last_s)}   last / D_min = ${s.ratio_last?.toFixed(2) ?? '-'}`,
    `mean finish  ${fmt(s.mean_s)}   mean / D_min = ${s.ratio_mean?.toFixed(2) ?? '-'}`,
  ];
  if (config.freeRiders > 0) {
    lines.push(`contributors mean ${fmt(s.contributor_mean_s)}, free riders mean ${fmt(s.free_rider_mean_s)}`);
  }
  if (s.last_self_s !== null) {
    lines.push(`by each peer's own clock (start-up excluded): last ${s.last_self_s.toFixed(1)} s = ${s.ratio_last_self?.toFixed(2)} x D_min, mean ${s.mean_self_s!.toFixed(1)} s = ${s.ratio_mean_self?.toFixed(2)} x D_min`);
  }
  lines.push(`completed ${s.completed}/${s.peers}; times from the moment every leecher process was spawned (start-up included: see "ready s")`);
  if (load) {
    lines.push(
      load.avg > load.cores
        ? `WARNING: load average ${load.avg.toFixed(1)} on ${load.cores} cores: the CPU was contended, so these times measure the machine as well as the protocol`
        : `load average ${load.avg.toFixed(1)} on ${load.cores} cores: the CPU was not the bottleneck`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- the run (processes)


async function md5Of(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const say = (config: SwarmConfig, text: string): void => {
  if (!config.json) process.stderr.write(`${text}\n`);
};

export async function runSwarm(config: SwarmConfig): Promise<{ summary: SwarmSummary; text: string }> {
  const model = modelFor(config);
  const ownModel = modelFor({ ...config, freeRiders: 0 });
  const timeoutS = config.timeout || Math.max(120, Math.ceil(6 * model.dMin));
  const root = mkdtempSync(join(tmpdir(), 'bugtorrent-swarm-'));
  const procs: Proc[] = [];
  let net: Network | null = null;
  /** Starts a process; with --keep its stdout and stderr also go to files in the run's folder. */
  const start = (name: string, args: string[], wrap: string[]): Proc => {
    const p = launch(name, args, config.cli, wrap, config.nodeFlags);
    procs.push(p);
    if (config.keep) {
      p.child.stdout!.pipe(createWriteStream(join(root, `${name}.out`)));
      p.child.stderr!.pipe(createWriteStream(join(root, `${name}.log`)));
    }
    return p;
  };
  const stopAll = async (): Promise<void> => {
    // SIGTERM first: a peer logs out and exits (writing a --cpu-prof profile), then SIGKILL for any still there.
    if (config.nodeFlags.length > 0) {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 5000))]);
    }
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    net?.close();
    net = null;
    if (!config.keep) rmSync(root, { recursive: true, force: true });
  };
  const onSignal = (): void => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    net = config.netns ? netnsNetwork(config) : loopbackNetwork();
    const n = net;
    const tc = config.limitMode === 'tc';
    say(config, `writing a ${formatBytes(config.size)} random file in ${root}`);
    const seedDir = join(root, 'seed');
    mkdirSync(seedDir);
    const file = join(seedDir, 'payload.bin');
    const contentMd5 = writeRandomFile(file, config.size);

    const tracker = start('tracker', ['tracker', '--host', n.trackerHost, '--port', String(await n.trackerPort()), '--db', ':memory:', '--no-http'], n.wrap('tracker'));
    const listening = await waitFor(tracker, 'log:listening', 20_000);
    const trackerAddr = `${n.trackerHost}:${Number(listening['port'])}`;
    say(config, `tracker on ${trackerAddr}${config.netns ? ` (network namespaces ${NETNS_PREFIX}*, limits by ${config.limitMode})` : ''}`);

    const peerArgs = async (role: string, dir: string): Promise<string[]> => [
      'peer', '--tracker', trackerAddr, '--ip4', n.ip4(role), '--ip6', '::1', '--port', String(await n.port(role)), '--dir', dir, '--json', '--peers-interval', '0.5',
    ];
    const seedRate = tc ? [] : ['--up-rate', String(config.seedUp)];
    const seed = start('seed', [...(await peerArgs('seed', seedDir)), '--share', file, ...seedRate, ...config.seedFlags], n.wrap('seed'));
    let seedUploaded: number | null = null;
    seed.on('peers', (e) => (seedUploaded = typeof e['uploaded'] === 'number' ? e['uploaded'] : seedUploaded));
    const shared = await waitFor(seed, 'shared', 60_000);
    const md5 = String(shared['md5']);
    say(config, `seed ${n.ip4('seed')} shares ${md5} (${String(shared['parts'])} parts)`);

    const total = config.leechers + config.freeRiders;
    const results: PeerResult[] = [];
    const samples = new Map<PeerResult, TransferSample>();
    const launches: { proc: Proc; result: PeerResult }[] = [];
    for (let i = 0; i < total; i++) {
      const role: Role = i < config.leechers ? 'leecher' : 'free-rider';
      const host = `p${i + 1}`;
      const dir = join(root, `peer-${i + 1}`);
      mkdirSync(dir);
      // No --exit-when-done: D_min assumes every leecher keeps serving until the last one is done;
      // the bench stops everybody at the end.
      const args = [...(await peerArgs(host, dir)), '--get', md5, ...config.peerFlags];
      if (role === 'free-rider') args.push('--no-upload');
      else if (!tc) args.push('--up-rate', String(config.leecherUp));
      if (config.downRate > 0) args.push('--down-rate', String(config.downRate));
      const result: PeerResult = { name: role === 'leecher' ? `L${i + 1}` : `F${i + 1 - config.leechers}`, ip4: n.ip4(host), role, finish: null, selfReported: null, ready: null, verified: null };
      results.push(result);
      samples.set(result, { role, finish: null, firstPart: null, firstPartAfterReady: null, received: null, needed: config.size });
      launches.push({ proc: start(result.name, args, n.wrap(host)), result });
    }
    const t0 = performance.now();
    const elapsed = (): number => (performance.now() - t0) / 1000;
    // The load during the run (the end value alone hides a busy middle).
    const loads: number[] = [loadavg()[0]!];
    const sampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
    sampler.unref();
    say(config, `${total} leechers started; D_min = ${model.dMin.toFixed(1)} s; giving up after ${timeoutS} s`);

    const paths = new Map<PeerResult, string>();
    // The seed's counters when the last leecher finished (for its busy fraction).
    const seedAtLast = { tc: null as number | null, app: null as number | null };
    let finished = 0;
    const done = launches.map(({ proc, result }) => new Promise<void>((resolve) => {
      const sample = samples.get(result)!;
      proc.on('ready', () => (result.ready = elapsed()));
      proc.on('part', () => {
        if (sample.firstPart !== null) return;
        sample.firstPart = elapsed();
        sample.firstPartAfterReady = result.ready === null ? null : sample.firstPart - result.ready;
      });
      proc.on('peers', (e) => (sample.received = typeof e['downloaded'] === 'number' ? e['downloaded'] : sample.received));
      proc.on('complete', (e) => {
        if (e['md5'] !== md5 || result.finish !== null) return;
        result.finish = elapsed();
        sample.finish = result.finish;
        if (++finished === total) {
          seedAtLast.tc = n.seedSent();
          seedAtLast.app = seedUploaded;
        }
        result.selfReported = typeof e['seconds'] === 'number' ? e['seconds'] : null;
        paths.set(result, String(e['path']));
        say(config, `${result.name} ${result.ip4} complete at ${result.finish.toFixed(1)} s`);
        resolve();
      });
      void proc.exited.then(({ code }) => {
        if (result.finish === null) {
          const err = proc.events.filter((e) => e['event'] === 'error').pop();
          result.error = `exited ${code}${err ? `: ${String(err['message'])}` : ''}`;
          say(config, `${result.name} ${result.ip4} ${result.error}\n${proc.stderrTail.slice(-5).join('\n')}`);
        }
        resolve();
      });
    }));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(done), new Promise<void>((r) => (timer = setTimeout(r, timeoutS * 1000)))]);
    clearTimeout(timer);
    clearInterval(sampler);
    loads.push(loadavg()[0]!);
    // one more `peers` event (every 0.5 s) for each leecher's final byte count
    await new Promise((r) => setTimeout(r, 700));
    const cpu = cpuFigures(new Map(procs.map((p) => [p.name, cpuSeconds(p.pid)])));
    // the bench reads every process's event stream on the same cores
    const benchUsage = process.cpuUsage();
    const benchCpu = round2((benchUsage.user + benchUsage.system) / 1e6);

    for (const r of results) {
      const path = paths.get(r);
      if (path) r.verified = await md5Of(path).then((m) => m === contentMd5, () => false);
    }
    const load = { avg: loadavg()[0]!, cores: availableParallelism() };
    const loadMean = loads.reduce((a, b) => a + b, 0) / loads.length;
    const loadMax = Math.max(...loads);
    const figures = transferFigures([...samples.values()], { tcSent: seedAtLast.tc, appSent: seedAtLast.app, rate: config.seedUp }, ownModel.dMin);
    const summary = {
      ...summarize(results, model.dMin, config.freeRiders > 0),
      ...figures,
      contributors_d_min_s: Math.round(ownModel.dMin * 1000) / 1000,
      mode: config.netns ? `netns/${config.limitMode}` : 'loopback',
      scenario: config.scenario,
      load_avg: round2(load.avg), load_avg_mean: round2(loadMean), load_avg_max: round2(loadMax), cores: load.cores,
      cpu_s: cpu,
    };
    const table = formatTable(
      ['peer', 'first part s', 'received / needed'],
      results.map((r) => {
        const s = samples.get(r)!;
        return [r.name, s.firstPart === null ? null : round2(s.firstPart), s.received === null ? '-' : (s.received / s.needed).toFixed(3)];
      }),
    );
    const text = [
      report(config, model, results, load),
      `mode: ${summary.mode}${config.scenario ? `, scenario ${config.scenario}` : ''}`,
      ...figureLines(figures),
      '',
      table,
      `load average (1 min) during the run: mean ${loadMean.toFixed(1)}, max ${loadMax.toFixed(1)} on ${load.cores} cores`,
      `CPU seconds by the end: tracker ${cpu.tracker ?? '-'}, seed ${cpu.seed ?? '-'}, each leecher ${cpu.leecher_mean ?? '-'} (max ${cpu.leecher_max ?? '-'}), all ${cpu.total} (${(cpu.total / Math.max(1, elapsed()) / load.cores).toFixed(2)} of ${load.cores} cores over the run); this bench itself ${benchCpu}`,
    ].join('\n');
    return { summary, text };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}

async function main(argv: string[]): Promise<void> {
  let config: SwarmConfig | null;
  try {
    config = parseSwarmArgs(argv);
  } catch (err) {
    process.stderr.write(`bench:swarm: ${(err as Error).message}\n\n${SWARM_HELP}\n`);
    process.exitCode = 2;
    return;
  }
  if (config === null) {
    process.stdout.write(`${SWARM_HELP}\n`);
    return;
  }
  if (config.cleanup || config.netns) {
    const can = netnsAvailable();
    if (!can.ok) {
      process.stderr.write(`bench:swarm: --netns/--cleanup: ${can.reason}\n`);
      process.exitCode = 2;
      return;
    }
  }
  if (config.cleanup) {
    const removed = cleanupNetns(NETNS_PREFIX);
    process.stdout.write(removed.length ? `removed ${removed.join(', ')}\n` : `no leftover ${NETNS_PREFIX}* namespaces (those of a running bench are kept)\n`);
    return;
  }
  const { summary, text } = await runSwarm(config);
  if (config.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(`${text}\n`);
  }
  if (summary.completed < summary.peers) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bench:swarm: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 1;
  });
}
