/**
 * From `bugtorrent peer` command-line options to the flooding service:
 * `--neighbor HOST:PORT` (repeatable), `--quer TEXT`, `--ttl N`, `--quer-wait SECONDS`,
 * `--get-hits` (download every distinct md5 the query finds).
 * Every value is validated here and a bad one is an ArgumentError (exit 2).
 */
import type { Command } from 'commander';
import { ArgumentError, isBugTorrentError } from '../../errors.js';
import { formatHostPort, parseHostPort } from '../../protocol/address.js';
import { DEFAULT_PEER_PORT } from '../../protocol/messages.js';
import { DEFAULT_MAX_NEIGHBORS, endpointOf } from '../../peer/flood/neighbors.js';
import { DEFAULT_TTL, MAX_TTL } from '../../peer/flood/plan.js';
import { DEFAULT_QUERY_WAIT_MS, validateQueryText } from '../../peer/flood/service.js';

/** Longest `--quer-wait`, seconds. */
export const MAX_QUERY_WAIT_SECONDS = 3600;

/** The options as commander hands them over (strings, or the defaults below). */
export interface FloodCliOptions {
  readonly neighbor?: readonly string[] | undefined;
  readonly quer?: string | undefined;
  readonly ttl?: string | number | undefined;
  readonly querWait?: string | number | undefined;
  readonly getHits?: boolean | undefined;
}

export interface FloodSettings {
  /** Configured neighbours, deduplicated, in the order given. */
  readonly neighbors: readonly { host: string; port: number }[];
  /** The query to originate, or null without `--quer`. */
  readonly query: { readonly text: string; readonly ttl: number; readonly waitMs: number; readonly getHits: boolean } | null;
  readonly ttl: number;
  readonly waitMs: number;
}

/** commander's collector for a repeatable `--neighbor`. */
export function collectNeighbor(value: string, previous: string[] | undefined): string[] {
  previous ??= [];
  return [...previous, value];
}

/** Registers the flooding options on the `peer` command. */
export function addFloodOptions(command: Command): Command {
  return command
    .option('--neighbor <host:port>', 'a peer to flood queries to (repeatable; IP literal, port defaults to 5000)', collectNeighbor)
    .option('--quer <text>', 'flood a search for TEXT (`*` for everything) and print the hits')
    .option('--ttl <n>', `hops a query travels (1..${MAX_TTL})`, String(DEFAULT_TTL))
    .option('--quer-wait <seconds>', 'how long to collect answers', String(DEFAULT_QUERY_WAIT_MS / 1000))
    .option('--get-hits', 'with --quer: download every distinct file found (its size is looked up at the tracker by name)');
}

export function parseNeighbor(text: string): { host: string; port: number } {
  let parsed: { host: string; port: number };
  try {
    parsed = parseHostPort(text.trim(), DEFAULT_PEER_PORT);
  } catch (err) {
    throw new ArgumentError(`--neighbor ${JSON.stringify(text)}: ${isBugTorrentError(err) ? err.message : String(err)}`);
  }
  const e = endpointOf(parsed.host);
  const host = e.ip4 ?? e.ip6;
  if (host === null) {
    throw new ArgumentError(`--neighbor ${JSON.stringify(text)}: the host must be a usable IPv4 or IPv6 address (not a name, not 0.0.0.0 or ::)`);
  }
  return { host, port: parsed.port };
}

export function parseTtl(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_TTL;
  const text = String(value).trim();
  const n = /^[0-9]{1,2}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_TTL)) throw new ArgumentError(`--ttl ${JSON.stringify(String(value))} is not an integer in 1..${MAX_TTL}`);
  return n;
}

/** Seconds (decimals allowed) to ms. */
export function parseQueryWait(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_QUERY_WAIT_MS;
  const text = String(value).trim();
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= 0 && seconds <= MAX_QUERY_WAIT_SECONDS)) {
    throw new ArgumentError(`--quer-wait ${JSON.stringify(String(value))} is not a number of seconds in 0..${MAX_QUERY_WAIT_SECONDS}`);
  }
  return Math.round(seconds * 1000);
}

export function parseFloodOptions(raw: FloodCliOptions, limits: { maxNeighbors?: number } = {}): FloodSettings {
  const maxNeighbors = limits.maxNeighbors ?? DEFAULT_MAX_NEIGHBORS;
  const seen = new Set<string>();
  const neighbors: { host: string; port: number }[] = [];
  for (const text of raw.neighbor ?? []) {
    const n = parseNeighbor(text);
    const key = formatHostPort(n.host, n.port);
    if (seen.has(key)) continue;
    seen.add(key);
    neighbors.push(n);
  }
  if (neighbors.length > maxNeighbors) throw new ArgumentError(`${neighbors.length} --neighbor given; at most ${maxNeighbors}`);
  const ttl = parseTtl(raw.ttl);
  const waitMs = parseQueryWait(raw.querWait);
  let query: FloodSettings['query'] = null;
  if (raw.quer !== undefined) {
    try {
      query = { text: validateQueryText(raw.quer), ttl, waitMs, getHits: raw.getHits === true };
    } catch (err) {
      throw new ArgumentError(`--quer: ${(err as Error).message}`);
    }
  } else if (raw.getHits === true) {
    throw new ArgumentError('--get-hits needs --quer TEXT');
  }
  return { neighbors, query, ttl, waitMs };
}
