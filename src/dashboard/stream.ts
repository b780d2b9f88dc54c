/**
 * Server-sent events to browsers, coalesced: the observer only marks what
 * changed (O(1) per tracker event); at most one push per `intervalMs` builds one
 * snapshot from the view and writes the same bytes to every client. Thousands of
 * RPADs per second thus cost the browser a few small messages per second.
 */
import type { ServerResponse } from 'node:http';

export interface StreamOptions {
  /** Minimum time between two pushes. */
  intervalMs: number;
  /** Comment line sent when idle, so proxies and browsers keep the connection. */
  heartbeatMs: number;
  maxClients: number;
  /** Builds the payload of one push; `changed` is the md5s touched since the last one, or 'all'. */
  snapshot(changed: string[] | 'all', sinceSeq: number): { id: number; data: unknown };
  onClients?(n: number): void;
  onError?(err: unknown): void;
  now?: () => number;
}

/** Above this many distinct files touched in one interval, say 'all'. */
const MAX_CHANGED = 256;

export class StreamHub {
  private readonly clients = new Set<ServerResponse>();
  private changed = new Set<string>();
  private changedAll = false;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private lastPush = -Infinity;
  private lastSeq = 0;
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: StreamOptions) {
    this.heartbeat = setInterval(() => this.broadcast(': keepalive\n\n'), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Marks state as changed; `md5` narrows it to one file, `'all'` to everything
   * (logins, logouts), nothing to the feed alone.
   */
  touch(md5?: string | 'all'): void {
    if (this.closed) return;
    if (md5 === 'all') this.changedAll = true;
    else if (md5 !== undefined && !this.changedAll) {
      this.changed.add(md5);
      if (this.changed.size > MAX_CHANGED) this.changedAll = true;
    }
    this.dirty = true;
    this.schedule();
  }

  /** Adopts a response as an SSE client; false (and nothing written) if full. */
  add(res: ServerResponse, lastEventId: number | null): boolean {
    if (this.closed || this.clients.size >= this.options.maxClients) return false;
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
    // First message: everything, and the events the client missed (if it says where it was).
    try {
      const { id, data } = this.options.snapshot('all', lastEventId ?? -1);
      res.write(`retry: 2000\nid: ${id}\nevent: state\ndata: ${JSON.stringify(data)}\n\n`);
      // The only client: the next push starts where this snapshot ended.
      if (this.clients.size === 1) this.lastSeq = id;
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
    if (this.timer || this.clients.size === 0) {
      // Nobody listening: forget what changed; a new client starts from a full snapshot.
      if (this.clients.size === 0) this.reset();
      return;
    }
    const now = (this.options.now ?? Date.now)();
    const wait = Math.max(0, this.lastPush + this.options.intervalMs - now);
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private reset(): void {
    this.dirty = false;
    this.changed.clear();
    this.changedAll = false;
  }

  private flush(): void {
    this.timer = null;
    if (!this.dirty || this.clients.size === 0) {
      this.reset();
      return;
    }
    const changed = this.changedAll ? 'all' : [...this.changed];
    this.reset();
    this.lastPush = (this.options.now ?? Date.now)();
    try {
      const { id, data } = this.options.snapshot(changed, this.lastSeq);
      this.lastSeq = id;
      this.broadcast(`id: ${id}\nevent: state\ndata: ${JSON.stringify(data)}\n\n`);
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
