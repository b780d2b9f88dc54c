/**
 * Vectored file I/O (readv, writev) may move fewer bytes than asked; the retry
 * needs the same buffers without the bytes already done.
 */

/** The views of `buffers` after their first `skip` bytes (no copy; the input itself when skip is 0). */
export function afterBytes(buffers: Buffer[], skip: number): Buffer[] {
  if (skip === 0) return buffers;
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/**
 * Reused send buffers of one size class. A 256 KiB buffer per part served
 * costs a fresh allocation, its page faults and, at hundreds of parts a second,
 * the external-memory pressure that makes V8 collect far more often than the
 * work needs. Buffers of other sizes are allocated and dropped as before.
 * At most `keep` idle buffers are kept, so the pool's memory is bounded.
 */
export class FramePool {
  private readonly free: Buffer[] = [];
  private size = 0;

  constructor(private readonly keep = 16) {}

  /** A buffer of exactly `length` bytes (contents undefined). */
  take(length: number): Buffer {
    if (length !== this.size) {
      // A new size class (another part or chunk size): the old buffers go.
      this.size = length;
      this.free.length = 0;
    }
    return this.free.pop() ?? Buffer.allocUnsafe(length);
  }

  /** `buffer` is no longer in use by anyone. */
  give(buffer: Buffer): void {
    if (buffer.length === this.size && this.free.length < this.keep && !this.free.includes(buffer)) this.free.push(buffer);
  }
}
