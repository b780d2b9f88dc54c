/**
 * Bytes over a sliding window, in fixed bins (1 s by default), for rolling rates
 * ("bytes per second over the last 20 s") without keeping every sample. Pure:
 * every call takes `now` in ms.
 */
export class RateMeter {
  /** Every byte ever added. */
  total = 0;
  /** When bytes were last added (−Infinity if never). */
  lastAt = -Infinity;
  private readonly binMs: number;
  private readonly bytes: Float64Array;
  private readonly stamps: Float64Array;

  /** `maxWindowMs`: the longest window `sum`/`rate` will be asked about. */
  constructor(maxWindowMs: number, binMs = 1000) {
    if (!(maxWindowMs > 0) || !(binMs > 0)) throw new RangeError('rate meter window and bin must be > 0');
    this.binMs = binMs;
    const n = Math.ceil(maxWindowMs / binMs) + 1;
    this.bytes = new Float64Array(n);
    this.stamps = new Float64Array(n).fill(-1);
  }

  add(bytes: number, now: number): void {
    if (!(bytes > 0)) return;
    const bin = Math.floor(now / this.binMs);
    const slot = bin % this.bytes.length;
    if (this.stamps[slot] !== bin) {
      this.stamps[slot] = bin;
      this.bytes[slot] = 0;
    }
    this.bytes[slot]! += bytes;
    this.total += bytes;
    if (now > this.lastAt) this.lastAt = now;
  }

  /** Bytes in the bins that make up the last `windowMs` (the current bin included). */
  sum(now: number, windowMs: number): number {
    const current = Math.floor(now / this.binMs);
    const bins = Math.min(this.bytes.length, Math.max(1, Math.ceil(windowMs / this.binMs)));
    let sum = 0;
    for (let bin = current - bins + 1; bin <= current; bin++) {
      const slot = ((bin % this.bytes.length) + this.bytes.length) % this.bytes.length;
      if (this.stamps[slot] === bin) sum += this.bytes[slot]!;
    }
    return sum;
  }

  /**
   * Bytes per second over the last `windowMs`. `since` (when we started counting
   * for this peer) shortens the span for newcomers, but never below one bin, so
   * a first chunk does not read as a huge rate.
   */
  rate(now: number, windowMs: number, since = -Infinity): number {
    const current = Math.floor(now / this.binMs);
    const bins = Math.min(this.bytes.length, Math.max(1, Math.ceil(windowMs / this.binMs)));
    const spanMs = (bins - 1) * this.binMs + (now - current * this.binMs);
    const span = Math.max(this.binMs, Math.min(spanMs, now - since));
    return (this.sum(now, windowMs) * 1000) / span;
  }
}
