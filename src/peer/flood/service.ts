/**
 * The flooding search at the edge: receives QUER and AQUE from the peer listener,
 * answers and forwards queries on new connections, and originates queries and
 * collects their hits. Every decision is made by the pure modules (plan, dedup,
 * limiter, neighbors); this file only does the sockets, timers and logs.
 */
import { ArgumentError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { PeerAddress } from '../../protocol/address.js';
import { encodeMessage } from '../../protocol/codec.js';
import { remoteKey } from '../bandwidth.js';
import { type Connect, Courier } from './courier.js';
import { DEFAULT_DUPLICATE_CAP, DEFAULT_DUPLICATE_WINDOW_MS, DuplicateWindow } from './dedup.js';
import { KeyedTokenBucket } from './limiter.js';
import { normalizeQuery } from '../../protocol/query.js';
import { type AddResult, type NeighborSet, endpointOf, formatNeighbor, usableIPv4, usableIPv6 } from './neighbors.js';
import { type RandomBytes, newPktId, pktIdKey } from './pktid.js';
import {
  type Aque,
  DEFAULT_MAX_ANSWERS,
  DEFAULT_TTL,
  type Hit,
  MAX_TTL,
  type Quer,
  type Remote,
  type SharedFile,
  checkAque,
  decideQuer,
  endpointsOf,
  hitKey,
  hitOf,
} from './plan.js';

export const DEFAULT_QUERY_WAIT_MS = 5000;
/** Ricerca is 20 bytes on the wire; a longer query would be cut and mean something else. */
export const MAX_QUERY_BYTES = 20;

export interface FloodLimits {
  readonly duplicateWindowMs: number;
  readonly duplicateCap: number;
  /** Queries one originator may have served in a burst, and refilled per second. */
  readonly perOriginatorBurst: number;
  readonly perOriginatorPerSecond: number;
  /** Originators remembered by the limiter (least recently seen forgotten first). */
  readonly maxOriginators: number;
  /** Queries served in a burst / per second, all originators together. */
  readonly overallBurst: number;
  readonly overallPerSecond: number;
  /** AQUEs sent for one QUER at most (the rest of the matches are not answered). */
  readonly maxAnswers: number;
  readonly maxConcurrentSends: number;
  readonly maxQueuedSends: number;
  readonly connectTimeoutMs: number;
  /** Distinct hits kept per query of ours; more are dropped. */
  readonly maxHitsPerQuery: number;
  /** Queries of ours collecting answers at once. */
  readonly maxPendingQueries: number;
}

export const DEFAULT_FLOOD_LIMITS: FloodLimits = {
  duplicateWindowMs: DEFAULT_DUPLICATE_WINDOW_MS,
  duplicateCap: DEFAULT_DUPLICATE_CAP,
  perOriginatorBurst: 10,
  perOriginatorPerSecond: 1,
  maxOriginators: 4096,
  overallBurst: 200,
  overallPerSecond: 50,
  maxAnswers: DEFAULT_MAX_ANSWERS,
  maxConcurrentSends: 32,
  maxQueuedSends: 1024,
  connectTimeoutMs: 5000,
  maxHitsPerQuery: 1000,
  maxPendingQueries: 16,
};

/** What the service did, for tests, `--json` output and the dashboard. Observers must not throw. */
export type FloodEvent =
  | {
      readonly type: 'quer';
      readonly pktId: string;
      readonly from: string;
      readonly ttl: number;
      readonly query: string;
      readonly outcome: 'served' | 'refused' | 'own query' | 'duplicate' | 'rate-limited' | 'overloaded';
      readonly reason?: string;
      /** AQUEs we send for it. */
      readonly answers: number;
      readonly forwardTtl: number;
      /** Neighbours it is forwarded to (`host:port`). */
      readonly forwardTo: string[];
    }
  | { readonly type: 'sent'; readonly command: 'QUER' | 'AQUE'; readonly pktId: string; readonly to: string; readonly ok: boolean; readonly error?: string }
  | { readonly type: 'aque'; readonly pktId: string; readonly from: string; readonly outcome: 'hit' | 'duplicate' | 'unsolicited' | 'refused' | 'too many'; readonly reason?: string }
  | { readonly type: 'hit'; readonly hit: Hit }
  | { readonly type: 'query'; readonly pktId: string; readonly query: string; readonly ttl: number; readonly neighbors: number }
  | { readonly type: 'query-done'; readonly pktId: string; readonly hits: number };

export interface QueryOptions {
  readonly ttl?: number;
  /** How long answers are collected, ms. */
  readonly waitMs?: number;
  /** Called once per distinct hit as it arrives. */
  readonly onHit?: (hit: Hit) => void;
  /** Called once as the query starts, before it is sent, with its Pktid and how many neighbours it goes to. */
  readonly onStart?: (info: { pktId: string; query: string; ttl: number; neighbors: number }) => void;
  /** Ends the wait early; the promise then resolves with the hits so far. */
  readonly signal?: AbortSignal;
}

export interface FloodService {
  /** The listener's handler for a decoded QUER. Never throws. */
  onQuer(msg: Quer, remote: Remote): void;
  /** The listener's handler for a decoded AQUE. Never throws. */
  onAque(msg: Aque, remote: Remote): void;
  /** A peer heard of (AFCH entry, configured): becomes a neighbour if there is room. */
  learnNeighbor(host: string | PeerAddress, port: number): AddResult;
  /** Floods a query and resolves with its distinct hits once the wait is over. */
  query(text: string, options?: QueryOptions): Promise<Hit[]>;
  /** Ends every pending query (resolving with its hits) and destroys connections in flight. */
  close(): void;
  readonly neighbors: NeighborSet;
}

export interface FloodServiceOptions {
  /** Our IPP2P and PP2P: what we announce as originator and as answering peer. */
  readonly self: { readonly address: PeerAddress; readonly port: number };
  /** The files we share now (complete ones: we answer only for what we can serve). */
  sharedFiles(): readonly SharedFile[];
  readonly neighbors: NeighborSet;
  readonly logger: Logger;
  /** Clock in ms (Date.now by default). */
  readonly now?: () => number;
  /** Random bytes for Pktids (crypto.randomBytes by default). */
  readonly random?: RandomBytes;
  /** Opens outgoing sockets (net.connect by default). */
  readonly connect?: Connect;
  /** Bind outgoing sockets to our own address (default true). */
  readonly bindLocal?: boolean;
  readonly limits?: Partial<FloodLimits>;
  readonly observer?: (event: FloodEvent) => void;
}

interface Pending {
  readonly query: string;
  readonly hits: Map<string, Hit>;
  readonly onHit: ((hit: Hit) => void) | undefined;
  finish(): void;
}

function describe(remote: Remote): string {
  const host = remoteKey(remote.address);
  return remote.port ? `${host.includes(':') ? `[${host}]` : host}:${remote.port}` : host;
}

export function validateQueryText(text: string): string {
  const q = normalizeQuery(text);
  if (q === '') throw new ArgumentError('the query is empty');
  if (Buffer.byteLength(q, 'utf8') > MAX_QUERY_BYTES) {
    throw new ArgumentError(`the query ${JSON.stringify(q)} is longer than ${MAX_QUERY_BYTES} bytes (UTF-8)`);
  }
  return q;
}

export function validateTtl(ttl: number): number {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) throw new ArgumentError(`TTL ${ttl} is not an integer in 1..${MAX_TTL}`);
  return ttl;
}

export function createFloodService(options: FloodServiceOptions): FloodService {
  const limits: FloodLimits = { ...DEFAULT_FLOOD_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const log = options.logger;
  const self = { address: options.self.address, port: options.self.port };
  const neighbors = options.neighbors;
  const observe = (event: FloodEvent): void => {
    try {
      options.observer?.(event);
    } catch (err) {
      log.error({ err }, 'flood observer threw');
    }
  };
  const seen = new DuplicateWindow({ windowMs: limits.duplicateWindowMs, maxEntries: limits.duplicateCap });
  const perOriginator = new KeyedTokenBucket({
    burst: limits.perOriginatorBurst,
    perSecond: limits.perOriginatorPerSecond,
    maxKeys: limits.maxOriginators,
  });
  const overall = new KeyedTokenBucket({ burst: limits.overallBurst, perSecond: limits.overallPerSecond, maxKeys: 1 });
  const ownIp4 = usableIPv4(self.address.ip4);
  const ownIp6 = usableIPv6(self.address.ip6);
  const bind = options.bindLocal ?? true;
  const courier = new Courier({
    ...(options.connect ? { connect: options.connect } : {}),
    localAddress: (family) => (bind ? ((family === 4 ? ownIp4 : ownIp6) ?? undefined) : undefined),
    connectTimeoutMs: limits.connectTimeoutMs,
    maxConcurrent: limits.maxConcurrentSends,
    maxQueued: limits.maxQueuedSends,
  });
  const pending = new Map<string, Pending>();
  let reportedEvictions = 0;

  function learn(host: string | PeerAddress, port: number, via: 'AQUE' | 'FCHU'): AddResult {
    const result = neighbors.learn(host, port);
    if (result === 'added') {
      log.info({ neighbor: formatNeighbor({ ...endpointOf(host), port }), via, neighbors: neighbors.size }, 'neighbour learned');
    }
    return result;
  }

  function send(command: 'QUER' | 'AQUE', pktId: string, bytes: Buffer, to: string, endpoints: ReturnType<typeof endpointsOf>): void {
    void courier.send(bytes, endpoints).then((d) => {
      if (!d.ok) log.warn({ command, pktId, to, reason: d.error }, 'flood send failed');
      observe({ type: 'sent', command, pktId, to, ok: d.ok, ...(d.ok ? {} : { error: d.error }) });
    });
  }

  function onQuer(msg: Quer, remote: Remote): void {
    const from = describe(remote);
    const base = { pktId: msg.pktId, from, ttl: msg.ttl, query: msg.query };
    let decision;
    try {
      decision = decideQuer(msg, {
        self,
        remote,
        neighbors: neighbors.list(),
        files: options.sharedFiles(),
        now: now(),
        seen,
        perOriginator,
        overall,
        maxAnswers: limits.maxAnswers,
      });
    } catch (err) {
      log.error({ err, ...base }, 'QUER handling failed');
      return;
    }
    if (seen.evicted > reportedEvictions) {
      log.warn({ evicted: seen.evicted - reportedEvictions, cap: seen.maxEntries }, 'duplicate window full: oldest Pktids forgotten early');
      reportedEvictions = seen.evicted;
    }
    if (decision.action !== 'serve') {
      const reason = decision.reason;
      const outcome = decision.action === 'refuse' ? 'refused' : decision.reason;
      if (decision.action === 'refuse') log.warn({ ...base, reason }, 'QUER refused');
      else if (outcome === 'duplicate' || outcome === 'own query') log.debug({ ...base, reason }, 'QUER dropped');
      else log.info({ ...base, reason }, 'QUER dropped');
      observe({ type: 'quer', ...base, outcome, reason, answers: 0, forwardTtl: 0, forwardTo: [] });
      return;
    }
    const forwardTo = decision.forwardTo.map(formatNeighbor);
    log.info(
      { ...base, answers: decision.answers.length, skipped: decision.skipped, forwardTtl: decision.forwardTtl, forwardTo },
      'QUER served',
    );
    if (decision.skipped > 0) log.warn({ ...base, skipped: decision.skipped, maxAnswers: limits.maxAnswers }, 'QUER matched more files than are answered');
    observe({ type: 'quer', ...base, outcome: 'served', answers: decision.answers.length, forwardTtl: decision.forwardTtl, forwardTo });

    const replyTo = describe({ address: decision.replyTo[0]?.host, port: msg.port });
    for (const file of decision.answers) {
      let bytes: Buffer;
      try {
        bytes = encodeMessage({ command: 'AQUE', pktId: msg.pktId, address: self.address, port: self.port, md5: file.md5, fileName: file.fileName });
      } catch (err) {
        log.error({ err, md5: file.md5 }, 'cannot encode AQUE for a shared file');
        continue;
      }
      send('AQUE', msg.pktId, bytes, replyTo, decision.replyTo);
    }
    if (decision.forwardTo.length > 0) {
      const bytes = encodeMessage({ ...msg, ttl: decision.forwardTtl });
      decision.forwardTo.forEach((n, i) => send('QUER', msg.pktId, bytes, forwardTo[i] as string, endpointsOf(n, n.port)));
    }
  }

  function onAque(msg: Aque, remote: Remote): void {
    const from = describe(remote);
    const bad = checkAque(msg);
    if (bad !== null) {
      log.warn({ pktId: msg.pktId, from, reason: bad }, 'AQUE refused');
      observe({ type: 'aque', pktId: msg.pktId, from, outcome: 'refused', reason: bad });
      return;
    }
    const p = pending.get(pktIdKey(msg.pktId));
    if (!p) {
      log.info({ pktId: msg.pktId, from }, 'AQUE for no pending query of ours: ignored');
      observe({ type: 'aque', pktId: msg.pktId, from, outcome: 'unsolicited' });
      return;
    }
    const hit = hitOf(msg);
    const key = hitKey(hit);
    if (p.hits.has(key)) {
      log.debug({ pktId: msg.pktId, from }, 'duplicate AQUE dropped');
      observe({ type: 'aque', pktId: msg.pktId, from, outcome: 'duplicate' });
      return;
    }
    if (p.hits.size >= limits.maxHitsPerQuery) {
      log.warn({ pktId: msg.pktId, from, max: limits.maxHitsPerQuery }, 'AQUE dropped: too many hits for one query');
      observe({ type: 'aque', pktId: msg.pktId, from, outcome: 'too many' });
      return;
    }
    p.hits.set(key, hit);
    learn(msg.address, msg.port, 'AQUE');
    log.debug({ pktId: msg.pktId, from, md5: hit.md5, name: hit.name }, 'hit');
    observe({ type: 'aque', pktId: msg.pktId, from, outcome: 'hit' });
    observe({ type: 'hit', hit });
    try {
      p.onHit?.(hit);
    } catch (err) {
      log.error({ err }, 'onHit callback threw');
    }
  }

  function query(text: string, qo: QueryOptions = {}): Promise<Hit[]> {
    const q = validateQueryText(text);
    const ttl = validateTtl(qo.ttl ?? DEFAULT_TTL);
    const waitMs = qo.waitMs ?? DEFAULT_QUERY_WAIT_MS;
    if (!Number.isFinite(waitMs) || waitMs < 0) throw new ArgumentError(`wait ${waitMs} ms is not a finite number >= 0`);
    if (pending.size >= limits.maxPendingQueries) throw new ArgumentError(`already ${pending.size} queries pending (limit ${limits.maxPendingQueries})`);
    if (!ownIp4 && !ownIp6) throw new ArgumentError('our own address is unspecified: answers could not reach us');

    let pktId = newPktId(options.random);
    for (let i = 0; pending.has(pktIdKey(pktId)) || seen.has(pktId, now()); i++) {
      if (i > 8) throw new Error('random source keeps repeating Pktids');
      pktId = newPktId(options.random);
    }
    // Our own query coming back round a loop is then a duplicate.
    seen.add(pktId, now());
    const targets = neighbors.list();
    return new Promise<Hit[]>((resolve) => {
      const hits = new Map<string, Hit>();
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => entry.finish();
      const entry: Pending = {
        query: q,
        hits,
        onHit: qo.onHit,
        finish: () => {
          if (!pending.delete(pktIdKey(pktId))) return;
          clearTimeout(timer);
          qo.signal?.removeEventListener('abort', onAbort);
          log.info({ pktId, query: q, hits: hits.size }, 'query finished');
          observe({ type: 'query-done', pktId, hits: hits.size });
          resolve([...hits.values()]);
        },
      };
      pending.set(pktIdKey(pktId), entry);
      log.info({ pktId, query: q, ttl, neighbors: targets.length, waitMs }, 'query started');
      observe({ type: 'query', pktId, query: q, ttl, neighbors: targets.length });
      try {
        qo.onStart?.({ pktId, query: q, ttl, neighbors: targets.length });
      } catch (err) {
        log.error({ err }, 'onStart callback threw');
      }
      if (targets.length === 0) {
        log.warn({ pktId }, 'no neighbours to send the query to');
        entry.finish();
        return;
      }
      const bytes = encodeMessage({ command: 'QUER', pktId, address: self.address, port: self.port, ttl, query: q });
      for (const n of targets) send('QUER', pktId, bytes, formatNeighbor(n), endpointsOf(n, n.port));
      if (qo.signal?.aborted) {
        entry.finish();
        return;
      }
      qo.signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => entry.finish(), waitMs);
    });
  }

  /** The listener must never see a handler throw: a bug here is logged, not a dead connection loop. */
  const guarded =
    <M extends Quer | Aque>(handler: (msg: M, remote: Remote) => void, command: string) =>
    (msg: M, remote: Remote): void => {
      try {
        handler(msg, remote);
      } catch (err) {
        log.error({ err, command, pktId: msg.pktId, from: describe(remote) }, 'flood handler failed');
      }
    };

  return {
    onQuer: guarded(onQuer, 'QUER'),
    onAque: guarded(onAque, 'AQUE'),
    learnNeighbor: (host, port) => learn(host, port, 'FCHU'),
    query,
    close(): void {
      for (const p of [...pending.values()]) p.finish();
      courier.close();
    },
    neighbors,
  };
}
