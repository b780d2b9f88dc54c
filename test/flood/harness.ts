/**
 * A stand-in for the peer listener, for the flooding tests: per simulated peer a
 * real TCP server on its own 127.0.0.x address that reads QUER/AQUE with
 * MessageReader and hands them to a FloodService; a malformed message closes its
 * connection with a log line. Replace with the real peer listener once it exists.
 */
import { Writable } from 'node:stream';
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { isBugTorrentError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { type PeerAddress, peerAddress } from '../../src/protocol/address.js';
import { MessageReader } from '../../src/protocol/reader.js';
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
  readonly neighbors: NeighborSet;
  readonly service: FloodService;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly name: string,
    readonly ip4: string,
    readonly port: number,
    private readonly server: Server,
    options: SimPeerOptions,
    /** Every event of every peer of the swarm, to wait on conditions spanning peers. */
    all?: Feed<{ peer: SimPeer; event: FloodEvent }>,
  ) {
    this.files = options.files ?? [];
    this.address = peerAddress(ip4, '::1');
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
    const logger = createLogger({ destination: sink, format: 'json', level: 'debug', name });
    this.neighbors = new NeighborSet({ self: { address: this.address, port } });
    this.service = createFloodService({
      self: { address: this.address, port },
      sharedFiles: () => this.files,
      neighbors: this.neighbors,
      logger,
      now: this.clock.now,
      observer: (e) => {
        this.events.push(e);
        all?.push({ peer: this, event: e });
      },
      ...(options.limits ? { limits: options.limits } : {}),
    });
    server.on('connection', (socket) => this.serve(socket, logger));
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

  private serve(socket: Socket, logger: ReturnType<typeof createLogger>): void {
    this.sockets.add(socket);
    const remote = { address: socket.remoteAddress, port: socket.remotePort };
    const reader = new MessageReader({ accept: ['QUER', 'AQUE'], maxBuffered: 4096 });
    const fail = (err: unknown): void => {
      logger.warn(
        { remote, code: isBugTorrentError(err) ? err.code : undefined, reason: (err as Error).message },
        'closing connection: malformed message',
      );
      socket.destroy();
    };
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let messages;
      try {
        messages = reader.push(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      for (const m of messages) {
        if (m.command === 'QUER') this.service.onQuer(m, remote);
        else if (m.command === 'AQUE') this.service.onAque(m, remote);
      }
    });
    socket.on('end', () => {
      try {
        reader.end();
      } catch (err) {
        fail(err);
        return;
      }
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    this.service.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
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
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, ip4, () => resolve());
    });
    const peer = new SimPeer(options.name, ip4, (server.address() as AddressInfo).port, server, options, this.events);
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
