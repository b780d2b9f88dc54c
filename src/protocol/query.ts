/**
 * LOOK's matching rule, shared by the tracker (LOOK) and by peers answering a
 * flooded QUER ("same matching as LOOK"): `*` alone matches every file; anything
 * else is a literal, case-insensitive substring of the name (`%`, `_` and a `*`
 * inside a longer query are plain characters). An empty query is the empty
 * substring, so it matches everything, as in other trackers; the flood refuses
 * empty queries before matching, so they cannot be used to amplify traffic.
 */

/** The query as it is compared: spaces trimmed on both ends (as text field readers do). */
export function normalizeQuery(query: string): string {
  return query.replace(/^ +| +$/g, '');
}

/** The lowercased text a name must contain, or null when the query matches every file. */
export function queryNeedle(query: string): string | null {
  const q = normalizeQuery(query);
  return q === '*' ? null : q.toLowerCase();
}

export function matchesQuery(query: string, fileName: string): boolean {
  const needle = queryNeedle(query);
  return needle === null || fileName.toLowerCase().includes(needle);
}
