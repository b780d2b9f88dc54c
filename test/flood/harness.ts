/**
 * In-process flooding peers for the tests that need an injected clock (the
 * duplicate window, the rate limit): per simulated peer the real PeerListener
 * (src/peer/listener.ts) on its own 127.0.0.x address (and ::1, same port), its
 * QUER/AQUE handlers bound to a FloodService whose clock the test moves by
 * hand. Everything else is tested over real `bugtorrent peer` processes
 * (network.test.ts).
 */
import { Writable } from 'node:stream';
import { connect } from 'node:net';
import { createLogger } from '../../src/log.js';
import { type PeerAddress, peerAddress } from '../../src/protocol/address.js';
import { ADMIT_ALL, IGNORE_TRAFFIC, UNLIMITED } from '../../src/peer/bandwidth.js';
import { FileStore } from '../../src/peer/files.js';
import { PeerListener } from '../../src/peer/listener.js';
import { NeighborSet } from '../../src/peer/flood/neighbors.js';
import type { SharedFile } from '../../src/peer/flood/plan.js';
import { type FloodEvent, type FloodLimits, type FloodService, createFloodService } from '../../src/peer/flood/service.js';

export type LogLine = Record<string, unknown>;

/** A list that tests can wait on: resolves when a condition over it holds. */
export class Feed<T> {
  readonly items: T[] = [];
  private waiters: { cond: () => boolean; resolve: () => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.cond()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `cond()` is true (checked now and after every push). */
  waitUntil(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        cond,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async waitFor(match: (t: T) => boolean, what: string, timeoutMs?: number): Promise<T> {
    await this.waitUntil(() => this.items.some(match), what, timeoutMs);
    return this.items.find(match) as T;
  }

  /** Waits until at least `count` items match; returns them all. */
  async waitForCount(match: (t: T) => boolean, count: number, what: string, timeoutMs?: number): Promise<T[]> {
    await this.waitUntil(() => this.items.filter(match).length >= count, `${count} x ${what}`, timeoutMs);
    return this.items.filter(match);
  }
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public t = 1_700_000_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface SimPeerOptions {
  readonly name: string;
  readonly files?: SharedFile[];
  readonly limits?: Partial<FloodLimits>;
}

export class SimPeer {
  readonly events = new Feed<FloodEvent>();
  readonly logs = new Feed<LogLine>();
  readonly clock = new ManualClock();
  readonly files: SharedFile[];
  readonly address: PeerAddress;
  /** Both exist once start() has resolved (the service must know the listener's port). */
  neighbors!: NeighborSet;
  service!: FloodService;
  private readonly logger: ReturnType<typeof createLogger>;
  private listener: PeerListener | null = null;
  port = 0;

  constructor(
    readonly name: string,
    readonly ip4: string,
    private readonly options: SimPeerOptions,
    /** Every event of every peer of the swarm, to wait on conditions spanning peers. */
    private readonly all?: Feed<{ peer: SimPeer; event: FloodEvent }>,
  ) {
    this.files = options.files ?? [];
    this.address = peerAddress(ip4, '::1');
    this.logger = this.makeLogger();
  }

  /** Listens (the real peer listener, port 0), then creates the service that knows its own port. */
  async start(): Promise<void> {
    const logger = this.logger;
    const listener = new PeerListener({
      ip4: this.ip4,
      ip6: '::1',
      port: 0,
      log: logger,
      handlers: { QUER: (m, r) => this.service.onQuer(m, r), AQUE: (m, r) => this.service.onAque(m, r) },
      upload: { store: new FileStore(), throttle: UNLIMITED, admission: ADMIT_ALL, traffic: IGNORE_TRAFFIC, chunkSize: 4096, log: logger },
    });
    this.port = await listener.start();
    this.listener = listener;
    const self = { address: this.address, port: this.port };
    this.neighbors = new NeighborSet({ self });
    this.service = createFloodService({
      self,
      sharedFiles: () => this.files,
      neighbors: this.neighbors,
      logger,
      now: this.clock.now,
      observer: (e) => {
        this.events.push(e);
        this.all?.push({ peer: this, event: e });
      },
      ...(this.options.limits ? { limits: this.options.limits } : {}),
    });
  }

  private makeLogger(): ReturnType<typeof createLogger> {
    const logs = this.logs;
    let partial = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        partial += chunk.toString('utf8');
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          try {
            logs.push(JSON.parse(line) as LogLine);
          } catch {
            /* not JSON */
          }
        }
        done();
      },
    });
    return createLogger({ destination: sink, format: 'json', level: 'debug', name: this.name });
  }

  /** QUER events with the given outcome (all when omitted). */
  quers(outcome?: string): Extract<FloodEvent, { type: 'quer' }>[] {
    return this.events.items.filter(
      (e): e is Extract<FloodEvent, { type: 'quer' }> => e.type === 'quer' && (outcome === undefined || e.outcome === outcome),
    );
  }

  get endpoint(): string {
    return `${this.ip4}:${this.port}`;
  }

  /** This peer floods to `others` (explicit neighbours, like --neighbor). */
  knows(...others: SimPeer[]): void {
    for (const o of others) this.neighbors.addConfigured(o.ip4, o.port);
  }

  async close(): Promise<void> {
    this.service?.close();
    await this.listener?.close(0);
  }
}

/** Simulated peers on distinct 127.0.0.x addresses, each on a free port. */
export class Swarm {
  private readonly peers: SimPeer[] = [];
  /** Every event of every peer, in order: wait here for conditions spanning several peers. */
  readonly events = new Feed<{ peer: SimPeer; event: FloodEvent }>();
  private static nextHost = 20;

  async add(options: SimPeerOptions): Promise<SimPeer> {
    const ip4 = `127.0.0.${Swarm.nextHost}`;
    Swarm.nextHost = Swarm.nextHost >= 250 ? 20 : Swarm.nextHost + 1;
    const peer = new SimPeer(options.name, ip4, options, this.events);
    await peer.start();
    this.peers.push(peer);
    return peer;
  }

  async close(): Promise<void> {
    await Promise.all(this.peers.splice(0).map((p) => p.close()));
  }
}

/** Connects, writes `bytes` in one write, closes, and resolves once the server closed too. */
export function sendRaw(host: string, port: number, bytes: Buffer, localAddress?: string): Promise<{ closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from ${host}:${port}`));
    }, 10_000);
    let ended = false;
    socket.on('connect', () => socket.end(bytes));
    socket.on('end', () => {
      ended = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closedByServer: ended });
    });
  });
}
