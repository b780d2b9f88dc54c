/**
 * The flooding decisions, pure: given a QUER (or AQUE) and what this peer knows
 * (its address, its files, its neighbours, the duplicate window and rate limits,
 * and the time), what to do with it. The service only carries the decision out.
 */
import { type PeerAddress, compressIPv6 } from '../../protocol/address.js';
import type { MessageOf } from '../../protocol/messages.js';
import { remoteKey } from '../bandwidth.js';
import type { DuplicateWindow } from './dedup.js';
import type { KeyedTokenBucket } from './limiter.js';
import { compileQuery, matchesCompiled, normalizeQuery } from '../../protocol/query.js';
import { type Neighbor, endpointOf, usableIPv4, usableIPv6 } from './neighbors.js';

export type Quer = MessageOf<'QUER'>;
export type Aque = MessageOf<'AQUE'>;

export const MAX_TTL = 99;
export const DEFAULT_TTL = 4;
export const DEFAULT_MAX_ANSWERS = 100;

export interface SharedFile {
  readonly md5: string;
  readonly fileName: string;
}

/** Where a connection goes: one address, tried in order with the others of its list. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** The remote end of the connection a message came in on (socket address and port). */
export interface Remote {
  readonly address?: string | undefined;
  readonly port?: number | undefined;
}

/** Addresses to connect to for an IPP2P:PP2P: IPv4 first, IPv6 as the fallback. */
export function endpointsOf(address: { ip4: string | null; ip6: string | null } | PeerAddress, port: number): Endpoint[] {
  const ip4 = usableIPv4(address.ip4);
  const ip6 = usableIPv6(address.ip6);
  const out: Endpoint[] = [];
  if (ip4) out.push({ host: ip4, port, family: 4 });
  if (ip6) out.push({ host: ip6, port, family: 6 });
  return out;
}

/** The key an originator is rate-limited by: the host its answers would be sent to. */
export function originatorKey(address: PeerAddress): string {
  return usableIPv4(address.ip4) ?? usableIPv6(address.ip6) ?? 'none';
}

/** Same peer: same port and same primary address (IPv4 when both have one, else IPv6). */
export function sameEndpoint(
  a: { ip4: string | null; ip6: string | null; port: number },
  b: { ip4: string | null; ip6: string | null; port: number },
): boolean {
  if (a.port !== b.port) return false;
  if (a.ip4 && b.ip4) return a.ip4 === b.ip4;
  if (a.ip6 && b.ip6) return a.ip6 === b.ip6;
  return false;
}

function asEndpoint(address: PeerAddress, port: number): { ip4: string | null; ip6: string | null; port: number } {
  return { ip4: usableIPv4(address.ip4), ip6: usableIPv6(address.ip6), port };
}

/** Why a well-formed QUER makes no sense, or null when it is fine. */
export function checkQuer(msg: Quer): string | null {
  if (!Number.isInteger(msg.ttl) || msg.ttl < 1 || msg.ttl > MAX_TTL) return `TTL ${msg.ttl} is outside 1..${MAX_TTL}`;
  if (normalizeQuery(msg.query) === '') return 'empty query';
  if (endpointsOf(msg.address, msg.port).length === 0) return 'originator address is unspecified (0.0.0.0 and ::)';
  return null;
}

/** Why a well-formed AQUE makes no sense, or null when it is fine. */
export function checkAque(msg: Aque): string | null {
  if (endpointsOf(msg.address, msg.port).length === 0) return 'answering peer address is unspecified (0.0.0.0 and ::)';
  if (msg.fileName === '') return 'empty file name';
  return null;
}

/**
 * The neighbours a QUER goes on to: all of them except ourselves, the originator,
 * and the peer it came from. The sender is known only by its address (its source
 * port is ephemeral), so it is left out only when exactly one neighbour has that
 * address; otherwise it gets the packet back and drops it as a duplicate.
 */
export function forwardTargets(
  neighbors: readonly Neighbor[],
  ctx: { self: { address: PeerAddress; port: number }; originator: { address: PeerAddress; port: number }; remote: Remote },
): Neighbor[] {
  const self = asEndpoint(ctx.self.address, ctx.self.port);
  const origin = asEndpoint(ctx.originator.address, ctx.originator.port);
  const candidates = neighbors.filter((n) => !sameEndpoint(n, self) && !sameEndpoint(n, origin));
  const from = ctx.remote.address ? endpointOf(remoteKey(ctx.remote.address)) : { ip4: null, ip6: null };
  const isSender = (n: Neighbor): boolean =>
    (from.ip4 !== null && n.ip4 === from.ip4) || (from.ip6 !== null && n.ip6 === from.ip6);
  const senders = candidates.filter(isSender);
  return senders.length === 1 ? candidates.filter((n) => !isSender(n)) : candidates;
}

export type QuerDecision =
  /** Semantically bad: log it as refused. */
  | { readonly action: 'refuse'; readonly reason: string }
  /** Fine, but not for us to act on now. */
  | { readonly action: 'drop'; readonly reason: 'own query' | 'duplicate' | 'rate-limited' | 'overloaded' }
  | {
      readonly action: 'serve';
      /** Files to answer with, one AQUE each (at most maxAnswers). */
      readonly answers: SharedFile[];
      /** Matches beyond maxAnswers, not answered. */
      readonly skipped: number;
      /** Where AQUEs go: IPv4 first, IPv6 as the fallback. */
      readonly replyTo: Endpoint[];
      /** TTL of the forwarded copy; 0 means it is not forwarded. */
      readonly forwardTtl: number;
      readonly forwardTo: Neighbor[];
    };

export interface QuerInput {
  readonly self: { address: PeerAddress; port: number };
  readonly remote: Remote;
  readonly neighbors: readonly Neighbor[];
  readonly files: readonly SharedFile[];
  readonly now: number;
  /** Pktids seen lately; recorded when the query is served. */
  readonly seen: DuplicateWindow;
  /** Tokens per originator. */
  readonly perOriginator: KeyedTokenBucket;
  /** One bucket for all originators together (optional). */
  readonly overall?: KeyedTokenBucket | undefined;
  readonly maxAnswers?: number | undefined;
}

/**
 * What to do with a QUER: refuse it, drop it, or serve it (answer these files at
 * this address, forward with this TTL to these neighbours). Checks in order:
 * sense, our own query, duplicate, rate limits. Only a served query is recorded
 * in the duplicate window and only an unseen one costs its originator a token.
 */
export function decideQuer(msg: Quer, input: QuerInput): QuerDecision {
  const bad = checkQuer(msg);
  if (bad !== null) return { action: 'refuse', reason: bad };
  const originator = { address: msg.address, port: msg.port };
  if (sameEndpoint(asEndpoint(msg.address, msg.port), asEndpoint(input.self.address, input.self.port))) {
    return { action: 'drop', reason: 'own query' };
  }
  if (input.seen.has(msg.pktId, input.now)) return { action: 'drop', reason: 'duplicate' };
  if (!input.perOriginator.take(originatorKey(msg.address), input.now)) return { action: 'drop', reason: 'rate-limited' };
  if (input.overall && !input.overall.take('*', input.now)) return { action: 'drop', reason: 'overloaded' };
  input.seen.add(msg.pktId, input.now);

  const maxAnswers = input.maxAnswers ?? DEFAULT_MAX_ANSWERS;
  const query = compileQuery(msg.query);
  const matches = input.files.filter((f) => matchesCompiled(query, f.fileName.toLowerCase(), f.md5));
  const forwardTtl = msg.ttl - 1 > 0 ? msg.ttl - 1 : 0;
  return {
    action: 'serve',
    answers: matches.slice(0, maxAnswers),
    skipped: Math.max(0, matches.length - maxAnswers),
    replyTo: endpointsOf(msg.address, msg.port),
    forwardTtl,
    forwardTo: forwardTtl > 0 ? forwardTargets(input.neighbors, { self: input.self, originator, remote: input.remote }) : [],
  };
}

/** A file found by a query, and who has it. */
export interface Hit {
  readonly pktId: string;
  readonly md5: string;
  readonly name: string;
  /** Plain IPv4 as the answering peer announced it. */
  readonly ip4: string;
  /** Full lowercase IPv6 as announced. */
  readonly ip6: string;
  readonly port: number;
}

export function hitOf(msg: Aque): Hit {
  return { pktId: msg.pktId, md5: msg.md5, name: msg.fileName, ip4: msg.address.ip4, ip6: msg.address.ip6, port: msg.port };
}

/** Two AQUEs are the same hit when Pktid, md5, address and port agree. */
export function hitKey(hit: Hit): string {
  return `${hit.pktId.toUpperCase()}/${hit.md5}/${hit.ip4}/${hit.ip6}/${hit.port}`;
}

/** One line for people: `name  md5  ip4|ip6 port`. */
export function describeHit(hit: Hit): string {
  return `${hit.name}  ${hit.md5}  ${hit.ip4}|${compressIPv6(hit.ip6)} ${hit.port}`;
}

export interface HitEvent {
  readonly event: 'hit';
  readonly md5: string;
  readonly name: string;
  /** Plain dotted decimal. */
  readonly ip4: string;
  /** Compressed (RFC 5952), like the peer's `ready` event. */
  readonly ip6: string;
  readonly port: number;
}

/** The `--json` event for a hit (one line on stdout). */
export function hitEvent(hit: Hit): HitEvent {
  return { event: 'hit', md5: hit.md5, name: hit.name, ip4: hit.ip4, ip6: compressIPv6(hit.ip6), port: hit.port };
}
