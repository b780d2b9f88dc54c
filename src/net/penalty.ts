/**
 * Clients that misbehaved recently (e.g. stalled an upload until it was cut),
 * kept out for `durationMs`. Without it a reader that never reads comes straight
 * back, asks again, and so keeps looking like an interested peer that deserves
 * its upload slot. Pure (clock injected) and bounded: past `maxEntries` the
 * oldest entry goes.
 */
export class PenaltyBox {
  /** key -> when its penalty ends; insertion order is the order of offences. */
  private readonly until = new Map<string, number>();

  constructor(
    readonly durationMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 4096,
  ) {
    if (!(durationMs >= 0)) throw new RangeError(`durationMs must be >= 0, got ${durationMs}`);
  }

  add(key: string): void {
    this.until.delete(key);
    this.until.set(key, this.now() + this.durationMs);
    while (this.until.size > this.maxEntries) this.until.delete(this.until.keys().next().value as string);
  }

  /** Milliseconds left of `key`'s penalty; 0 when it has none. */
  remaining(key: string): number {
    const end = this.until.get(key);
    if (end === undefined) return 0;
    const left = end - this.now();
    if (left > 0) return left;
    this.until.delete(key);
    return 0;
  }

  get size(): number {
    return this.until.size;
  }
}
