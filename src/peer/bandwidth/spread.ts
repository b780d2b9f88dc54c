/**
 * Seed spreading (a light form of super-seeding): the original source of a file
 * should put every part into the swarm once before it sends any part twice, so
 * that each leecher holds something the others lack and their upload capacity
 * is used. The protocol cannot tell a downloader which part to ask for, so a
 * request for a part we already sent, while some part was never sent, is
 * answered like a choke (held briefly, then closed without a reply): the
 * downloader prefers other owners for a moment, and asks for a part only we have.
 *
 * Applies only to files this peer shares as their source (not to downloads it
 * finished), and only while never-sent parts remain. Never to a peer asking
 * again for a part we already sent it: it needs it again (it healed from a
 * liar, or lost it in a restart), and nobody else may give it. Pure: no timers.
 */
export class SeedSpread {
  /** md5 -> parts sent at least once (bitmap as a Set for simplicity) */
  private readonly sent = new Map<string, { parts: number; done: Set<number>; to: Map<number, Set<string>> }>();

  /** `origin(md5)`: the number of parts if we are the file's source, else null. */
  constructor(private readonly origin: (md5: string) => number | null) {}

  /** Whether a request of `remote` (if known) for `part` of `md5` should be turned away for now. */
  refuse(md5: string, part: number, remote?: string): boolean {
    const parts = this.origin(md5);
    if (parts === null) return false;
    const s = this.state(md5, parts);
    if (remote !== undefined && s.to.get(part)?.has(remote)) return false;
    return s.done.size < s.parts && s.done.has(part);
  }

  /** A request was admitted: count the part as sent (claimed at admission, so concurrent askers spread). */
  admitted(md5: string, part: number, remote?: string): void {
    const parts = this.origin(md5);
    if (parts === null || !(part >= 0 && part < parts)) return;
    const s = this.state(md5, parts);
    s.done.add(part);
    if (remote === undefined) return;
    let to = s.to.get(part);
    if (!to) s.to.set(part, (to = new Set()));
    to.add(remote);
  }

  /** Parts sent at least once / parts, for status. */
  progress(md5: string): { sent: number; parts: number } | null {
    const s = this.sent.get(md5);
    return s ? { sent: s.done.size, parts: s.parts } : null;
  }

  private state(md5: string, parts: number): { parts: number; done: Set<number>; to: Map<number, Set<string>> } {
    let s = this.sent.get(md5);
    if (!s) this.sent.set(md5, (s = { parts, done: new Set(), to: new Map() }));
    return s;
  }
}
