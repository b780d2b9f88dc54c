/**
 * Token buckets per key (per query originator), pure: the caller passes `now`
 * (ms). The table is bounded: when it is full, the least recently used key is
 * forgotten. A forgotten key comes back with a full bucket, so the cap must be
 * well above the number of originators a peer expects to serve at once; a
 * separate global bucket (the same class with one key) bounds the total.
 */

export interface TokenBucketOptions {
  /** Tokens a fresh bucket holds, i.e. the largest burst. */
  readonly burst: number;
  /** Tokens added per second (0: none, the burst is all there is). */
  readonly perSecond: number;
  /** Most keys remembered at once. */
  readonly maxKeys?: number;
}

export const DEFAULT_MAX_KEYS = 4096;

interface Bucket {
  tokens: number;
  at: number;
}

export class KeyedTokenBucket {
  readonly burst: number;
  readonly perSecond: number;
  readonly maxKeys: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: TokenBucketOptions) {
    this.burst = options.burst;
    this.perSecond = options.perSecond;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!(this.burst >= 1)) throw new RangeError('burst must be at least 1');
    if (!(this.perSecond >= 0) || !Number.isFinite(this.perSecond)) throw new RangeError('perSecond must be a finite number >= 0');
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError('maxKeys must be a positive integer');
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key` if it has one; false means "over the limit, drop it". */
  take(key: string, now: number): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, at: now };
    } else {
      this.buckets.delete(key); // re-inserted below: most recently used last
      const elapsed = Math.max(0, now - bucket.at);
      bucket.tokens = Math.min(this.burst, bucket.tokens + (elapsed / 1000) * this.perSecond);
      bucket.at = Math.max(bucket.at, now);
    }
    while (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
