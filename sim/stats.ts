/** Time series in fixed bins and order statistics for the simulator's report. */

export class Series {
  readonly values: number[] = [];
  constructor(readonly binMs: number) {}

  /** Adds `amount` at time `at` (ms). */
  add(at: number, amount: number): void {
    const bin = Math.max(0, Math.floor(at / this.binMs));
    while (this.values.length <= bin) this.values.push(0);
    this.values[bin]! += amount;
  }

  /** Adds `amount` spread evenly over [from, to) (a flow's bytes between two updates). */
  spread(from: number, to: number, amount: number): void {
    if (!(to > from)) return this.add(from, amount);
    const per = amount / (to - from);
    for (let t = from; t < to; ) {
      const end = Math.min(to, (Math.floor(t / this.binMs) + 1) * this.binMs);
      this.add(t, per * (end - t));
      t = end;
    }
  }

  /** Per second rates of each bin. */
  perSecond(): number[] {
    return this.values.map((v) => (v * 1000) / this.binMs);
  }

  total(): number {
    return this.values.reduce((s, v) => s + v, 0);
  }

  peakPerSecond(): number {
    return Math.max(0, ...this.perSecond());
  }
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

export interface Spread {
  n: number;
  min: number;
  median: number;
  p99: number;
  last: number;
  mean: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, min: s[0] ?? NaN, median: quantile(s, 0.5), p99: quantile(s, 0.99), last: s[s.length - 1] ?? NaN, mean };
}
