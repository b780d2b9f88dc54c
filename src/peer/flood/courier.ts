/**
 * The edge that sends one message on a new connection: connect (IPv4 first,
 * IPv6 as the fallback), one write of the whole buffer, close. Outgoing sockets
 * are bound to our own announced address of the same family, so the receiver
 * sees who we are; if that address is not ours to bind, the attempt is repeated
 * unbound. The number of connections in flight and waiting is capped, so a burst
 * of queries cannot open unbounded sockets.
 */
import { type Socket, connect as netConnect } from 'node:net';
import type { Endpoint } from './plan.js';

/** Opens an outgoing TCP connection (net.connect unless a test or the peer injects another). */
export type Connect = (options: { host: string; port: number; family: 4 | 6; localAddress?: string }) => Socket;

export const defaultConnect: Connect = (o) =>
  netConnect({ host: o.host, port: o.port, family: o.family, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });

export type Delivery =
  | { readonly ok: true; readonly endpoint: Endpoint }
  | { readonly ok: false; readonly error: string };

export interface CourierOptions {
  readonly connect?: Connect;
  /** Address to bind outgoing sockets of a family to, or undefined for none. */
  readonly localAddress?: (family: 4 | 6) => string | undefined;
  readonly connectTimeoutMs?: number;
  readonly maxConcurrent?: number;
  readonly maxQueued?: number;
}

const BIND_ERRORS = new Set(['EADDRNOTAVAIL', 'EINVAL', 'EAFNOSUPPORT']);

class AttemptError extends Error {
  constructor(message: string, readonly code: string | undefined, readonly connected: boolean) {
    super(message);
  }
}

export class Courier {
  private readonly connect: Connect;
  private readonly localAddress: (family: 4 | 6) => string | undefined;
  private readonly connectTimeoutMs: number;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private closed = false;

  constructor(options: CourierOptions = {}) {
    this.connect = options.connect ?? defaultConnect;
    this.localAddress = options.localAddress ?? (() => undefined);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.maxConcurrent = options.maxConcurrent ?? 32;
    this.maxQueued = options.maxQueued ?? 1024;
  }

  /** Sends `message` to the first endpoint that accepts a connection. Never rejects. */
  async send(message: Buffer, endpoints: readonly Endpoint[]): Promise<Delivery> {
    if (this.closed) return { ok: false, error: 'shutting down' };
    if (endpoints.length === 0) return { ok: false, error: 'no usable address' };
    if (this.active >= this.maxConcurrent) {
      if (this.queue.length >= this.maxQueued) return { ok: false, error: `send queue full (${this.maxQueued})` };
      await new Promise<void>((resolve) => this.queue.push(resolve));
      if (this.closed) return { ok: false, error: 'shutting down' };
    }
    this.active++;
    try {
      const errors: string[] = [];
      for (const endpoint of endpoints) {
        const local = this.localAddress(endpoint.family);
        try {
          await this.attempt(message, endpoint, local);
          return { ok: true, endpoint };
        } catch (err) {
          const e = err as AttemptError;
          if (local !== undefined && !e.connected && e.code !== undefined && BIND_ERRORS.has(e.code)) {
            try {
              await this.attempt(message, endpoint, undefined);
              return { ok: true, endpoint };
            } catch (err2) {
              errors.push(`${endpoint.host}: ${(err2 as Error).message}`);
              if ((err2 as AttemptError).connected) break;
              continue;
            }
          }
          errors.push(`${endpoint.host}: ${e.message}`);
          // Once connected, the bytes may have gone out: do not send them again elsewhere.
          if (e.connected) break;
        }
      }
      return { ok: false, error: errors.join('; ') };
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  /** Destroys connections in flight and refuses further sends. */
  close(): void {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    for (const wake of this.queue.splice(0)) wake();
  }

  private attempt(message: Buffer, endpoint: Endpoint, localAddress: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      let connected = false;
      let settled = false;
      let socket: Socket;
      const settle = (err?: AttemptError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.sockets.delete(socket);
        // After 'finish' our FIN is queued behind the data; closing the descriptor does not drop it.
        socket.destroy();
        if (err) reject(err);
        else resolve();
      };
      try {
        socket = this.connect({ host: endpoint.host, port: endpoint.port, family: endpoint.family, ...(localAddress ? { localAddress } : {}) });
      } catch (err) {
        reject(new AttemptError((err as Error).message, (err as NodeJS.ErrnoException).code, false));
        return;
      }
      this.sockets.add(socket);
      const timer = setTimeout(
        () => settle(new AttemptError(connected ? 'write timed out' : `connect timed out after ${this.connectTimeoutMs} ms`, 'ETIMEDOUT', connected)),
        this.connectTimeoutMs,
      );
      socket.once('connect', () => {
        connected = true;
        socket.end(message, () => settle());
      });
      socket.on('error', (err: NodeJS.ErrnoException) => settle(new AttemptError(err.message, err.code, connected)));
      socket.once('close', () => settle(new AttemptError('connection closed before the message was sent', undefined, connected)));
      // Whatever the other side says is ignored (the protocol has no reply here).
      socket.on('data', () => undefined);
    });
  }
}
