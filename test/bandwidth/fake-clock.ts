/**
 * A fake clock for the bandwidth tests: `now()` in ms, a `sleep` that just moves
 * time forward (optionally oversleeping, like a busy machine), and timers
 * (`setTimeout`/`clearTimeout`) that fire only when the test advances time.
 */
export class FakeClock {
  t: number;
  private nextId = 1;
  private timers = new Map<number, { at: number; fn: () => void }>();
  /** Extra milliseconds each `sleep` takes beyond what was asked (a late timer). */
  lateness: () => number = () => 0;
  sleeps = 0;

  constructor(start = 1_000_000) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  /** Moves time forward, after letting everything already runnable run (as a real timer would). */
  readonly sleep = async (ms: number): Promise<void> => {
    this.sleeps++;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.t += ms + this.lateness();
  };

  readonly setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order (and their microtasks between). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Infinity;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && timer.at < dueAt) {
          dueAt = timer.at;
          dueId = id;
        }
      }
      if (dueId < 0) break;
      const timer = this.timers.get(dueId)!;
      this.timers.delete(dueId);
      this.t = Math.max(this.t, timer.at);
      timer.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** Lets pending promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

export { seededRandom } from '../support/random.js';
