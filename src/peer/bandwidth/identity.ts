/**
 * One remote peer, one key: peers announce an IPv4 and an IPv6 address, and
 * other implementations connect over either at random. Our transfers key a
 * remote by the address its connection comes from (`remoteKey`), so without
 * this step the same peer would count as two for tit-for-tat (its uploads to
 * us under its IPv4, its requests to us under its IPv6).
 *
 * `SwarmIdentity` learns every owner's ip4+ip6 from the tracker's FCHU answers
 * and maps a remote IPv6 to that peer's IPv4 key. An IPv6 announced by several
 * peers with different IPv4s (several peers on one host, all on `::1`) is
 * ambiguous and stays as it is. It also notices when a peer disappears from
 * every file's holder list, so the choker can forget it. Only a list shorter
 * than `SAMPLED_AT` says that: our tracker answers a big swarm with a sample of
 * that many holders (src/tracker/holders-sample.ts), and a peer left out of a
 * sample has not left (the choker forgot slot holders at every poll of a
 * 10³-peer swarm); from such a list, holders are only added.
 *
 * Pure: no timers, no sockets.
 */
import { DEFAULT_MAX_HOLDERS } from '../../tracker/holders-sample.js';
import { type RemoteKey, remoteKey } from '../bandwidth.js';

export interface HolderAddress {
  readonly address: { readonly ip4: string; readonly ip6: string };
  readonly port: number;
}

/** Plain forms for comparison: IPv4 without leading zeros, IPv6 expanded lowercase. */
function plain4(ip4: string): string {
  const parts = ip4.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p)) ? parts.map((p) => String(Number(p))).join('.') : ip4;
}

export function expand6(ip6: string): string {
  let a = ip6.toLowerCase();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (v4) {
    const n = v4.slice(1).map(Number);
    a = `${a.slice(0, v4.index)}${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join(':');
}

/** Lists this long may be samples (our tracker's default bound): no departures read from them. */
export const SAMPLED_AT = DEFAULT_MAX_HOLDERS;
/** Holders remembered per file from sampled lists at most (a new complete list, or this bound, starts afresh). */
const MAX_REMEMBERED = 4096;

export class SwarmIdentity {
  /** expanded IPv6 -> the IPv4 keys announced with it */
  private readonly v6 = new Map<string, Set<RemoteKey>>();
  /** md5 -> IPv4 keys in its last holder list */
  private readonly lists = new Map<string, Set<RemoteKey>>();

  /**
   * Learns one file's holder list (an FCHU answer). Returns the keys that were
   * listed before for some file and are now listed for none: gone from the swarm.
   * `self` (our own IPv4) is never returned.
   */
  learn(md5: string, holders: readonly HolderAddress[], self?: string): RemoteKey[] {
    const now = new Set<RemoteKey>();
    for (const h of holders) {
      const k4 = plain4(h.address.ip4);
      if (k4 === self) continue;
      now.add(k4);
      const k6 = expand6(h.address.ip6);
      let set = this.v6.get(k6);
      if (!set) this.v6.set(k6, (set = new Set()));
      set.add(k4);
    }
    const before = this.lists.get(md5) ?? new Set<RemoteKey>();
    if (holders.length >= SAMPLED_AT) {
      // a sample: whoever it leaves out may still be there
      if (before.size + now.size <= MAX_REMEMBERED) {
        for (const k of now) before.add(k);
        this.lists.set(md5, before);
        return [];
      }
      // too many remembered: start afresh from this sample, reporting nobody gone
      this.lists.set(md5, now);
      this.dropAliases(this.unlisted(before));
      return [];
    }
    this.lists.set(md5, now);
    const gone = this.unlisted(before);
    this.dropAliases(gone);
    return gone;
  }

  /** Those of `keys` that no file's list names now. */
  private unlisted(keys: Iterable<RemoteKey>): RemoteKey[] {
    const out: RemoteKey[] = [];
    for (const k of keys) {
      let listed = false;
      for (const set of this.lists.values()) if (set.has(k)) { listed = true; break; }
      if (!listed) out.push(k);
    }
    return out;
  }

  private dropAliases(keys: readonly RemoteKey[]): void {
    for (const k of keys) for (const [k6, set] of this.v6) if (set.delete(k) && set.size === 0) this.v6.delete(k6);
  }

  /**
   * The key a transfer should count `address` (a socket's remote address) under:
   * an IPv6 that exactly one known peer announced becomes that peer's IPv4.
   */
  resolve(address: RemoteKey): RemoteKey {
    const key = remoteKey(address);
    if (!key.includes(':')) return key;
    const set = this.v6.get(expand6(key));
    if (set && set.size === 1) return set.values().next().value as RemoteKey;
    return key;
  }

  /** IPv4 keys currently listed for some file. */
  known(): RemoteKey[] {
    const all = new Set<RemoteKey>();
    for (const set of this.lists.values()) for (const k of set) all.add(k);
    return [...all];
  }
}
