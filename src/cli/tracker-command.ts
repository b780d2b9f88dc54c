/**
 * `bugtorrent tracker`: runs the tracker until SIGINT/SIGTERM.
 */
import type { Command } from 'commander';
import { isIP } from 'node:net';
import { ArgumentError } from '../errors.js';
import { LOG_LEVELS, type LogLevel, createLogger } from '../log.js';
import { listenFailure } from './hints.js';
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, type Dashboard, startDashboard } from '../dashboard/index.js';
import { DEFAULT_TRACKER_PORT, MAX_LIST_ENTRIES } from '../protocol/messages.js';
import { DEFAULT_DB_FILE, DEFAULT_LIMITS, DEFAULT_LIVENESS, DEFAULT_MAX_HOLDERS, type LivenessSettings, startTracker } from '../tracker/index.js';

interface RawOptions {
  host?: string;
  port: string;
  db: string;
  logLevel: string;
  idleTimeout: string;
  maxConnections: string;
  maxPerAddress: string;
  requestTimeout: string;
  maxBuffer: string;
  maxHolders: string;
  httpPort: string;
  httpHost: string;
  /** false with --no-http. */
  http: boolean;
  livenessIdle: string;
  livenessFailures: string;
  livenessSpacing: string;
  livenessTimeout: string;
  livenessProbes: string;
  /** false with --no-liveness. */
  liveness: boolean;
}

export interface TrackerCommandOptions {
  host?: string;
  port: number;
  db: string;
  logLevel: LogLevel;
  idleTimeoutMs: number;
  maxConnections: number;
  maxPerAddress: number;
  requestTimeoutMs: number;
  maxBuffered: number;
  /** Most holders per AFCH; 0 = every holder. */
  maxHolders: number;
  /** null: no dashboard (--no-http). */
  httpPort: number | null;
  httpHost: string;
  /** True when --http-port was given: then a port that cannot be bound is fatal. */
  httpPortExplicit: boolean;
  /** null: no liveness check (--no-liveness). */
  liveness: LivenessSettings | null;
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text.trim())) throw new ArgumentError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ArgumentError(`${flag} must be an integer in ${min}..${max}, got ${text}`);
  return n;
}

/** Validates the raw command-line strings; throws ArgumentError. */
export function parseTrackerOptions(raw: RawOptions): TrackerCommandOptions {
  if (raw.host !== undefined && isIP(raw.host.replace(/^\[|\]$/g, '')) === 0) {
    throw new ArgumentError(`--host must be an IPv4 or IPv6 address, got ${JSON.stringify(raw.host)}`);
  }
  if (!(LOG_LEVELS as readonly string[]).includes(raw.logLevel)) {
    throw new ArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw.logLevel)}`);
  }
  if (isIP(raw.httpHost.replace(/^\[|\]$/g, '')) === 0) {
    throw new ArgumentError(`--http-host must be an IPv4 or IPv6 address, got ${JSON.stringify(raw.httpHost)}`);
  }
  if (raw.db.trim() === '') throw new ArgumentError('--db must name a file (or :memory:)');
  return {
    host: raw.host?.replace(/^\[|\]$/g, ''),
    port: integer('--port', raw.port, 0, 65535),
    db: raw.db,
    logLevel: raw.logLevel as LogLevel,
    idleTimeoutMs: integer('--idle-timeout', raw.idleTimeout, 1, 86_400_000),
    maxConnections: integer('--max-connections', raw.maxConnections, 1, 1_000_000),
    maxPerAddress: integer('--max-per-address', raw.maxPerAddress, 1, 1_000_000),
    requestTimeoutMs: integer('--request-timeout', raw.requestTimeout, 1, 86_400_000),
    maxBuffered: integer('--max-buffer', raw.maxBuffer, 64, 64 * 1024 * 1024),
    maxHolders: integer('--max-holders', raw.maxHolders, 0, MAX_LIST_ENTRIES),
    httpPort: raw.http === false ? null : integer('--http-port', raw.httpPort, 0, 65535),
    httpHost: raw.httpHost.replace(/^\[|\]$/g, ''),
    httpPortExplicit: false,
    liveness:
      raw.liveness === false
        ? null
        : {
            idleMs: integer('--liveness-idle', raw.livenessIdle, 1, 86_400_000),
            failures: integer('--liveness-failures', raw.livenessFailures, 1, 1000),
            spacingMs: integer('--liveness-spacing', raw.livenessSpacing, 1, 86_400_000),
            probeTimeoutMs: integer('--liveness-timeout', raw.livenessTimeout, 1, 600_000),
            maxProbes: integer('--liveness-probes', raw.livenessProbes, 1, 10_000),
          },
  };
}

export function registerTrackerCommand(program: Command): void {
  program
    .command('tracker')
    .description('run a tracker: sessions, files and who holds which parts (state kept in SQLite)')
    .option('--host <addr>', 'listen on this address only (default: every IPv4 and IPv6 address)')
    .option('--port <port>', 'TCP port (0 picks a free one)', String(DEFAULT_TRACKER_PORT))
    .option('--db <file>', 'SQLite database file, or :memory: to keep nothing', DEFAULT_DB_FILE)
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, 'info')
    .option('--idle-timeout <ms>', 'close connections idle for this long', String(DEFAULT_LIMITS.idleTimeoutMs))
    .option('--max-connections <n>', 'most open connections; when full, the one waiting longest is closed for a newcomer', String(DEFAULT_LIMITS.maxConnections))
    .option('--max-per-address <n>', 'most open connections from one client (its IPv4 and IPv6 together)', String(DEFAULT_LIMITS.maxPerAddress))
    .option('--request-timeout <ms>', 'close a connection whose request is not complete this long after its first byte', String(DEFAULT_LIMITS.requestTimeoutMs))
    .option('--max-buffer <bytes>', 'most bytes buffered per connection', String(DEFAULT_LIMITS.maxBuffered))
    .option('--max-holders <n>', 'most holders in one FCHU answer: rarest-part holders and random others beyond that (0 = every holder)', String(DEFAULT_MAX_HOLDERS))
    .option('--http-port <port>', 'dashboard, JSON API and /metrics HTTP port (0 picks a free one)', String(DEFAULT_HTTP_PORT))
    .option('--http-host <addr>', 'dashboard address; loopback unless you expose it (e.g. 0.0.0.0 or ::)', DEFAULT_HTTP_HOST)
    .option('--no-http', 'serve no dashboard and no /metrics')
    .option('--liveness-idle <ms>', 'probe a peer (TCP connect to its listed port) after this long without a request', String(DEFAULT_LIVENESS.idleMs))
    .option('--liveness-failures <n>', 'drop a silent peer after this many failed probes in a row', String(DEFAULT_LIVENESS.failures))
    .option('--liveness-spacing <ms>', 'wait this long after a failed probe before the next', String(DEFAULT_LIVENESS.spacingMs))
    .option('--liveness-timeout <ms>', 'connect timeout of one probe', String(DEFAULT_LIVENESS.probeTimeoutMs))
    .option('--liveness-probes <n>', 'most probes in flight', String(DEFAULT_LIVENESS.maxProbes))
    .option('--no-liveness', 'never probe or drop peers: sessions last until LOGO')
    .action(async (raw: RawOptions, command: Command) => {
      let options: TrackerCommandOptions;
      try {
        options = { ...parseTrackerOptions(raw), httpPortExplicit: command.getOptionValueSource('httpPort') === 'cli' };
      } catch (err) {
        if (!(err instanceof ArgumentError)) throw err;
        process.stderr.write(`bugtorrent tracker: ${err.message} (${err.code})\n`);
        process.exitCode = 2;
        return;
      }
      await runTracker(options);
    });
}

async function runTracker(options: TrackerCommandOptions): Promise<void> {
  const logger = createLogger({ level: options.logLevel, name: 'tracker' });
  let tracker;
  try {
    tracker = await startTracker({
      host: options.host,
      port: options.port,
      dbPath: options.db,
      logger,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnections: options.maxConnections,
      maxPerAddress: options.maxPerAddress,
      requestTimeoutMs: options.requestTimeoutMs,
      maxBuffered: options.maxBuffered,
      liveness: options.liveness ?? false,
      maxHolders: options.maxHolders,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Said once: in a terminal as one sentence with the way out, otherwise as a JSON log line.
    if (process.stderr.isTTY || process.stdout.isTTY) process.stderr.write(`${e.syscall === 'listen' ? listenFailure(err, 'bugtorrent tracker', options, '--port') : `bugtorrent tracker: cannot start: ${e.message}`}\n`);
    else logger.fatal({ code: e.code, reason: e.message, hint: e.syscall === 'listen' ? listenFailure(err, 'bugtorrent tracker', options, '--port') : undefined, host: options.host, port: options.port, db: options.db }, 'tracker failed to start');
    process.exitCode = 1;
    return;
  }
  let dashboard: Dashboard | null = null;
  if (options.httpPort !== null) {
    try {
      dashboard = await startDashboard({ view: tracker.view, host: options.httpHost, port: options.httpPort, logger });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const where = { code: e.code, reason: e.message, host: options.httpHost, port: options.httpPort };
      if (options.httpPortExplicit || e.code !== 'EADDRINUSE') {
        const hint = listenFailure(err, 'bugtorrent dashboard', { host: options.httpHost, port: options.httpPort }, '--http-port');
        if (process.stderr.isTTY || process.stdout.isTTY) process.stderr.write(`${hint}\n`);
        else logger.fatal({ ...where, hint }, 'dashboard failed to start');
        await tracker.close();
        process.exitCode = 1;
        return;
      }
      // The default port is taken (another tracker, another program): the
      // tracker itself is what matters, so it runs on without a dashboard.
      logger.warn(where, 'dashboard not started: its default port is in use (choose one with --http-port, or --no-http)');
    }
    if (dashboard) tracker.addObserver(dashboard.observer);
  }
  const web = dashboard;
  const running = tracker;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info({ signal }, 'shutting down');
      Promise.all([web?.close(), running.close()]).then(() => resolve(), (err: unknown) => {
        logger.error({ err }, 'error while closing');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
