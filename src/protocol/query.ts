/**
 * LOOK's matching rule, shared by the tracker (LOOK) and by peers answering a
 * flooded QUER ("same matching as LOOK"): `*` alone matches every file; anything
 * else is a literal, case-insensitive substring of the name (`%`, `_` and a `*`
 * inside a longer query are plain characters). An empty query is the empty
 * substring, so it matches everything, as in other trackers; the flood refuses
 * empty queries before matching, so they cannot be used to amplify traffic.
 *
 * A query of exactly MD5_PREFIX_DIGITS hex digits also matches the files whose
 * md5 starts with those digits (case-insensitive hex): LOOK `*` lists at most
 * 999 files, oldest first, so this is how a peer finds one file by its md5
 * whatever the number of files. Such a query still matches names too, so a
 * tracker that only matches names (other implementations) answers it as before.
 */

/** Hex digits of an md5-prefix query: all of the 20-byte Ricerca field (80 bits, no accidental hits). */
export const MD5_PREFIX_DIGITS = 20;

const MD5_PREFIX = new RegExp(`^[0-9a-fA-F]{${MD5_PREFIX_DIGITS}}$`);

/** The query as it is compared: spaces trimmed on both ends (as text field readers do). */
export function normalizeQuery(query: string): string {
  return query.replace(/^ +| +$/g, '');
}

/** A query made ready for matching many files. */
export interface CompiledQuery {
  /** `*`: every file. */
  readonly all: boolean;
  /** The lowercased text a name must contain. */
  readonly needle: string;
  /** The lowercased md5 prefix the query also stands for, or null. */
  readonly md5Prefix: string | null;
}

export function compileQuery(query: string): CompiledQuery {
  const q = normalizeQuery(query);
  const needle = q.toLowerCase();
  return { all: q === '*', needle, md5Prefix: MD5_PREFIX.test(q) ? needle : null };
}

/** `lowerName` is the file's name already lowercased (callers keep it so). */
export function matchesCompiled(query: CompiledQuery, lowerName: string, md5: string): boolean {
  if (query.all || lowerName.includes(query.needle)) return true;
  return query.md5Prefix !== null && md5.slice(0, MD5_PREFIX_DIGITS).toLowerCase() === query.md5Prefix;
}

export function matchesQuery(query: string, fileName: string, md5 = ''): boolean {
  return matchesCompiled(compileQuery(query), fileName.toLowerCase(), md5);
}

/** The md5-prefix query that finds the file with this md5 (at a tracker that matches prefixes). */
export function md5Query(md5: string): string {
  return md5.slice(0, MD5_PREFIX_DIGITS);
}
