/**
 * A pure token bucket: `rate` bytes per second refill a bucket that holds at most
 * `burst` bytes. No timers, no clock of its own: every call takes `now` (ms).
 *
 * Oversized takes: a take of `n > burst` bytes can never find `n` tokens, so a
 * take is allowed once the bucket holds `min(n, burst)` tokens, and then removes
 * all `n`, leaving the bucket in debt. The next take waits for the debt to be
 * repaid, so a big chunk passes but takes proportionally longer overall.
 *
 * Guarantee: over any interval of length T, the bytes taken are at most
 * `burst + rate·T + max(0, largestTake − burst)` (one chunk above the rate when
 * chunks are no larger than the burst).
 *
 * The edge wrapper that turns this into a `Throttle` (with sleeping and a FIFO
 * of waiters) is in `throttle.ts`.
 */

/** Bytes of one chunk on the wire (what other implementations send; see PROTOCOL.md). */
export const CHUNK_BYTES = 4096;

/**
 * The burst we use when none is given: one chunk plus the bytes of
 * `BURST_TIME_MS` (20 ms) at the rate.
 *
 * Why not exactly one chunk: timers fire late (>= 1 ms in Node, often 5-15 ms on
 * two busy cores). A waiter wakes when its chunk fits; if the bucket can hold no
 * more than that chunk, every token that arrives while the timer is late is
 * thrown away, and the rate falls short: at 100 kB/s (a 4096-byte chunk every
 * 41 ms) a timer 8 ms late loses 16 %. The 20 ms of slack absorbs that lateness.
 * The price is small: the most that can go out above the rate in any interval is
 * one chunk plus 20 ms of traffic (5096 bytes at 50 kB/s, 44 096 at 2 MB/s),
 * i.e. < 1 % over a measurement window of 2 s or more.
 */
export const BURST_TIME_MS = 20;

export function defaultBurst(rate: number): number {
  return CHUNK_BYTES + Math.ceil((rate * BURST_TIME_MS) / 1000);
}

/** Tolerance for floating-point drift when comparing token counts. */
const EPSILON = 1e-6;

export interface TokenBucketOptions {
  /** Bytes per second; must be > 0 (0 = unlimited is handled by the wrapper). */
  rate: number;
  /** Bucket capacity in bytes; defaults to `defaultBurst(rate)`. */
  burst?: number;
  /** Start full (default) or empty. */
  startFull?: boolean;
}

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(options: TokenBucketOptions, now: number) {
    if (!Number.isFinite(options.rate) || options.rate <= 0) {
      throw new RangeError(`token bucket rate must be a positive number of bytes/s, got ${options.rate}`);
    }
    const burst = options.burst ?? defaultBurst(options.rate);
    if (!Number.isFinite(burst) || burst <= 0) {
      throw new RangeError(`token bucket burst must be a positive number of bytes, got ${burst}`);
    }
    this.rate = options.rate;
    this.burst = burst;
    this.tokens = options.startFull === false ? 0 : burst;
    this.last = now;
  }

  /** Tokens available at `now` (negative while in debt after an oversized take). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Takes `n` bytes if allowed at `now`; returns whether it did. */
  tryTake(n: number, now: number): boolean {
    if (n <= 0) return true;
    this.refill(now);
    if (this.tokens + EPSILON < Math.min(n, this.burst)) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds from `now` until `tryTake(n)` would succeed (0 = now). Takes nothing. */
  delayFor(n: number, now: number): number {
    if (n <= 0) return 0;
    this.refill(now);
    const missing = Math.min(n, this.burst) - this.tokens;
    if (missing <= EPSILON) return 0;
    return (missing * 1000) / this.rate;
  }

  private refill(now: number): void {
    // A clock that goes backwards (should not happen with a monotonic clock) adds nothing.
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
    }
  }
}
