/**
 * The RPADs of one download: each part taken in is reported to the tracker,
 * in the order the parts came in, by at most `atOnce` reports at a time (one
 * connection each: servers close after their reply, PROTOCOL.md), so a fast
 * download does not open a tracker connection per part all at once. The queue
 * holds part numbers only, at most one per part taken in. Nothing waits for a
 * report but `settled` (the download's final event); a failed one is handed
 * to `failed` and the next goes on.
 */
export class ReportQueue {
  private readonly queue: number[] = [];
  private readonly running = new Set<Promise<void>>();
  /**
   * Senders still taking parts from the queue. Counted down the moment one
   * finds the queue empty (not when its promise settles, a microtask later):
   * a part added in between would otherwise find every place taken and wait
   * for nobody.
   */
  private senders = 0;

  constructor(
    private readonly send: (part: number) => Promise<unknown>,
    private readonly failed: (part: number, err: Error) => void,
    private readonly atOnce: number,
  ) {}

  /** Reports `part` once those before it have been sent. */
  add(part: number): void {
    this.queue.push(part);
    if (this.senders >= this.atOnce) return;
    this.senders++;
    const run = (async () => {
      for (let p = this.queue.shift(); p !== undefined; p = this.queue.shift()) {
        const at = p;
        await this.send(at).catch((err: Error) => this.failed(at, err));
      }
      this.senders--;
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Resolves once every report added so far has been answered or has failed. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
