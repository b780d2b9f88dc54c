/**
 * The tracker's imperative shell: sockets, framing, caps and timeouts. Bytes go
 * through a MessageReader (a request may arrive split anywhere, several may
 * arrive together); each decoded request goes to its handler and the reply goes
 * out in one write of one Buffer. Once every complete request received on a
 * connection is answered, the tracker closes it (PROTOCOL.md, Framing: clients
 * read AFCH and ALOO until the close). Who may hold a connection and for how
 * long is the ConnectionGuard's call (src/net/guard.ts). Anything wrong closes
 * only its own connection, with a log line saying why.
 */
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ProtocolError, RequestRefusedError, isBugTorrentError } from '../errors.js';
import type { Logger } from '../log.js';
import { DropLog } from '../net/drop-log.js';
import { ConnectionGuard, type Drop, type Slot } from '../net/guard.js';
import { type Message, MessageReader, encodeMessage, formatHostPort } from '../protocol/index.js';
import { TRACKER_REQUESTS } from '../protocol/messages.js';
import type { RequestOutcome } from './events.js';
import { AfchCache, type HandlerContext, LOGIN_FAILED_REPLY, type TrackerRequestMessage, handle } from './handlers.js';
import type { Registry } from './registry.js';

export interface ServerLimits {
  /** Close a connection with no traffic for this long. */
  readonly idleTimeoutMs: number;
  /** Open connections at most; at the cap the longest-waiting one is closed for a newcomer. */
  readonly maxConnections: number;
  /** Open connections at most from one client (IPv4 and IPv6 forms together). */
  readonly maxPerAddress: number;
  /** A request must arrive complete within this long of its first byte (slowloris). */
  readonly requestTimeoutMs: number;
  /** Bytes a connection may have buffered towards an incomplete request. */
  readonly maxBuffered: number;
}

/**
 * Per client 64: the load generator of bench/tracker.ts runs 32 connections from
 * one address, a host of many peers rarely has more than a few requests open.
 */
export const DEFAULT_LIMITS: ServerLimits = {
  idleTimeoutMs: 30_000,
  maxConnections: 1024,
  maxPerAddress: 64,
  requestTimeoutMs: 10_000,
  maxBuffered: 16 * 1024,
};

export interface ServerHooks {
  request(command: string, outcome: RequestOutcome, seconds: number): void;
  connections(open: number): void;
}

const LOGIN_FAILED = encodeMessage(LOGIN_FAILED_REPLY);

/** Errors listening on `::` that mean "no IPv6 here": fall back to IPv4. */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

/**
 * Accept queue length asked of listen(2) (the kernel caps it at net.core.somaxconn).
 * Node's default of 511 overflows when a burst of one-request connections
 * arrives at once; an overflow drops the SYN and costs the client a 1 s retry.
 */
const LISTEN_BACKLOG = 4096;

function listenOn(server: Server, options: { host: string; port: number; ipv6Only?: boolean }): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ ...options, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** How long a connection closed after replies may take to read them. */
const LINGER_MS = 2000;

function remoteOf(socket: Socket): string {
  return formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
}

export class TrackerServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private readonly context: HandlerContext;
  private readonly guard: ConnectionGuard<Socket>;
  private readonly drops: DropLog;
  /** One timer for all deadlines (cheaper than a timer per connection at thousands of connections/s). */
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    registry: Registry,
    private readonly log: Logger,
    private readonly limits: ServerLimits,
    private readonly hooks: ServerHooks,
  ) {
    this.context = { registry, afch: new AfchCache() };
    this.guard = new ConnectionGuard<Socket>(
      { maxConnections: limits.maxConnections, maxPerAddress: limits.maxPerAddress, requestTimeoutMs: limits.requestTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs },
      () => performance.now(),
    );
    this.drops = new DropLog(log);
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.onConnection(socket));
    // A failed listen is reported by whoever started us (with a hint); other server errors are logged here.
    this.server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.syscall !== 'listen') this.log.error({ err }, 'server error');
    });
    const every = Math.max(5, Math.min(1000, Math.floor(Math.min(limits.idleTimeoutMs, limits.requestTimeoutMs) / 4)));
    this.sweeper = setInterval(() => this.sweep(), every).unref();
  }

  /** Closes connections past a deadline (checked every quarter of the shorter one, at most every second). */
  private sweep(): void {
    for (const d of this.guard.expired()) this.dropped(d);
    this.drops.flush();
  }

  private dropped(d: Drop<Socket>): void {
    this.drops.add(d.reason, d.key, remoteOf(d.handle));
    d.handle.destroy();
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Dual-stack on `::` (falling back to 0.0.0.0 without IPv6) unless `host` names one address. */
  async listen(host: string | undefined, port: number): Promise<AddressInfo> {
    if (host !== undefined) return listenOn(this.server, { host, port });
    try {
      return await listenOn(this.server, { host: '::', port, ipv6Only: false });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!NO_IPV6.has(code)) throw err;
      this.log.warn({ code }, 'IPv6 unavailable, listening on IPv4 only');
      return listenOn(this.server, { host: '0.0.0.0', port });
    }
  }

  /** Stops accepting, closes every open connection, resolves when the server is closed. */
  close(): Promise<void> {
    clearInterval(this.sweeper);
    return new Promise((resolve) => {
      if (!this.server.listening) {
        for (const c of this.connections) c.socket.destroy();
        resolve();
        return;
      }
      this.server.close(() => resolve());
      for (const c of this.connections) c.socket.destroy();
    });
  }

  private onConnection(socket: Socket): void {
    const { slot, drops } = this.guard.open(socket.remoteAddress, socket);
    for (const d of drops) this.dropped(d);
    if (slot === null) return;
    const connection = new Connection(socket, slot, this.context, this.log, this.limits, this.hooks, this.onClose);
    this.connections.add(connection);
    this.hooks.connections(this.guard.size);
  }

  /** A connection's socket closed: forget it and report the new count. */
  private readonly onClose = (connection: Connection): void => {
    connection.slot.release();
    this.connections.delete(connection);
    this.hooks.connections(this.guard.size);
  };
}

/** One client connection: framing, the request queue, and how it ends. */
class Connection {
  private readonly reader: MessageReader;
  /** Decoded requests not yet answered (waiting for the socket to drain). */
  private readonly queue: Message[] = [];
  private ended = false;
  private closing = false;
  /** Replies written on this connection. */
  private replies = 0;
  /** Requests decoded from the chunk being read. */
  private completed = 0;
  /** Whether a 'drain' listener is installed (only once a reply had to wait for the socket). */
  private drainListening = false;
  /** Hands each decoded request to the queue (one function per connection, not one per chunk). */
  private readonly deliver = (m: Message): void => {
    this.completed++;
    this.queue.push(m);
  };

  constructor(
    readonly socket: Socket,
    readonly slot: Slot<Socket>,
    private readonly context: HandlerContext,
    private readonly log: Logger,
    limits: ServerLimits,
    private readonly hooks: ServerHooks,
    onClose: (connection: Connection) => void,
  ) {
    this.reader = new MessageReader({ accept: TRACKER_REQUESTS, maxBuffered: limits.maxBuffered });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.pump();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.closing = true;
      if (this.log.isLevelEnabled('debug')) this.log.debug({ remote: this.remote, code: err.code, reason: err.message }, 'connection error');
    });
    // 'close' is emitted once: on() spares the wrapper once() allocates.
    socket.on('close', () => onClose(this));
  }

  /** Looked up only for log lines (getpeername is a system call). */
  private get remote(): string {
    return remoteOf(this.socket);
  }

  private onData(chunk: Buffer): void {
    this.slot.active();
    // Bytes after the close began (a client that did not wait for it) go unanswered.
    if (this.closing) return;
    const started = performance.now();
    this.completed = 0;
    try {
      this.reader.feed(chunk, this.deliver);
      this.slot.read(this.completed, this.reader.inMessage);
    } catch (err) {
      // Requests completed before the bad bytes still get their replies, in order.
      while (this.queue.length > 0) this.serve(this.queue.shift() as Message);
      if (!this.closing) this.malformed(err, started);
      return;
    }
    this.pump();
  }

  /** Answers queued requests while the socket takes writes; finishes a half-closed connection. */
  private pump(): void {
    while (!this.closing && this.queue.length > 0 && !this.socket.writableNeedDrain) {
      this.serve(this.queue.shift() as Message);
    }
    if (this.closing) return;
    // Stop reading while replies wait for the client to read them.
    if (this.queue.length > 0) {
      this.socket.pause();
      this.listenDrain();
    } else if (this.socket.isPaused()) this.socket.resume();
    if (this.queue.length > 0) return;
    if (this.ended) {
      this.closing = true;
      this.slot.closing();
      try {
        this.reader.end();
      } catch (err) {
        // The client half-closed in the middle of a request.
        this.malformed(err, performance.now());
        return;
      }
      // The client sent its FIN and every reply is answered. When they have all been
      // handed to the kernel, closing the descriptor sends them and then our FIN,
      // like end() but without the shutdown(2) round trip through libuv; replies
      // still queued in Node take the end() path, which flushes them first.
      if (this.socket.writableLength === 0) this.socket.destroy();
      else this.socket.end();
    } else if (this.replies > 0 && !this.reader.inMessage) {
      // Every complete request received is answered and no other has begun: close
      // (a client reading until the close gets its reply now). A FIN, not a close
      // of the descriptor: bytes the client sends meanwhile would turn that into a
      // reset, which can throw away replies it has not read yet. The socket goes
      // once the client's FIN comes back, or by the guard's idle deadline.
      this.closing = true;
      this.slot.closing();
      this.socket.end();
    }
  }

  /** Installs the 'drain' listener the first time a write fills the socket's buffer. */
  private listenDrain(): void {
    if (this.drainListening) return;
    this.drainListening = true;
    this.socket.on('drain', () => {
      this.slot.active();
      this.pump();
    });
  }

  private serve(request: Message): void {
    if (this.closing) return;
    const started = performance.now();
    let reply: Buffer;
    try {
      reply = handle(this.context, request as TrackerRequestMessage);
    } catch (err) {
      this.closing = true;
      const outcome: RequestOutcome = err instanceof RequestRefusedError || err instanceof ProtocolError ? 'refused' : 'malformed';
      if (isBugTorrentError(err)) {
        this.log.warn({ remote: this.remote, command: request.command, code: err.code, reason: err.message }, 'request refused, connection closed');
      } else {
        this.log.error({ remote: this.remote, command: request.command, err }, 'request failed, connection closed');
      }
      this.hooks.request(request.command, outcome, (performance.now() - started) / 1000);
      this.shut();
      return;
    }
    this.replies++;
    // A reply the kernel did not take at once: count its draining as activity.
    if (!this.socket.write(reply)) this.listenDrain();
    this.hooks.request(request.command, 'ok', (performance.now() - started) / 1000);
  }

  /** A request that breaks the wire format: a malformed LOGI gets the null session, anything else a close. */
  private malformed(err: unknown, started: number): void {
    this.closing = true;
    const command = this.reader.pendingCommand;
    const code = isBugTorrentError(err) ? err.code : 'UNKNOWN';
    const reason = err instanceof Error ? err.message : String(err);
    this.hooks.request(command ?? 'unknown', 'malformed', (performance.now() - started) / 1000);
    if (command === 'LOGI' && !this.socket.writableEnded && !this.socket.destroyed) {
      this.log.warn({ remote: this.remote, command, code, reason }, 'malformed LOGI, answered with the null session');
      this.queue.length = 0;
      this.socket.end(LOGIN_FAILED);
      return;
    }
    this.log.warn({ remote: this.remote, command: command ?? undefined, code, reason }, 'malformed request, connection closed');
    this.shut();
  }

  /**
   * Closes without a reply to the failed request. With nothing written yet, at
   * once (frees the slot); after replies, with a FIN, so that a reset cannot
   * throw away replies the client has not read yet (a "lingering close").
   */
  private shut(): void {
    this.closing = true;
    this.queue.length = 0;
    if (this.replies === 0 || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}
