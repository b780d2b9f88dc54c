/**
 * The edge around the pure `TokenBucket`: a `Throttle` whose `consume` sleeps
 * until the bytes fit the rate. Waiters are served strictly first come, first
 * served by one pump, so every connection sharing one throttle (create one per
 * direction per peer and hand the same object to every connection) stays within
 * the rate together, and none can starve another: a connection asks for one
 * chunk at a time, so FIFO means round robin between busy connections.
 *
 * Clock and sleep are injected so tests run on a fake clock.
 */
import type { Throttle } from '../bandwidth.js';
import { TokenBucket } from './token-bucket.js';

export interface ThrottleOptions {
  /** Bytes per second; 0 = unlimited. */
  rate: number;
  /** Bucket capacity in bytes; see `defaultBurst` in token-bucket.ts. */
  burst?: number;
  /** Milliseconds, monotonic. Default `performance.now()`. */
  now?: () => number;
  /** Resolves after about `ms` milliseconds. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** A `Throttle` that also reports its settings and queue, and accepts an abort signal. */
export interface RateLimiter extends Throttle {
  /** Bytes per second; 0 = unlimited. */
  readonly rate: number;
  /** Bucket capacity in bytes (Infinity when unlimited). */
  readonly burst: number;
  /**
   * Resolves when `bytes` may be sent (or were received). With `signal`, an abort
   * removes the waiter from the queue (it takes no tokens) and rejects with the
   * signal's reason.
   */
  consume(bytes: number, signal?: AbortSignal): Promise<void>;
  /** How many consumers are waiting. */
  waiting(): number;
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  cancelled: boolean;
}

const defaultNow = (): number => performance.now();
const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(ms))));

function checkBytes(bytes: number): RangeError | null {
  return Number.isFinite(bytes) && bytes >= 0 ? null : new RangeError(`cannot consume ${bytes} bytes`);
}

export function createThrottle(options: ThrottleOptions): RateLimiter {
  if (!Number.isFinite(options.rate) || options.rate < 0) {
    throw new RangeError(`throttle rate must be >= 0 bytes/s (0 = unlimited), got ${options.rate}`);
  }
  if (options.rate === 0) {
    return {
      rate: 0,
      burst: Infinity,
      consume: (bytes: number, signal?: AbortSignal) => {
        const bad = checkBytes(bytes);
        if (bad) return Promise.reject(bad);
        if (signal?.aborted) return Promise.reject(signal.reason);
        return Promise.resolve();
      },
      waiting: () => 0,
    };
  }
  return new BucketThrottle(options);
}

class BucketThrottle implements RateLimiter {
  readonly rate: number;
  readonly burst: number;
  private readonly bucket: TokenBucket;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly queue: Waiter[] = [];
  private pumping = false;

  constructor(options: ThrottleOptions) {
    this.now = options.now ?? defaultNow;
    this.sleep = options.sleep ?? defaultSleep;
    this.bucket = new TokenBucket({ rate: options.rate, burst: options.burst }, this.now());
    this.rate = this.bucket.rate;
    this.burst = this.bucket.burst;
  }

  waiting(): number {
    return this.queue.length;
  }

  consume(bytes: number, signal?: AbortSignal): Promise<void> {
    const bad = checkBytes(bytes);
    if (bad) return Promise.reject(bad);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (bytes === 0) return Promise.resolve();
    // Fast path: nobody waiting and the tokens are there.
    if (this.queue.length === 0 && this.bucket.tryTake(bytes, this.now())) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, cancelled: false };
      if (signal) {
        const onAbort = (): void => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          waiter.cancelled = true;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      }
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /** One loop at a time serves the queue head, sleeping until its bytes fit. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        const wait = this.bucket.delayFor(head.bytes, this.now());
        if (wait > 0) {
          await this.sleep(wait);
          continue; // the head may have been aborted meanwhile; look again
        }
        this.bucket.tryTake(head.bytes, this.now());
        this.queue.shift();
        if (!head.cancelled) head.resolve();
      }
    } catch (err) {
      // Only a broken injected sleep gets here: fail everyone rather than hang.
      for (const w of this.queue.splice(0)) w.reject(err);
    } finally {
      this.pumping = false;
    }
  }
}
