/**
 * What a user does with the hits of a flooded query, pure: group them by md5
 * into a numbered list, turn `get N` / `get MD5` into a file, parse the prompt's
 * `quer TEXT [ttl]`.
 */
import { ArgumentError } from '../../errors.js';
import { compressIPv6, formatHostPort } from '../../protocol/address.js';
import { MAX_TTL, type Hit } from '../../peer/flood/plan.js';
import { validateQueryText } from '../../peer/flood/service.js';

/** One file found: its md5, the name it was announced under, and who answered with it. */
export interface HitGroup {
  readonly md5: string;
  readonly name: string;
  /** `ip4:port` of every peer that answered with it, in arrival order. */
  readonly holders: string[];
}

export function holderOf(hit: Hit): string {
  return formatHostPort(hit.ip4 !== '0.0.0.0' ? hit.ip4 : compressIPv6(hit.ip6), hit.port);
}

/** Hits grouped by md5, in the order each md5 first arrived; the first name seen is kept. */
export function groupHits(hits: readonly Hit[]): HitGroup[] {
  const byMd5 = new Map<string, HitGroup>();
  for (const h of hits) {
    let g = byMd5.get(h.md5);
    if (!g) {
      g = { md5: h.md5, name: h.name, holders: [] };
      byMd5.set(h.md5, g);
    }
    const who = holderOf(h);
    if (!g.holders.includes(who)) g.holders.push(who);
  }
  return [...byMd5.values()];
}

/** The numbered list the prompt prints after a query (1-based, as `get N` takes). */
export function formatHitList(groups: readonly HitGroup[]): string {
  if (groups.length === 0) return 'no hits';
  const width = String(groups.length).length;
  return groups
    .map((g, i) => {
      const who = g.holders.length === 1 ? (g.holders[0] as string) : `${g.holders.length} peers: ${g.holders.join(', ')}`;
      return `${String(i + 1).padStart(width)}. ${g.name}  ${g.md5}  at ${who}`;
    })
    .join('\n');
}

const MD5 = /^[0-9a-fA-F]{32}$/;

/**
 * `get N` (1-based index into the last list) or `get MD5`. An md5 that is not
 * among the hits resolves with no name (a plain download by md5).
 */
export function resolveHitRef(ref: string, groups: readonly HitGroup[]): { md5: string; name: string | null } {
  const text = ref.trim();
  if (/^[0-9]{1,6}$/.test(text)) {
    const n = Number(text);
    if (groups.length === 0) throw new ArgumentError(`no hit ${n}: no search has found anything yet (use "quer TEXT")`);
    const g = groups[n - 1];
    if (n < 1 || !g) throw new ArgumentError(`no hit ${n}: the last search found ${groups.length} (1..${groups.length})`);
    return { md5: g.md5, name: g.name };
  }
  if (MD5.test(text)) {
    const g = groups.find((x) => x.md5 === text) ?? groups.find((x) => x.md5.toLowerCase() === text.toLowerCase());
    return g ? { md5: g.md5, name: g.name } : { md5: text, name: null };
  }
  throw new ArgumentError('usage: get N (a hit of the last search) or get MD5 (32 hex digits)');
}

/** `quer TEXT [ttl]`: a last word that is a number in 1..99 is the TTL when some text comes before it. */
export function parseQuerCommand(arg: string, defaultTtl: number): { text: string; ttl: number } {
  const trimmed = arg.trim();
  const m = /^(.*\S)\s+([0-9]{1,2})$/.exec(trimmed);
  let text = trimmed;
  let ttl = defaultTtl;
  if (m) {
    const n = Number(m[2]);
    if (n < 1 || n > MAX_TTL) throw new ArgumentError(`TTL ${m[2]} is not in 1..${MAX_TTL}`);
    text = m[1] as string;
    ttl = n;
  }
  if (text === '') throw new ArgumentError('usage: quer TEXT [ttl]  ("*" finds everything)');
  return { text: validateQueryText(text), ttl };
}

