/**
 * The pure half of `npm run demo`: its command line, and the text it shows (the
 * live status block, the one-line status for logs, the final summary). No I/O.
 */
import { parseArgs } from 'node:util';
import { ArgumentError } from '../../src/errors.js';
import { RATE_HELP, formatBytes, formatRate } from '../../src/units.js';
import { numberArg, rateArg } from './args.js';

export interface DemoConfig {
  /** File size, bytes. */
  size: number;
  leechers: number;
  /** Bytes/s; 0 = unlimited. */
  seedRate: number;
  leecherRate: number;
  /** Seconds between two leechers' starts. */
  stagger: number;
  /** null: 8080, or a free port if 8080 is taken. A number (0 = any free port) is used as given. */
  httpPort: number | null;
  exitWhenDone: boolean;
  /** Stop after this many seconds (0 = never). */
  duration: number;
  /** Seconds between status lines when stdout is not a terminal. */
  statusEvery: number;
}

export const DEFAULT_HTTP_PORT = 8080;

export const DEMO_HELP = `npm run demo -- [options]

Starts on loopback a tracker with its dashboard, a seed (127.0.0.2) sharing a
generated random file, and leechers (127.0.0.3, 127.0.0.4, ...) started a few
seconds apart, rate-limited so you can watch the parts spread on the dashboard.
Leechers keep seeding once complete. Ctrl-C stops everything and removes the
temporary folder.

  --size S           file size (default 24MiB)
  --leechers N       number of leechers, 1..50 (default 6)
  --seed-rate R      the seed's upload limit (default 1MB = 1 000 000 bytes/s)
  --leecher-rate R   each leecher's upload limit (default 512KB)
  --stagger SEC      seconds between two leechers' starts (default 3)
  --http-port P      dashboard port (default 8080, or a free one if 8080 is busy; 0 = any free port)
  --exit-when-done   stop once every leecher is complete (for scripts)
  --duration SEC     stop after SEC seconds in any case (default 0 = run until Ctrl-C)
  --status-every SEC status line interval when the output is not a terminal (default 5)
  -h, --help         this text

Sizes and rates: ${RATE_HELP}.`;

/** Parses the demo's command line; null means --help. Throws ArgumentError. */
export function parseDemoArgs(argv: string[]): DemoConfig | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        size: { type: 'string', default: '24MiB' },
        leechers: { type: 'string', default: '6' },
        'seed-rate': { type: 'string', default: '1MB' },
        'leecher-rate': { type: 'string', default: '512KB' },
        stagger: { type: 'string', default: '3' },
        'http-port': { type: 'string' },
        'exit-when-done': { type: 'boolean', default: false },
        duration: { type: 'string', default: '0' },
        'status-every': { type: 'string', default: '5' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new ArgumentError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;
  const size = rateArg('--size', v.size!);
  if (size === 0) throw new ArgumentError('--size must be more than 0 bytes');
  if (size > 4 * 1024 ** 3) throw new ArgumentError('--size must be at most 4GiB');
  return {
    size,
    leechers: numberArg('--leechers', v.leechers!, 1, 50, true),
    seedRate: rateArg('--seed-rate', v['seed-rate']!),
    leecherRate: rateArg('--leecher-rate', v['leecher-rate']!),
    stagger: numberArg('--stagger', v.stagger!, 0, 3600, false),
    httpPort: v['http-port'] === undefined ? null : numberArg('--http-port', v['http-port'], 0, 65535, true),
    exitWhenDone: v['exit-when-done']!,
    duration: numberArg('--duration', v.duration!, 0, 86_400, false),
    statusEvery: numberArg('--status-every', v['status-every']!, 0.1, 3600, false),
  };
}

// ---------------------------------------------------------------- peers as shown

export type PeerState = 'waiting' | 'starting' | 'downloading' | 'complete' | 'seeding' | 'failed' | 'stopped';

export interface PeerView {
  name: string;
  ip4: string;
  role: 'seed' | 'leecher';
  state: PeerState;
  have: number;
  /** 0 until known. */
  parts: number;
  /** Seconds since the demo started. */
  startAt: number | null;
  completeAt: number | null;
  /** What the peer reported in `complete.seconds`. */
  took: number | null;
}

/** What the tracker's JSON API says about the file (null until first asked). */
export interface TrackerView {
  peers: number;
  holders: number;
  completeCopies: number;
}

export function bar(have: number, parts: number, width: number, full = '#', empty = '-'): string {
  const filled = parts === 0 ? 0 : Math.min(width, Math.floor((have / parts) * width));
  return full.repeat(filled) + empty.repeat(width - filled);
}

function stateText(p: PeerView, now: number): string {
  switch (p.state) {
    case 'waiting':
      return p.startAt === null ? 'waiting' : `starts in ${Math.max(0, Math.ceil(p.startAt - now))} s`;
    case 'starting':
      return 'starting';
    case 'downloading':
      return 'downloading';
    case 'complete':
      return `complete at ${p.completeAt?.toFixed(1)} s, seeding`;
    case 'seeding':
      return 'seeding';
    case 'failed':
      return 'FAILED';
    case 'stopped':
      return 'stopped';
  }
}

const fraction = (p: PeerView): string => (p.parts === 0 ? '-' : `${p.have}/${p.parts}`);

function trackerText(t: TrackerView | null): string {
  return t === null ? 'tracker: -' : `tracker: ${t.peers} peers, ${t.holders} holders, ${t.completeCopies} complete ${t.completeCopies === 1 ? 'copy' : 'copies'}`;
}

/** The live block for a terminal: a header line, then one line per peer. */
export function statusBlock(peers: readonly PeerView[], tracker: TrackerView | null, now: number, barWidth = 30, unicode = true): string[] {
  const nameW = Math.max(...peers.map((p) => p.name.length));
  const ipW = Math.max(...peers.map((p) => p.ip4.length));
  const partsW = Math.max(...peers.map((p) => fraction(p).length));
  const [full, empty] = unicode ? ['\u2588', '\u2591'] : ['#', '-'];
  const done = peers.filter((p) => p.role === 'leecher' && p.state === 'complete').length;
  const leechers = peers.filter((p) => p.role === 'leecher').length;
  return [
    `t+${now.toFixed(0)} s   leechers complete ${done}/${leechers}   ${trackerText(tracker)}`,
    ...peers.map((p) => `  ${p.name.padEnd(nameW)}  ${p.ip4.padEnd(ipW)}  ${bar(p.have, p.parts, barWidth, full, empty)}  ${fraction(p).padStart(partsW)}  ${stateText(p, now)}`),
  ];
}

/** One compact line for logs: `t+12 s  seed 96/96 | L1 40/96 | L2 -  (tracker: ...)`. */
export function statusLine(peers: readonly PeerView[], tracker: TrackerView | null, now: number): string {
  const each = peers.map((p) => `${p.name} ${fraction(p)}${p.state === 'complete' ? ' done' : p.state === 'failed' ? ' FAILED' : ''}`);
  return `t+${now.toFixed(0)} s  ${each.join(' | ')}  (${trackerText(tracker)})`;
}

/** The summary once every leecher is complete. */
export function summary(peers: readonly PeerView[], size: number, url: string | null): string[] {
  const leechers = peers.filter((p) => p.role === 'leecher');
  const last = Math.max(...leechers.map((p) => p.completeAt ?? 0));
  const nameW = Math.max(...leechers.map((p) => p.name.length));
  return [
    `${leechers.length === 1 ? 'The leecher has' : `All ${leechers.length} leechers have`} the whole ${formatBytes(size)} file (each verified its md5); the last finished at ${last.toFixed(1)} s.`,
    ...leechers.map(
      (p) => `  ${p.name.padEnd(nameW)}  ${p.ip4}  started ${(p.startAt ?? 0).toFixed(1).padStart(6)} s   complete ${(p.completeAt ?? 0).toFixed(1).padStart(6)} s   took ${(p.took ?? 0).toFixed(1).padStart(6)} s`,
    ),
    ...(url ? [`Every peer keeps seeding; the dashboard stays at ${url}`] : []),
  ];
}

export function ratesText(config: DemoConfig): string {
  return `rates: seed uploads at most ${formatRate(config.seedRate)}, each leecher at most ${formatRate(config.leecherRate)} (downloads unlimited)`;
}
