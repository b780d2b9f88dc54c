/**
 * The simulator's event queue: a binary min-heap on (time, insertion order), so
 * events at the same time run in the order they were scheduled and a run is
 * reproducible. Cancelling marks the event; it is dropped when it reaches the
 * top (lazy deletion keeps every operation O(log n)).
 */
export interface SimEvent {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  private heap: SimEvent[] = [];
  private seq = 0;
  /** The simulated time, ms: the time of the event being run. */
  now = 0;
  /** Events run so far. */
  processed = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Runs `run` at `at` (never before now). */
  at(at: number, run: () => void): SimEvent {
    const e: SimEvent = { at: Math.max(at, this.now), seq: this.seq++, run, cancelled: false };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent] as SimEvent)) break;
      h[i] = h[parent] as SimEvent;
      i = parent;
    }
    h[i] = e;
    return e;
  }

  after(ms: number, run: () => void): SimEvent {
    return this.at(this.now + ms, run);
  }

  /** Runs events in order until none is left, `until` returns true, or time passes `endAt`. */
  run(endAt = Infinity, until: () => boolean = () => false): void {
    while (this.heap.length > 0 && !until()) {
      const e = this.pop();
      if (e.cancelled) continue;
      if (e.at > endAt) {
        this.now = endAt;
        return;
      }
      this.now = e.at;
      this.processed++;
      e.run();
    }
  }

  private pop(): SimEvent {
    const h = this.heap;
    const top = h[0] as SimEvent;
    const last = h.pop() as SimEvent;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r] as SimEvent, h[l] as SimEvent) ? r : l;
        if (!before(h[c] as SimEvent, last)) break;
        h[i] = h[c] as SimEvent;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
