/**
 * The neighbour set: peers a query is flooded to. Pure data with a hard cap:
 * configured neighbours (`--neighbor`) are pinned; learned ones (from FCHU
 * answers and AQUE hits) fill the rest and the least recently (re)learned one is
 * forgotten when the set is full. A neighbour is known by its IPv4 address when it
 * has a usable one, else by its IPv6 address, plus its port; the other address
 * is kept as the fallback to connect to.
 */
import { type PeerAddress, expandIPv6, formatHostPort, normalizeIPv4 } from '../../protocol/address.js';

export const DEFAULT_MAX_NEIGHBORS = 64;

export type NeighborSource = 'configured' | 'learned';

export interface Neighbor {
  /** Plain dotted IPv4, or null when the peer has none we can use. */
  readonly ip4: string | null;
  /** Full lowercase IPv6, or null. */
  readonly ip6: string | null;
  readonly port: number;
  readonly source: NeighborSource;
}

export type AddResult = 'added' | 'known' | 'self' | 'full' | 'unusable';

const UNSPECIFIED_V6 = expandIPv6('::');

/** An IPv4 address we can connect to (not 0.0.0.0), in plain form, or null. */
export function usableIPv4(ip4: string | null | undefined): string | null {
  if (!ip4) return null;
  let plain: string;
  try {
    plain = normalizeIPv4(ip4);
  } catch {
    return null;
  }
  return plain === '0.0.0.0' ? null : plain;
}

/** An IPv6 address we can connect to (not ::), in full form, or null. */
export function usableIPv6(ip6: string | null | undefined): string | null {
  if (!ip6) return null;
  let full: string;
  try {
    full = expandIPv6(ip6);
  } catch {
    return null;
  }
  return full === UNSPECIFIED_V6 ? null : full;
}

/** The usable addresses of a peer, from an IP literal or an IPP2P pair. */
export function endpointOf(host: string | PeerAddress): { ip4: string | null; ip6: string | null } {
  if (typeof host !== 'string') return { ip4: usableIPv4(host.ip4), ip6: usableIPv6(host.ip6) };
  let h = host.trim();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.toLowerCase().startsWith('::ffff:') && h.includes('.')) h = h.slice(7);
  if (!h.includes(':')) return { ip4: usableIPv4(h), ip6: null };
  return { ip4: null, ip6: usableIPv6(h) };
}

export function neighborKey(n: { ip4: string | null; ip6: string | null; port: number }): string | null {
  if (n.ip4) return `4/${n.ip4}/${n.port}`;
  if (n.ip6) return `6/${n.ip6}/${n.port}`;
  return null;
}

/** `ip:port` of the address we try first, for logs and events. */
export function formatNeighbor(n: { ip4: string | null; ip6: string | null; port: number }): string {
  return formatHostPort(n.ip4 ?? n.ip6 ?? '?', n.port);
}

export interface NeighborSetOptions {
  /** Our own address and port: never a neighbour of ourselves. */
  readonly self?: { address: PeerAddress; port: number };
  readonly maxNeighbors?: number;
}

export class NeighborSet {
  readonly maxNeighbors: number;
  private readonly configured = new Map<string, Neighbor>();
  /** Least recently learned first. */
  private readonly learned = new Map<string, Neighbor>();
  private readonly selfKey: string | null;

  constructor(options: NeighborSetOptions = {}) {
    this.maxNeighbors = options.maxNeighbors ?? DEFAULT_MAX_NEIGHBORS;
    if (!Number.isInteger(this.maxNeighbors) || this.maxNeighbors < 0) throw new RangeError('maxNeighbors must be an integer >= 0');
    this.selfKey = options.self ? neighborKey({ ...endpointOf(options.self.address), port: options.self.port }) : null;
  }

  get size(): number {
    return this.configured.size + this.learned.size;
  }

  /** A neighbour given on the command line: pinned, never evicted. `full` when the cap is reached by pinned ones. */
  addConfigured(host: string | PeerAddress, port: number): AddResult {
    const n: Neighbor = { ...endpointOf(host), port, source: 'configured' };
    const { key, refused } = this.keyOf(n);
    if (refused) return refused;
    if (this.configured.has(key)) return 'known';
    if (this.learned.delete(key)) {
      this.configured.set(key, n);
      return 'known';
    }
    if (this.configured.size >= this.maxNeighbors) return 'full';
    if (this.size >= this.maxNeighbors) this.evictLearned();
    this.configured.set(key, n);
    return 'added';
  }

  /** A peer we heard of (FCHU answer, AQUE hit): added or refreshed, evicting the stalest learned one if full. */
  learn(host: string | PeerAddress, port: number): AddResult {
    const n: Neighbor = { ...endpointOf(host), port, source: 'learned' };
    const { key, refused } = this.keyOf(n);
    if (refused) return refused;
    if (this.configured.has(key)) return 'known';
    const had = this.learned.delete(key);
    if (!had) {
      if (this.configured.size >= this.maxNeighbors) return 'full';
      if (this.size >= this.maxNeighbors) this.evictLearned();
    }
    this.learned.set(key, n);
    return had ? 'known' : 'added';
  }

  remove(host: string | PeerAddress, port: number): boolean {
    const key = neighborKey({ ...endpointOf(host), port });
    if (key === null) return false;
    return this.configured.delete(key) || this.learned.delete(key);
  }

  /** Every neighbour, configured first. */
  list(): Neighbor[] {
    return [...this.configured.values(), ...this.learned.values()];
  }

  private keyOf(n: Neighbor): { key: string; refused?: undefined } | { key?: undefined; refused: 'unusable' | 'self' } {
    if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535) return { refused: 'unusable' };
    const key = neighborKey(n);
    if (key === null) return { refused: 'unusable' };
    if (key === this.selfKey) return { refused: 'self' };
    return { key };
  }

  private evictLearned(): void {
    const oldest = this.learned.keys().next();
    if (!oldest.done) this.learned.delete(oldest.value);
  }
}
