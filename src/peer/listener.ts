/**
 * The peer's server: listens on the announced IPv4 and IPv6 addresses (same
 * port), frames requests with MessageReader, serves RETP through the uploader,
 * hands QUER and AQUE to optional handlers (the flooding search), and closes
 * anything else with a logged reason. Accepts several requests per connection
 * (one at a time) and closes idle connections.
 */
import { type Server, type Socket, createServer } from 'node:net';
import { BugTorrentError, ErrorCode, isBugTorrentError } from '../errors.js';
import type { Logger } from '../log.js';
import { type MessageOf, MessageReader, PEER_REQUESTS, formatHostPort } from '../protocol/index.js';
import { type RemoteKey, remoteKey } from './bandwidth.js';
import { ReadHandles, type UploadContext, UploadRefused, serveRetp } from './uploader.js';

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
  readonly idleTimeoutMs?: number;
  /** Most open connections per address family (default 256); more are refused by the kernel backlog. */
  readonly maxConnections?: number;
  readonly log: Logger;
}

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
  /** The shared files' read handles, closed with the listener. */
  private readonly readHandles = new ReadHandles();
  port = 0;

  constructor(private readonly options: ListenerOptions) {}

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
    const server = createServer({ allowHalfOpen: true }, (socket) => this.onConnection(socket));
    server.maxConnections = this.options.maxConnections ?? 256;
    return server;
  }

  private readonly busy = new Set<Socket>();
  private idleWaiters: (() => void)[] = [];

  /**
   * Stops accepting, lets uploads in progress finish (a part is never cut in the
   * middle unless `graceMs` runs out), then closes every connection.
   */
  async close(graceMs = 10_000): Promise<void> {
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
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const remote: RemoteInfo = { key: remoteKey(socket.remoteAddress), address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    const who = formatHostPort(remote.key, remote.port);
    const reader = new MessageReader({ accept: PEER_REQUESTS, maxBuffered: 64 * 1024 });
    let busy = false;
    let ended = false;
    const queue: (MessageOf<'RETP'> | MessageOf<'QUER'> | MessageOf<'AQUE'>)[] = [];
    socket.setTimeout(this.options.idleTimeoutMs ?? 30_000, () => {
      if (!busy) {
        log.debug({ remote: who }, 'closing idle connection');
        socket.destroy();
      }
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.setBusy(socket, false);
    });
    socket.on('error', (err) => log.debug({ remote: who, err: err.message }, 'connection error'));

    const refuse = (reason: string, extra: Record<string, unknown> = {}): void => {
      log.warn({ remote: who, reason, ...extra }, 'request refused; closing without reply');
      socket.destroy();
    };

    const drain = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      this.setBusy(socket, true);
      try {
        while (queue.length > 0 && !socket.destroyed) {
          const msg = queue.shift()!;
          switch (msg.command) {
            case 'RETP':
              try {
                await serveRetp(this.options.upload, this.readHandles, socket, msg, remote.key);
              } catch (err) {
                if (err instanceof UploadRefused) return refuse(err.message, { md5: msg.md5, part: msg.part });
                log.warn({ remote: who, md5: msg.md5, part: msg.part, err: (err as Error).message }, 'upload failed');
                socket.destroy();
                return;
              }
              break;
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
        }
      } finally {
        busy = false;
        this.setBusy(socket, false);
        if (ended && !socket.destroyed) socket.end();
      }
    };

    socket.on('data', (chunk: Buffer) => {
      let messages;
      try {
        messages = reader.push(chunk);
      } catch (err) {
        return refuse(isBugTorrentError(err) ? err.message : String(err), isBugTorrentError(err) ? { code: err.code } : {});
      }
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
      if (!busy && queue.length === 0) socket.end();
    });
  }
}
