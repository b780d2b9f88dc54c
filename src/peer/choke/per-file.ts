/**
 * A number per file (md5 -> number) for one remote peer, without a Map while
 * one file is all there is, which is nearly always: the choker keeps a few of
 * these for each of up to `maxRemotes` remotes, and a Map or Set holding one
 * entry costs ~150-200 bytes where this costs ~40 (sim flash crowd of 10^3:
 * those one-entry Maps were a quarter of the heap; at 10^4, 0.7 GB).
 */
export class PerFile {
  private md5: string | null = null;
  private value = 0;
  /** Every file but the first, once there is more than one. */
  private more: Map<string, number> | null = null;

  get size(): number {
    return (this.md5 === null ? 0 : 1) + (this.more?.size ?? 0);
  }

  has(md5: string): boolean {
    return this.md5 === md5 || (this.more?.has(md5) ?? false);
  }

  get(md5: string): number | undefined {
    return this.md5 === md5 ? this.value : this.more?.get(md5);
  }

  set(md5: string, value: number): void {
    if (this.md5 === md5 || this.md5 === null) {
      this.md5 = md5;
      this.value = value;
      return;
    }
    (this.more ??= new Map()).set(md5, value);
  }

  delete(md5: string): boolean {
    if (this.md5 !== md5) return this.more?.delete(md5) ?? false;
    // the first of the others takes the inline place
    const next = this.more?.entries().next();
    if (next && !next.done) {
      [this.md5, this.value] = next.value;
      this.more!.delete(next.value[0]);
    } else {
      this.md5 = null;
      this.value = 0;
    }
    return true;
  }

  /** The largest number (-Infinity when empty). */
  max(): number {
    let m = this.md5 === null ? -Infinity : this.value;
    if (this.more) for (const v of this.more.values()) m = Math.max(m, v);
    return m;
  }
}
