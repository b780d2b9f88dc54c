/**
 * The RPADs of one download: each part taken in is reported to the tracker,
 * in the order the parts came in, by at most `atOnce` senders at a time, so a
 * fast download does not open a tracker connection per part all at once.
 * Parts that queue up go together: before each call of `send` a sender waits
 * for `gather` (a short while, while the tracker answers pipelined requests),
 * then takes up to `batch` parts (the tracker client pipelines them on one
 * connection: tracker-client.ts `reportParts`). A slow download reports each
 * part alone; a fast one a handful per connection, not a connection a part.
 * The queue holds part numbers only, at most one per part taken in. Nothing
 * waits for a report but `settled` (the download's final event); a failed one
 * is handed to `failed` and the next goes on.
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

  /**
   * `send` reports the parts given and resolves, per part in order, with the
   * tracker's answer or the Error that part met (a rejection fails them all).
   * `gather` resolves when a sender should take what has queued.
   */
  constructor(
    private readonly send: (parts: readonly number[]) => Promise<readonly unknown[]>,
    private readonly failed: (part: number, err: Error) => void,
    private readonly atOnce: number,
    private readonly batch: number,
    private readonly gather: () => Promise<void> = () => Promise.resolve(),
  ) {
    if (!(atOnce >= 1 && batch >= 1)) throw new RangeError(`atOnce and batch must be at least 1, got ${atOnce} and ${batch}`);
  }

  /** Reports `part` once those before it have been sent. */
  add(part: number): void {
    this.queue.push(part);
    if (this.senders >= this.atOnce) return;
    this.senders++;
    const run = (async () => {
      while (this.queue.length > 0) {
        if (this.batch > 1) await this.gather();
        const parts = this.queue.splice(0, this.batch);
        // Another sender took what gathered meanwhile.
        if (parts.length === 0) continue;
        const results = await this.send(parts).catch((err: Error) => parts.map(() => err));
        parts.forEach((p, i) => {
          const result = results[i];
          if (result instanceof Error) this.failed(p, result);
          else if (result === undefined) this.failed(p, new Error('not reported'));
        });
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
