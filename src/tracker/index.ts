/**
 * The tracker as a library: `startTracker` wires a Store, the Registry and the
 * TCP server together, and hands back a view of the state and a way to observe
 * it (the CLI, tests and the dashboard all start it this way).
 */
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type Logger, silentLogger } from '../log.js';
import { DEFAULT_TRACKER_PORT } from '../protocol/messages.js';
import type { TrackerEvent, TrackerObserver, TrackerView } from './events.js';
import { DEFAULT_LIVENESS, LivenessPolicy, type LivenessSettings, checkLivenessSettings } from './liveness.js';
import { MemoryStore } from './memory-store.js';
import { Prober } from './prober.js';
import { Registry } from './registry.js';
import { DEFAULT_LIMITS, TrackerServer } from './server.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

export * from './events.js';
export type { Store, StoredState, SessionRecord, SeenRecord, FileRecord, OwnershipRecord, AdderRecord } from './store.js';
export { MemoryStore, MemoryData } from './memory-store.js';
export { SqliteStore } from './sqlite-store.js';
export {
  Registry, randomSessionId, DEFAULT_MAX_PARTS, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_FILES,
  type RegistryOptions, type Holder, type LogoutResult, type ProbeTarget,
} from './registry.js';
export { DEFAULT_LIVENESS, LivenessPolicy, type LivenessSettings, type ProbeVerdict } from './liveness.js';
export { DEFAULT_LIMITS, type ServerLimits } from './server.js';
export { DEFAULT_MAX_HOLDERS } from './holders-sample.js';
export { HANDLERS, handle } from './handlers.js';

export const DEFAULT_DB_FILE = 'bugtorrent-tracker.db';
export const MEMORY_DB = ':memory:';
/** How often changed last-seen times are written to the store (they are kept in memory in between). */
export const DEFAULT_SEEN_FLUSH_MS = 2000;

export interface TrackerOptions {
  /** One address to listen on; default: dual-stack `::` (or 0.0.0.0 without IPv6). */
  readonly host?: string;
  /** Default 3000; 0 picks a free port. */
  readonly port?: number;
  /** A ready store (the tracker closes it on close()). Takes precedence over dbPath. */
  readonly store?: Store;
  /** SQLite file, or ':memory:' for the in-memory store. Default: in-memory. */
  readonly dbPath?: string;
  readonly logger?: Logger;
  /** Default 30 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Default 1024; at the cap the longest-waiting connection is closed for a newcomer. */
  readonly maxConnections?: number;
  /** Connections at most from one client, IPv4 and IPv6 forms together; default 64. */
  readonly maxPerAddress?: number;
  /** A request must arrive complete within this long of its first byte; default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Bytes buffered per connection for an incomplete request; default 16 KiB. */
  readonly maxBuffered?: number;
  /** Most parts per file; default 2^20. */
  readonly maxParts?: number;
  /** Most sessions / files at once; default 100 000 each. */
  readonly maxSessions?: number;
  readonly maxFiles?: number;
  /** Most holders per AFCH (a sample beyond that, see holders-sample.ts); 0 = every holder (the default here; the CLI's is DEFAULT_MAX_HOLDERS). */
  readonly maxHolders?: number;
  readonly observers?: readonly TrackerObserver[];
  /**
   * Liveness check (on by default): silent peers are probed by a TCP connect to
   * their listed address and port and dropped after repeated failures. `false`
   * turns it off (sessions then live until LOGO); fields left out take
   * DEFAULT_LIVENESS.
   */
  readonly liveness?: Partial<LivenessSettings> | false;
  /** How often changed last-seen times go to the store; default 2000 ms. */
  readonly seenFlushMs?: number;
  /** Injected clock and id source (tests). */
  readonly now?: () => number;
  readonly newId?: () => string;
}

export interface RunningTracker {
  /** The real port (also when asked for port 0). */
  readonly port: number;
  /** The address listened on (`::`, `0.0.0.0` or the given host). */
  readonly host: string;
  readonly address: AddressInfo;
  /** Where the state lives: a file path or ':memory:'. */
  readonly db: string;
  readonly view: TrackerView;
  /** Adds an observer; returns a function that removes it. */
  addObserver(observer: TrackerObserver): () => void;
  openConnections(): number;
  /** Stops listening, closes connections, closes the store. Idempotent. */
  close(): Promise<void>;
}

export function openStore(dbPath: string | undefined): Store {
  return dbPath === undefined || dbPath === MEMORY_DB ? new MemoryStore() : new SqliteStore(resolve(dbPath));
}

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return v;
}

export async function startTracker(options: TrackerOptions = {}): Promise<RunningTracker> {
  const log = options.logger ?? silentLogger();
  const limits = {
    idleTimeoutMs: checkLimit('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_LIMITS.idleTimeoutMs),
    maxConnections: checkLimit('maxConnections', options.maxConnections, DEFAULT_LIMITS.maxConnections),
    maxPerAddress: checkLimit('maxPerAddress', options.maxPerAddress, DEFAULT_LIMITS.maxPerAddress),
    requestTimeoutMs: checkLimit('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_LIMITS.requestTimeoutMs),
    maxBuffered: checkLimit('maxBuffered', options.maxBuffered, DEFAULT_LIMITS.maxBuffered),
  };
  const observers = new Set<TrackerObserver>(options.observers ?? []);
  const notify = <K extends keyof TrackerObserver>(hook: K, arg: Parameters<NonNullable<TrackerObserver[K]>>[0]): void => {
    for (const o of observers) {
      const fn = o[hook] as ((a: typeof arg) => void) | undefined;
      if (!fn) continue;
      try {
        fn.call(o, arg);
      } catch (err) {
        log.warn({ err, hook }, 'tracker observer threw');
      }
    }
  };

  const now = options.now ?? Date.now;
  const liveness = options.liveness === false ? null : checkLivenessSettings({ ...DEFAULT_LIVENESS, ...options.liveness });
  const seenFlushMs = checkLimit('seenFlushMs', options.seenFlushMs, DEFAULT_SEEN_FLUSH_MS);
  const policy = liveness ? new LivenessPolicy(liveness, now) : null;
  const store = options.store ?? openStore(options.dbPath);
  let server: TrackerServer;
  let address: AddressInfo;
  let registry: Registry;
  try {
    registry = new Registry({
      store,
      now,
      live: policy ? (id, lastSeen) => policy.live(id, lastSeen) : undefined,
      newId: options.newId,
      maxParts: options.maxParts,
      maxSessions: options.maxSessions,
      maxFiles: options.maxFiles,
      maxHolders: options.maxHolders,
      emit: (event: TrackerEvent) => notify('event', event),
    });
    server = new TrackerServer(registry, log, limits, {
      request: (command, outcome, seconds) => notify('request', { command, outcome, seconds }),
      connections: (open) => notify('connections', open),
    });
    address = await server.listen(options.host, options.port ?? DEFAULT_TRACKER_PORT);
  } catch (err) {
    store.close();
    throw err;
  }
  log.info(
    {
      host: address.address, port: address.port, db: store.location, files: registry.files().length, peers: registry.peers().length,
      liveness: liveness ?? 'off',
    },
    'listening',
  );
  const prober = policy ? new Prober(registry, policy, log) : null;
  const flushSeen = (): void => {
    try {
      registry.flushSeen();
    } catch (err) {
      log.error({ err }, 'saving last-seen times failed (kept in memory, retried)');
    }
  };
  const flusher = setInterval(flushSeen, seenFlushMs).unref();

  let closing: Promise<void> | null = null;
  return {
    port: address.port,
    host: address.address,
    address,
    db: store.location,
    // Only the read side: the dashboard gets no handle on the rules.
    view: { files: () => registry.files(), peers: () => registry.peers(), holders: (md5: string) => registry.holders(md5) },
    addObserver(o) {
      observers.add(o);
      return () => observers.delete(o);
    },
    openConnections: () => server.openConnections,
    close() {
      prober?.close();
      clearInterval(flusher);
      closing ??= server.close().then(() => {
        flushSeen();
        store.close();
        log.info({}, 'closed');
      });
      return closing;
    },
  };
}
