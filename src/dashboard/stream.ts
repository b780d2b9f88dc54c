/**
 * Server-sent events to browsers, coalesced: the observer only marks that
 * something changed (O(1) per tracker event); at most one push per `intervalMs`
 * builds one delta (what changed since the previous push) and writes the same
 * bytes to every client. A client that connects gets one full state first.
 * Thousands of RPADs per second thus cost a page a few small messages a second.
 */
import type { ServerResponse } from 'node:http';

export interface StreamOptions {
  /** Minimum time between two pushes. */
  intervalMs: number;
  /** Comment line sent when idle, so proxies and browsers keep the connection. */
  heartbeatMs: number;
  maxClients: number;
  /** The full state for a client that connects (resuming after `lastEventId` if it says so). */
  state(lastEventId: number | null): { id: number; data: unknown };
  /** What changed since the previous call, or null if nothing did. */
  delta(): { id: number; data: unknown } | null;
  onClients?(n: number): void;
  onError?(err: unknown): void;
  now?: () => number;
}

export class StreamHub {
  private readonly clients = new Set<ServerResponse>();
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private lastPush = -Infinity;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: StreamOptions) {
    this.heartbeat = setInterval(() => this.broadcast(': keepalive\n\n'), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Marks state as changed: a push follows within `intervalMs` if anyone listens. */
  touch(): void {
    if (this.closed || this.clients.size === 0) return;
    this.dirty = true;
    this.schedule();
  }

  /** Adopts a response as an SSE client; false (and nothing written) if full. */
  add(res: ServerResponse, lastEventId: number | null): boolean {
    if (this.closed || this.clients.size >= this.options.maxClients) return false;
    // The first listener: what changed while nobody listened is in its state; drop it from the next delta.
    if (this.clients.size === 0) {
      try {
        this.options.delta();
      } catch (err) {
        this.options.onError?.(err);
      }
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    const drop = (): void => {
      if (this.clients.delete(res)) this.options.onClients?.(this.clients.size);
    };
    res.on('close', drop);
    res.on('error', drop);
    this.options.onClients?.(this.clients.size);
    try {
      const { id, data } = this.options.state(lastEventId);
      res.write(`retry: 2000\nid: ${id}\nevent: state\ndata: ${JSON.stringify(data)}\n\n`);
    } catch (err) {
      this.options.onError?.(err);
      res.destroy();
    }
    return true;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.options.onClients?.(0);
  }

  private schedule(): void {
    if (this.timer) return;
    const now = (this.options.now ?? Date.now)();
    const wait = Math.max(0, this.lastPush + this.options.intervalMs - now);
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    if (!this.dirty || this.clients.size === 0) {
      this.dirty = false;
      return;
    }
    this.dirty = false;
    this.lastPush = (this.options.now ?? Date.now)();
    try {
      const push = this.options.delta();
      if (push) this.broadcast(`id: ${push.id}\nevent: delta\ndata: ${JSON.stringify(push.data)}\n\n`);
    } catch (err) {
      this.options.onError?.(err);
    }
  }
  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.destroyed || res.writableEnded) {
        this.clients.delete(res);
        continue;
      }
      // A client that does not read (buffer over 1 MB) is dropped rather than buffered forever.
      if (res.writableLength > 1 << 20) {
        res.destroy();
        this.clients.delete(res);
        continue;
      }
      res.write(text);
    }
    this.options.onClients?.(this.clients.size);
  }
}
