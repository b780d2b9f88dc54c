/**
 * IPv4/IPv6 address forms used on the wire (IPP2P) and by people.
 *
 * The wire wants `AAA.BBB.CCC.DDD` (octets zero-padded) and the full IPv6 form
 * (8 groups of 4 lowercase hex digits). Inside BugTorrent we keep the canonical
 * forms: IPv4 plain dotted decimal, IPv6 full lowercase, so that two spellings
 * of one address compare equal.
 */
import { isIPv6 } from 'node:net';
import { BadAddressError } from '../errors.js';

export interface PeerAddress {
  /** Plain dotted decimal, no padding: `172.16.99.2`. */
  readonly ip4: string;
  /** Full form, lowercase: `fd99:0000:0000:0000:0000:0000:0000:0002`. */
  readonly ip6: string;
}

const IPV4_PART = /^[0-9]{1,3}$/;

/** Accepts dotted decimal with optional leading zeros; returns the plain form. */
export function normalizeIPv4(text: string): string {
  const parts = text.split('.');
  if (parts.length !== 4) throw new BadAddressError(`IPv4 address ${JSON.stringify(text)} does not have 4 octets`);
  return parts
    .map((p) => {
      if (!IPV4_PART.test(p)) throw new BadAddressError(`IPv4 address ${JSON.stringify(text)} has a bad octet`);
      const n = Number(p);
      if (n > 255) throw new BadAddressError(`IPv4 address ${JSON.stringify(text)} has an octet above 255`);
      return String(n);
    })
    .join('.');
}

/** The wire form of an IPv4 address: every octet padded to 3 digits (15 characters). */
export function padIPv4(ip4: string): string {
  return normalizeIPv4(ip4)
    .split('.')
    .map((o) => o.padStart(3, '0'))
    .join('.');
}

/** Accepts any IPv6 spelling (compressed, upper case, embedded IPv4); returns the full lowercase form. */
export function expandIPv6(text: string): string {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!isIPv6(s) || s.includes('%')) throw new BadAddressError(`${JSON.stringify(text)} is not an IPv6 address`);
  s = s.toLowerCase();
  // An embedded dotted IPv4 tail becomes two hex groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = normalizeIPv4(tail).split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  let groups: string[];
  const gap = s.indexOf('::');
  if (gap >= 0) {
    const head = s.slice(0, gap) === '' ? [] : s.slice(0, gap).split(':');
    const rest = s.slice(gap + 2) === '' ? [] : s.slice(gap + 2).split(':');
    groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else {
    groups = s.split(':');
  }
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

/** RFC 5952 compressed form (`fd99::2`): what people type and what other peers hash. */
export function compressIPv6(text: string): string {
  const groups = expandIPv6(text).split(':').map((g) => g.replace(/^0+(?=.)/, ''));
  // Longest run of two or more zero groups (first one wins a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

export function peerAddress(ip4: string, ip6: string): PeerAddress {
  return { ip4: normalizeIPv4(ip4), ip6: expandIPv6(ip6) };
}

/** `ip:port` for humans and logs; IPv6 in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `host:port`, `[v6]:port`; the port must be 1..65535. */
export function parseHostPort(text: string, defaultPort?: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!m) {
    if (isIPv6(text) && defaultPort !== undefined) return { host: text, port: defaultPort };
    throw new BadAddressError(`${JSON.stringify(text)} is not HOST:PORT`);
  }
  const host = m[1] as string;
  const portText = m[2];
  if (portText === undefined) {
    if (defaultPort === undefined) throw new BadAddressError(`${JSON.stringify(text)} has no port`);
    return { host, port: defaultPort };
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BadAddressError(`port in ${JSON.stringify(text)} is not 1..65535`);
  return { host, port };
}
