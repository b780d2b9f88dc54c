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
