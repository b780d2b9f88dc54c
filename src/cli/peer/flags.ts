/**
 * `bugtorrent peer` flags: their declaration (commander) and their mapping to a
 * PeerConfig plus what the command itself does (share, get, exit when done).
 * Defaults come from PEER_DEFAULTS, never written twice.
 */
import type { Command } from 'commander';
import { ArgumentError } from '../../errors.js';
import { LOG_LEVELS, type LogLevel, type Logger } from '../../log.js';
import { MAX_CHUNK, parseHostPort } from '../../protocol/index.js';
import { PEER_DEFAULTS, type PeerConfig } from '../../peer/config.js';
import { RATE_HELP, integerArg, numberArg, rateArg, secondsArg } from '../../units.js';
import { type FloodCliOptions, addFloodOptions, parseFloodOptions } from './flood-flags.js';

export interface RawPeerOptions extends FloodCliOptions {
  tracker?: string;
  onComplete?: string;
  seedRatio?: string;
  quiet?: boolean;
  ip4?: string;
  ip6?: string;
  port: string;
  dir: string;
  partSize: string;
  share?: string[];
  get?: string[];
  exitWhenDone?: boolean;
  seedTime?: string;
  json?: boolean;
  upRate: string;
  downRate: string;
  upload: boolean;
  logLevel?: string;
  logoutRetry: string;
  pollInterval: string;
  pollMax: string;
  stallTimeout: string;
  findTimeout: string;
  chunkSize: string;
  maxPerPeer: string;
  maxInFlight: string;
  uploadSlots: string;
  peersInterval: string;
  httpPort?: string;
  httpHost: string;
}

/** What the command does besides running a peer. */
export interface PeerPlan {
  readonly share: readonly string[];
  readonly get: readonly string[];
  /** Log out and exit once every --get (and --get-hits) is done, after `seedTimeMs` of seeding. */
  readonly exitWhenDone: boolean;
  readonly seedTimeMs: number;
  readonly json: boolean;
  /** Every this often with --json, a `peers` event; 0 = never. */
  readonly peersIntervalMs: number;
  readonly query: { readonly text: string; readonly ttl: number; readonly waitMs: number; readonly getHits: boolean } | null;
  readonly logLevel: LogLevel | undefined;
  /** Run with the file's path, md5 and name in the environment when a download completes. */
  readonly onComplete: string | null;
  /** After the downloads, seed until we sent this many times their size; null = no ratio. */
  readonly seedRatio: number | null;
  /** Text mode: errors only. */
  readonly quiet: boolean;
}

// No default ([]) on repeatable flags: commander would print `(default: [])` in --help.
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const seconds = (ms: number): string => String(ms / 1000);

export function addPeerOptions(command: Command): Command {
  const d = PEER_DEFAULTS;
  command
    .option('--tracker <host:port>', 'the tracker to use (required)')
    .option('--config <file>', 'read settings from this JSON file (flags and BUGTORRENT_* variables win over it)')
    .option('--print-config', 'print every setting, its value and where it came from, then exit')
    .option('--ip4 <addr>', 'IPv4 address to announce, listen on and connect from (default: first non-loopback, else 127.0.0.1)')
    .option('--ip6 <addr>', 'IPv6 address to announce, listen on and connect from (default: first global, else ::1)')
    .option('--port <port>', 'TCP port for other peers (0 picks a free one)', String(d.port))
    .option('--dir <dir>', 'download folder', d.dir)
    .option('--part-size <bytes>', 'part length for files this peer shares', String(d.partSize))
    .option('--share <file>', 'share a file (repeatable)', collect)
    .option('--get <md5>', 'download a file by md5 (repeatable)', collect)
    .option('--exit-when-done', 'log out and exit once every --get is complete and verified')
    .option('--seed-time <seconds>', 'after every --get is done, seed this long, then log out and exit')
    .option('--json', 'one JSON event per line on stdout')
    .option('--quiet', 'print errors only (text mode)')
    .option('--on-complete <command>', 'run this shell command when a download completes (BUGTORRENT_PATH, BUGTORRENT_MD5, BUGTORRENT_NAME, BUGTORRENT_SIZE in its environment)')
    .option('--seed-ratio <ratio>', 'after every --get is done, seed until we uploaded RATIO times their size, then log out and exit')
    .option('--up-rate <rate>', `upload limit (${RATE_HELP})`, String(d.upRate))
    .option('--down-rate <rate>', 'download limit over all transfers; 0 = none', String(d.downRate))
    .option('--no-upload', 'never upload (answer no RETP)')
    .option('--upload-slots <n>', 'peers served at once by tit-for-tat (one optimistic slot comes on top)', String(d.uploadSlots))
    .option('--peers-interval <seconds>', 'with --json, emit a "peers" event (bytes, rates, choke state per remote peer) this often', '5')
    .option('--http-port <port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (0 picks a free port)')
    .option('--http-host <host>', 'address for --http-port', '127.0.0.1')
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`)
    .option('--logout-retry <seconds>', 'when the tracker refuses to log us out, ask again this often', seconds(d.logoutRetryMs))
    .option('--poll-interval <seconds>', 'ask the tracker who holds what this often while downloading', seconds(d.pollMs))
    .option('--poll-max <seconds>', 'while the answers bring nothing new, ask less often, down to once in this long', seconds(d.pollMaxMs))
    .option('--stall-timeout <seconds>', 'give up on an owner that sends nothing for this long', seconds(d.stallMs))
    .option('--find-timeout <seconds>', 'a --get whose md5 the tracker does not list within this long is an error', seconds(d.findTimeoutMs))
    .option('--chunk-size <bytes>', 'upload chunk size (AREP)', String(d.chunkSize))
    .option('--max-per-peer <n>', 'parts in flight per owner', String(d.maxPerOwner))
    .option('--max-in-flight <n>', 'parts in flight per download', String(d.maxInFlight));
  return addFloodOptions(command);
}

const MD5 = /^[0-9a-fA-F]{32}$/;

/** Flags to a config (without the logger, which depends on the plan) and a plan. Throws ArgumentError. */
export function mapPeerOptions(raw: RawPeerOptions): { config: Omit<PeerConfig, 'log'>; plan: PeerPlan } {
  if (raw.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(raw.logLevel)) {
    throw new ArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const share = raw.share ?? [];
  const get = raw.get ?? [];
  for (const md5 of get) if (!MD5.test(md5)) throw new ArgumentError(`--get wants a 32-digit hex md5, got ${JSON.stringify(md5)}`);
  if (raw.tracker === undefined) throw new ArgumentError('--tracker HOST:PORT is required (or BUGTORRENT_TRACKER, or "tracker" in --config)');
  let tracker: { host: string; port: number };
  try {
    tracker = parseHostPort(raw.tracker, 3000);
  } catch (err) {
    throw new ArgumentError(`--tracker ${JSON.stringify(raw.tracker)}: ${(err as Error).message}`);
  }
  const flood = parseFloodOptions(raw);
  const seedTimeMs = raw.seedTime === undefined ? 0 : secondsArg('--seed-time', raw.seedTime);
  const config: Omit<PeerConfig, 'log'> = {
    ...PEER_DEFAULTS,
    tracker,
    ip4: raw.ip4,
    ip6: raw.ip6,
    port: integerArg('--port', raw.port, 0, 65535),
    dir: raw.dir,
    partSize: integerArg('--part-size', raw.partSize, 1, 999_999),
    chunkSize: integerArg('--chunk-size', raw.chunkSize, 1, MAX_CHUNK),
    upRate: rateArg('--up-rate', raw.upRate),
    downRate: rateArg('--down-rate', raw.downRate),
    noUpload: raw.upload === false,
    uploadSlots: integerArg('--upload-slots', raw.uploadSlots, 1, 64),
    // Periods that cannot be 0 are refused below 0.1 s rather than silently replaced.
    pollMs: secondsArg('--poll-interval', raw.pollInterval, { min: 0.1 }),
    pollMaxMs: secondsArg('--poll-max', raw.pollMax, { min: 0.1 }),
    stallMs: secondsArg('--stall-timeout', raw.stallTimeout, { min: 0.1 }),
    findTimeoutMs: secondsArg('--find-timeout', raw.findTimeout),
    logoutRetryMs: secondsArg('--logout-retry', raw.logoutRetry, { min: 0.1 }),
    maxPerOwner: integerArg('--max-per-peer', raw.maxPerPeer, 1, 64),
    maxInFlight: integerArg('--max-in-flight', raw.maxInFlight, 1, 256),
    neighbors: flood.neighbors,
    ttl: flood.ttl,
    queryWaitMs: flood.waitMs,
    metrics: raw.httpPort === undefined ? null : { host: raw.httpHost, port: integerArg('--http-port', raw.httpPort, 0, 65535) },
  };
  const plan: PeerPlan = {
    share,
    get,
    exitWhenDone: Boolean(raw.exitWhenDone) || raw.seedTime !== undefined || raw.seedRatio !== undefined,
    seedTimeMs,
    json: Boolean(raw.json),
    peersIntervalMs: secondsArg('--peers-interval', raw.peersInterval),
    query: flood.query,
    logLevel: raw.logLevel as LogLevel | undefined,
    onComplete: raw.onComplete === undefined || raw.onComplete.trim() === '' ? null : raw.onComplete,
    seedRatio: raw.seedRatio === undefined ? null : numberArg('--seed-ratio', raw.seedRatio, 0, 1e6, false),
    quiet: Boolean(raw.quiet),
  };
  return { config, plan };
}

export type { Logger };
