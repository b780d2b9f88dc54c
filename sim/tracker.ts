/**
 * The simulated tracker: the real Registry (memory store) behind a modelled
 * server with its own budget: one request at a time, at most `requestsPerSec`
 * (a token bucket), replies leaving through an egress of `egressBytesPerSec`
 * (another token bucket), first come first served. Requests and reply bytes are
 * counted per time bin for the report.
 */
import type { EventQueue } from './events.js';
import { type SimBucket, type SimRegistry, newBucket } from './real.js';
import { Series } from './stats.js';

export type TrackerKind = 'LOGI' | 'ADDR' | 'FCHU' | 'RPAD' | 'LOGO';

export interface TrackerBudget {
  /** Requests served per second at most (bench:tracker measures ~9 500 FCHU/s on this machine). */
  readonly requestsPerSec: number;
  /** Reply bytes per second at most (the tracker's uplink). */
  readonly egressBytesPerSec: number;
}

interface Pending {
  readonly kind: TrackerKind;
  readonly requestBytes: number;
  /** Runs the request against the registry at service time; returns the reply's size. */
  readonly serve: () => number;
  readonly onReply: () => void;
}

export class SimTracker {
  readonly requests: Series;
  readonly bytesOut: Series;
  readonly bytesIn: Series;
  readonly byKind = new Map<TrackerKind, number>();
  /** Longest wait in the tracker's queue, ms. */
  maxQueueMs = 0;
  private readonly queue: { p: Pending; arrived: number }[] = [];
  private head = 0;
  private busy = false;
  private readonly reqBucket: SimBucket;
  private readonly egress: SimBucket;

  constructor(
    private readonly q: EventQueue,
    readonly registry: SimRegistry,
    budget: TrackerBudget,
    /** One-way latency to the tracker, ms. */
    private readonly latencyMs: number,
    binMs: number,
  ) {
    this.requests = new Series(binMs);
    this.bytesOut = new Series(binMs);
    this.bytesIn = new Series(binMs);
    this.reqBucket = newBucket(budget.requestsPerSec, 0, Math.max(1, budget.requestsPerSec / 100));
    this.egress = newBucket(budget.egressBytesPerSec, 0);
  }

  /** A client sends a request now (a new connection: one round trip, then the request; `sendDelayMs`: its uplink's queue). */
  call(kind: TrackerKind, requestBytes: number, serve: () => number, onReply: () => void, sendDelayMs = 0): void {
    this.q.after(3 * this.latencyMs + sendDelayMs, () => {
      this.queue.push({ p: { kind, requestBytes, serve, onReply }, arrived: this.q.now });
      if (!this.busy) this.next();
    });
  }

  get backlog(): number {
    return this.queue.length - this.head;
  }

  private next(): void {
    if (this.head >= this.queue.length) {
      this.busy = false;
      this.queue.length = 0;
      this.head = 0;
      return;
    }
    this.busy = true;
    const now = this.q.now;
    const wait = this.reqBucket.delayFor(1, now);
    if (wait > 0) {
      this.q.after(wait, () => this.next());
      return;
    }
    this.reqBucket.take(1, now);
    const { p, arrived } = this.queue[this.head++]!;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.maxQueueMs = Math.max(this.maxQueueMs, now - arrived);
    const bytes = p.serve();
    this.requests.add(now, 1);
    this.bytesIn.add(now, p.requestBytes);
    this.byKind.set(p.kind, (this.byKind.get(p.kind) ?? 0) + 1);
    const send = (): void => {
      this.egress.take(bytes, this.q.now);
      this.bytesOut.add(this.q.now, bytes);
      this.q.after(this.latencyMs, p.onReply);
      this.next();
    };
    const out = this.egress.delayFor(bytes, now);
    if (out > 0) this.q.after(out, send);
    else send();
  }
}
