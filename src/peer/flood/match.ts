/**
 * Query matching, the same rule as the tracker's LOOK: `*` alone matches every
 * file; anything else is a literal, case-insensitive substring of the trimmed
 * query (no wildcards: `%`, `_`, `*` inside a longer query are plain characters).
 */

/** The query as it is compared: spaces trimmed on both ends (as field readers do). */
export function normalizeQuery(query: string): string {
  return query.replace(/^ +| +$/g, '');
}

export function matchesQuery(query: string, fileName: string): boolean {
  const q = normalizeQuery(query);
  if (q === '*') return true;
  if (q === '') return false;
  return fileName.toLowerCase().includes(q.toLowerCase());
}
