/**
 * The peer's server: listens on the announced IPv4 and IPv6 addresses (same
 * port), frames requests with MessageReader, serves RETP through the uploader,
 * hands QUER and AQUE to optional handlers (the flooding search), and closes
 * anything else with a logged reason. Requests pipelined on one connection are
 * served one at a time, in order; once every complete request received is
 * answered the connection is closed (PROTOCOL.md, Framing: AREP has no length,
 * clients read it until the close). One ConnectionGuard (src/net/guard.ts) over
 * both address families decides who may hold a connection and for how long.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { BugTorrentError, ErrorCode, isBugTorrentError } from '../errors.js';
import type { Logger } from '../log.js';
import { DropLog } from '../net/drop-log.js';
import { ConnectionGuard, type Drop, type GuardLimits } from '../net/guard.js';
import { PenaltyBox } from '../net/penalty.js';
import { type MessageOf, MessageReader, PEER_REQUESTS, formatHostPort } from '../protocol/index.js';
import { type RemoteKey, remoteKey } from './bandwidth.js';
import { ReadHandles, type UploadContext, UploadRefused, UploadStalled, serveRetp } from './uploader.js';

export interface RemoteInfo {
  readonly key: RemoteKey;
  readonly address: string;
  readonly port: number;
}

/** Optional handlers for the flooding search (src/peer/flood). Each may be async; errors are logged. */
export interface PeerMessageHandlers {
  QUER?(msg: MessageOf<'QUER'>, remote: RemoteInfo): void | Promise<void>;
  AQUE?(msg: MessageOf<'AQUE'>, remote: RemoteInfo): void | Promise<void>;
}

export interface ListenerOptions {
  readonly ip4: string;
  readonly ip6: string;
  /** 0: any free port (the same on both addresses). */
  readonly port: number;
  readonly upload: UploadContext;
  readonly handlers?: PeerMessageHandlers;
  /** Connection limits over both families (defaults: DEFAULT_LISTENER_LIMITS). */
  readonly limits?: Partial<GuardLimits>;
  /**
   * A client whose upload stalled until it was cut gets no RETP answered for
   * this long (default 30 s): coming straight back, it would keep looking like
   * an interested peer to the choker and keep its slot.
   */
  readonly stallPenaltyMs?: number;
  readonly log: Logger;
}

/**
 * 16 per client: our downloader has at most a few parts in flight per owner
 * (--max-per-peer, 4) per download, each on its own connection.
 */
export const DEFAULT_LISTENER_LIMITS: GuardLimits = {
  maxConnections: 512,
  maxPerAddress: 16,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
};

function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

export class PeerListener {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly guard: ConnectionGuard<Socket>;
  private readonly drops: DropLog;
  private readonly stalled: PenaltyBox;
  private sweeper: NodeJS.Timeout | null = null;
  /** The shared files' read handles, closed with the listener. */
  private readonly readHandles = new ReadHandles();
  port = 0;

  constructor(private readonly options: ListenerOptions) {
    const limits = { ...DEFAULT_LISTENER_LIMITS, ...options.limits };
    this.guard = new ConnectionGuard<Socket>(limits, () => performance.now());
    this.drops = new DropLog(options.log);
    this.stalled = new PenaltyBox(options.stallPenaltyMs ?? 30_000, () => performance.now());
  }

  /** Open connections the guard counts (both families). */
  get openConnections(): number {
    return this.guard.size;
  }

  /** Closes connections past a deadline, every quarter of the shorter deadline (at most every second). */
  private startSweeper(): void {
    const { idleTimeoutMs, requestTimeoutMs } = this.guard.limits;
    const every = Math.max(5, Math.min(1000, Math.floor(Math.min(idleTimeoutMs, requestTimeoutMs) / 4)));
    this.sweeper = setInterval(() => {
      for (const d of this.guard.expired()) this.dropped(d);
      this.drops.flush();
    }, every);
    this.sweeper.unref();
  }

  private dropped(d: Drop<Socket>): void {
    this.drops.add(d.reason, d.key, formatHostPort(d.handle.remoteAddress ?? '?', d.handle.remotePort ?? 0));
    d.handle.destroy();
  }

  async start(): Promise<number> {
    const { ip4, ip6 } = this.options;
    for (let attempt = 0; ; attempt++) {
      const s4 = this.makeServer();
      const s6 = this.makeServer();
      try {
        const port = await listenOn(s4, ip4, this.options.port);
        await listenOn(s6, ip6, port);
        this.servers.push(s4, s6);
        this.port = port;
        this.startSweeper();
        return port;
      } catch (err) {
        s4.close();
        s6.close();
        // With port 0 the IPv6 side may find the IPv4 side's port taken: try another.
        if (this.options.port !== 0 || attempt >= 20) {
          const e = err as NodeJS.ErrnoException;
          throw new BugTorrentError(
            ErrorCode.LISTEN_FAILED,
            `cannot listen on ${formatHostPort(ip4, this.options.port)} and ${formatHostPort(ip6, this.options.port)}: ${e.message}` +
              (e.code === 'EADDRNOTAVAIL' ? ' (is that address configured on this host? see --ip4/--ip6)' : ''),
            { cause: err },
          );
        }
      }
    }
  }

  private makeServer(): Server {
    return createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
  }

  private readonly busy = new Set<Socket>();
  private idleWaiters: (() => void)[] = [];

  /**
   * Stops accepting, lets uploads in progress finish (a part is never cut in the
   * middle unless `graceMs` runs out), then closes every connection.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.sockets) if (!this.busy.has(s)) s.destroy();
    if (this.busy.size > 0) {
      await Promise.race([
        new Promise<void>((r) => this.idleWaiters.push(r)),
        new Promise<void>((r) => setTimeout(r, graceMs).unref()),
      ]);
    }
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.readHandles.close();
  }

  private setBusy(socket: Socket, busy: boolean): void {
    if (busy) this.busy.add(socket);
    else this.busy.delete(socket);
    if (this.busy.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private onConnection(socket: Socket): void {
    const log = this.options.log;
    const admission = this.guard.open(socket.remoteAddress, socket);
    for (const d of admission.drops) this.dropped(d);
    const slot = admission.slot;
    if (slot === null) return;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const remote: RemoteInfo = { key: remoteKey(socket.remoteAddress), address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    const who = formatHostPort(remote.key, remote.port);
    // A name in an AQUE that is not UTF-8 is repaired (U+FFFD), not refused: say so.
    const onRepair = (path: string, reason: string): void => log.warn({ remote: who, field: path, reason }, 'repaired a name that is not valid UTF-8');
    const reader = new MessageReader({ accept: PEER_REQUESTS, maxBuffered: 64 * 1024, context: () => ({ onRepair }) });
    let busy = false;
    let ended = false;
    let closing = false;
    /** Requests served on this connection. */
    let answered = 0;
    const queue: (MessageOf<'RETP'> | MessageOf<'QUER'> | MessageOf<'AQUE'>)[] = [];
    socket.on('close', () => {
      slot.release();
      this.sockets.delete(socket);
      this.setBusy(socket, false);
    });
    socket.on('error', (err) => log.debug({ remote: who, err: err.message }, 'connection error'));

    const refuse = (reason: string, extra: Record<string, unknown> = {}): void => {
      log.warn({ remote: who, reason, ...extra }, 'request refused; closing without reply');
      socket.destroy();
    };

    /** Every complete request received is answered and no other has begun (or the client is done): close. */
    const closeIfDone = (): void => {
      if (closing || busy || queue.length > 0 || socket.destroyed) return;
      if (ended) {
        closing = true;
        slot.closing();
        socket.end();
      } else if (answered > 0 && !reader.inMessage) {
        // A FIN after the last reply, not a close of the descriptor: a reset could throw
        // away reply bytes the client has not read yet. The socket goes when the
        // client's FIN comes back, or by the guard's idle deadline.
        closing = true;
        slot.closing();
        socket.end();
      }
    };

    const drain = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      slot.serve();
      this.setBusy(socket, true);
      try {
        while (queue.length > 0 && !socket.destroyed) {
          const msg = queue.shift()!;
          switch (msg.command) {
            case 'RETP': {
              const penalty = this.stalled.remaining(slot.key);
              if (penalty > 0) return refuse(`${slot.key} stalled an upload; no uploads to it for ${Math.ceil(penalty / 1000)} s more`, { md5: msg.md5, part: msg.part });
              try {
                await serveRetp(this.options.upload, this.readHandles, socket, msg, remote.key);
              } catch (err) {
                if (err instanceof UploadRefused) return refuse(err.message, { md5: msg.md5, part: msg.part });
                if (err instanceof UploadStalled) {
                  this.stalled.add(slot.key);
                  this.options.upload.admission.stalled?.(remote.key);
                  log.warn({ remote: who, md5: msg.md5, part: msg.part, code: err.code, reason: err.message, sent: err.sent, length: err.length }, 'upload stalled: slot released, connection closed');
                } else {
                  log.warn({ remote: who, md5: msg.md5, part: msg.part, err: (err as Error).message }, 'upload failed');
                }
                socket.destroy();
                return;
              }
              break;
            }
            case 'QUER':
            case 'AQUE': {
              const handler = this.options.handlers?.[msg.command] as ((m: typeof msg, r: RemoteInfo) => void | Promise<void>) | undefined;
              if (!handler) return refuse(`${msg.command} not handled by this peer`);
              try {
                await handler(msg, remote);
              } catch (err) {
                log.warn({ remote: who, command: msg.command, err: (err as Error).message }, 'handler failed');
              }
              break;
            }
          }
          answered++;
        }
      } finally {
        busy = false;
        slot.served();
        this.setBusy(socket, false);
        closeIfDone();
      }
    };

    socket.on('data', (chunk: Buffer) => {
      slot.active();
      // Bytes after the close began (the client did not wait for it) go unanswered.
      if (closing) return;
      let messages;
      try {
        messages = reader.push(chunk);
      } catch (err) {
        return refuse(isBugTorrentError(err) ? err.message : String(err), isBugTorrentError(err) ? { code: err.code } : {});
      }
      slot.read(messages.length, reader.inMessage);
      if (messages.length === 0) return;
      queue.push(...(messages as (MessageOf<'RETP'> | MessageOf<'QUER'> | MessageOf<'AQUE'>)[]));
      void drain();
    });
    socket.on('end', () => {
      try {
        reader.end();
      } catch (err) {
        log.warn({ remote: who, reason: (err as Error).message }, 'connection ended inside a request');
      }
      // The client is done sending: finish what is queued, then close our side.
      ended = true;
      closeIfDone();
    });
  }
}
