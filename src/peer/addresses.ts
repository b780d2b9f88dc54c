/** The peer's own addresses and how a throttle is read, shared by the composition root and the benchmarks. */
import { networkInterfaces } from 'node:os';
import { type Throttle, UNLIMITED } from './bandwidth.js';

/** Default addresses: the first non-internal ones, else loopback. */
export function defaultAddresses(): { ip4: string; ip6: string } {
  let ip4: string | undefined;
  let ip6: string | undefined;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' && !ip4) ip4 = a.address;
      if (a.family === 'IPv6' && !ip6 && !a.address.toLowerCase().startsWith('fe80') && !a.address.includes('%')) ip6 = a.address;
    }
  }
  return { ip4: ip4 ?? '127.0.0.1', ip6: ip6 ?? '::1' };
}

/** UNLIMITED, or a limiter reporting rate 0: no pacing needed, so transfers may batch. */
export function isUnlimited(t: Throttle | undefined): boolean {
  return t === undefined || t === UNLIMITED || (t as { rate?: number }).rate === 0;
}
