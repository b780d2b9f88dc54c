/**
 * `startPeer(settings)`: the peer's one composition root. Builds and starts a
 * whole peer — identity, listener, tracker session, shares, downloads,
 * bandwidth and choker, flooding search, metrics — and returns a handle with
 * methods and one typed event stream. The CLI, tests, benchmarks and the demo
 * all go through here; nothing below it knows about terminals or flags.
 */
import { randomInt } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { ErrorCode, diskError } from '../errors.js';
import { type PeerAddress, compressIPv6, countParts, normalizeIPv4, partsOf, peerAddress } from '../protocol/index.js';
import type { LocalAddresses } from './connect.js';
import { type BandwidthStatus, createBandwidthPolicy } from './bandwidth/policy.js';
import type { RoundResult } from './choke/choker.js';
import { type PeerConfig, type PeerSettings, peerConfig } from './config.js';
import { defaultAddresses, isUnlimited } from './addresses.js';
import { Download, type DownloadEvent, type DownloadStatus } from './download/download.js';
import { FileStore, type LocalFile, describeForShare } from './files.js';
import { type FloodService, type Hit, type Neighbor, createConfiguredFlood, hitEvent, lookupHit } from './flood/index.js';
import { type PeerMessageHandlers, PeerListener } from './listener.js';
import { type MetricsServer, type PeerMetricsSnapshot, createPeerRegistry, startPeerMetricsServer } from './metrics.js';
import { type LogoutResult, TrackerClient, type TrackerFile, type TrackerHolder } from './tracker-client.js';

export type { PeerConfig, PeerSettings } from './config.js';
export { PEER_DEFAULTS, peerConfig } from './config.js';
export type { DownloadEvent, DownloadStatus } from './download/download.js';

/** Everything a peer tells its user, in order. `--json` prints these as they are. */
export type PeerEvent =
  | { event: 'ready'; ip4: string; ip6: string; port: number }
  | { event: 'shared'; md5: string; name: string; parts: number; path: string; size: number }
  | { event: 'started'; md5: string; name: string; parts: number; have: number; size: number }
  | { event: 'part'; md5: string; part: number; from: string; have: number; parts: number }
  | { event: 'complete'; md5: string; path: string; seconds: number }
  | { event: 'error'; message: string; code: string; md5?: string; path?: string }
  /** An owner is banned for this file: it sent wrong bytes for `parts`. */
  | { event: 'banned'; md5: string; owner: string; reason: string; parts: readonly number[] }
  /** A ban is lifted: the verified file shows the owner sent the right bytes (colluders had outvoted it). */
  | { event: 'unbanned'; md5: string; owner: string; reason: string }
  /** The whole-file md5 failed; the wrong parts were found, fetched again from others, and the file verified. */
  | { event: 'healed'; md5: string; wrong: readonly number[]; liars: readonly { owner: string; parts: readonly number[] }[]; refetched: number; rounds: number; seconds: number }
  | { event: 'logout'; accepted: boolean; partsOwned?: number; partsDown?: number }
  | { event: 'choke'; t: number; round: number; mode: string; regular: readonly string[]; optimistic: string | null; unchokedNow: readonly string[]; chokedNow: readonly string[] }
  | { event: 'query'; pktId: string; query: string; ttl: number; neighbors: number }
  | { event: 'hit'; pktId: string; md5: string; name: string; ip4: string; ip6: string; port: number }
  | { event: 'query-done'; pktId: string; hits: number; files: number };

export interface SharedStatus {
  readonly md5: string;
  readonly name: string;
  readonly parts: number;
  readonly size: number;
  readonly path: string;
}

/** A snapshot of the whole peer, for `status`, progress bars and metrics. */
export interface PeerStatus {
  readonly ip4: string;
  readonly ip6: string;
  readonly port: number;
  readonly downloads: readonly DownloadStatus[];
  readonly shares: readonly SharedStatus[];
  readonly bandwidth: BandwidthStatus;
}

export interface PeerHandle {
  readonly ip4: string;
  readonly ip6: string;
  readonly port: number;
  readonly address: PeerAddress;
  readonly config: PeerConfig;
  /** Seconds since the peer started. */
  uptime(): number;
  /** Where /metrics is served, or null. */
  readonly metrics: { readonly host: string; readonly port: number; readonly url: string } | null;
  /** Subscribes to every event from now on; returns the unsubscribe. */
  on(listener: (event: PeerEvent) => void): () => void;
  /** Hashes and registers a file; the peer then serves it. */
  share(path: string): Promise<LocalFile>;
  /** Downloads `md5` (or joins its running download); resolves with the outcome, never rejects. */
  get(md5: string): Promise<DownloadEvent>;
  /** Downloads a flood-search hit: its size comes from the tracker (LOOK by name), then `get`. */
  getHit(md5: string, name: string): Promise<DownloadEvent>;
  /** LOOK at the tracker ("*" lists everything). */
  search(query: string): Promise<TrackerFile[]>;
  /** Floods a query among neighbours; resolves with its distinct hits once the wait is over. */
  quer(text: string, options?: { ttl?: number; waitMs?: number; onHit?: (hit: Hit) => void }): Promise<Hit[]>;
  neighbors(): readonly Neighbor[];
  /** md5s of downloads interrupted earlier in this folder. */
  unfinished(): Promise<string[]>;
  status(): PeerStatus;
  /** One LOGO. Accepted: the session is gone. Refused (NLOG): we hold the only copy of something. */
  logout(): Promise<LogoutResult>;
  /**
   * Stops downloads and logs out; while the tracker refuses, keeps seeding and
   * asks again every `logoutRetryMs` until accepted or `signal` aborts.
   */
  leave(signal?: AbortSignal): Promise<LogoutResult>;
  stopDownloads(): void;
  /** Stops everything (uploads in progress finish first, within a grace time). */
  close(): Promise<void>;
}

function metricsAddress(host: string, port: number): { host: string; port: number; url: string } {
  return { host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics` };
}

const cryptoRandom = (): number => randomInt(0, 2 ** 47) / 2 ** 47;

async function prepareFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw diskError(err, 'create the download folder', dir);
  }
  const info = await stat(dir).catch((err: unknown) => { throw diskError(err, 'open the download folder', dir); });
  if (!info.isDirectory()) throw diskError(Object.assign(new Error('not a folder'), { code: 'ENOTDIR' }), 'use the download folder', dir);
}

/**
 * Starts a peer. `onEvent`, when given, is subscribed before anything starts,
 * so it sees every event (`ready` included); `handle.on` adds more later.
 */
export async function startPeer(settings: PeerSettings, onEvent?: (event: PeerEvent) => void): Promise<PeerHandle> {
  const config = peerConfig(settings);
  const startedAt = performance.now();
  /** Seconds since this peer started (the `t` of timed events). */
  const uptime = (): number => Math.round(performance.now() - startedAt) / 1000;
  const { log } = config;
  const defaults = defaultAddresses();
  const ip4 = normalizeIPv4(config.ip4 ?? defaults.ip4);
  const ip6 = compressIPv6(config.ip6 ?? defaults.ip6);
  const address = peerAddress(ip4, ip6);
  const local: LocalAddresses = { ip4, ip6 };
  const dir = resolvePath(config.dir);
  const random = config.random ?? cryptoRandom;
  await prepareFolder(dir);

  const listeners = new Set<(e: PeerEvent) => void>(onEvent ? [onEvent] : []);
  const emit = (e: PeerEvent): void => {
    for (const l of listeners) {
      try {
        l(e);
      } catch (err) {
        log.warn({ err: (err as Error).message, event: e.event }, 'event listener failed');
      }
    }
  };

  const store = new FileStore();
  // Files we share as their source: seed spreading puts each part into the swarm once before any twice.
  const origins = new Map<string, number>();
  const bw = createBandwidthPolicy({
    upRate: config.upRate,
    downRate: config.downRate,
    noUpload: config.noUpload,
    log,
    self: ip4,
    choker: { uploadSlots: config.uploadSlots, partsPerPeer: config.partsPerPeer, onRound: (r: RoundResult) => emit({ event: 'choke', t: uptime(), round: r.round, mode: r.mode, regular: r.regular, optimistic: r.optimistic, unchokedNow: r.unchokedNow, chokedNow: r.chokedNow }) },
    origin: (md5) => origins.get(md5) ?? null,
    // Seeding rules the moment nothing is downloading; a holder listed with every part is not interested.
    downloading: () => [...downloads.values()].some((d) => d.download.status().state === 'downloading'),
    parts: (md5) => store.get(md5)?.parts ?? null,
  });

  // The flooding search's handlers are installed once the service exists (it needs our port).
  const handlers: PeerMessageHandlers = {};
  const listener = new PeerListener({
    ip4,
    ip6,
    port: config.port,
    handlers,
    limits: config.connections,
    stallPenaltyMs: config.stallPenaltyMs,
    log,
    upload: {
      stallFloorMs: config.uploadStallFloorMs,
      minRate: config.uploadMinRate,
      store,
      throttle: bw.upThrottle,
      admission: bw.admission,
      traffic: bw.traffic,
      chunkSize: config.chunkSize,
      batchBytes: isUnlimited(bw.upThrottle) ? undefined : 1,
      log,
    },
  });
  const port = await listener.start();
  log.info({ ip4, ip6, port }, 'peer listening');

  const tracker = new TrackerClient({ host: config.tracker.host, port: config.tracker.port, self: address, selfPort: port, local, log });
  let flood: FloodService;
  try {
    flood = createConfiguredFlood(config.neighbors, { self: { address, port }, sharedFiles: () => store.all().filter((f) => f.complete), logger: log.child({ part: 'flood' }) });
  } catch (err) {
    await listener.close();
    throw err;
  }
  handlers.QUER = (m, r) => flood.onQuer(m, r);
  handlers.AQUE = (m, r) => flood.onAque(m, r);

  /** Every FCHU answer: neighbours for the flood, identities and departures for the choker. */
  const onHolders = (holders: readonly TrackerHolder[], md5: string): void => {
    for (const h of holders) flood.learnNeighbor(h.address, h.port);
    bw.learnHolders(md5, holders.filter((h) => h.address.ip4 !== ip4));
  };

  const downloads = new Map<string, { download: Download; done: Promise<DownloadEvent> }>();
  const timers: NodeJS.Timeout[] = [];
  let metrics: MetricsServer | null = null;
  let closed = false;

  const closeAll = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearInterval(t);
    for (const d of downloads.values()) d.download.stop();
    flood.close();
    bw.stop();
    await Promise.allSettled([...downloads.values()].map((d) => d.done));
    await metrics?.close().catch(() => undefined);
    await listener.close();
  };

  try {
    await tracker.login();
    if (config.metrics) {
      metrics = await startPeerMetricsServer({ registry: createPeerRegistry(() => metricsOf(status())), host: config.metrics.host, port: config.metrics.port, logger: log });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const every = (ms: number, fn: () => Promise<void>): void => {
    if (ms <= 0) return;
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      fn().catch((err: Error) => log.debug({ err: err.message }, 'periodic task failed')).finally(() => { busy = false; });
    }, ms);
    t.unref();
    timers.push(t);
  };
  // The tracker drops peers it does not hear from: an idempotent LOGI says we are alive. A new
  // session means it forgot us (restarted without state, or took us for dead): say again what we hold.
  every(config.refreshMs, async () => {
    if ((await tracker.refresh()).changed) await reannounce();
  });
  // While seeding (no download polls FCHU), who is in the swarm still matters to the choker and the flood.
  every(config.swarmWatchMs, async () => {
    for (const f of store.all()) {
      if (!f.complete || downloads.get(f.md5)?.download.running) continue;
      onHolders(await tracker.holders(f.md5, f.parts), f.md5);
    }
  });

  /** ADDR of every complete file and RPAD of every part held of the others, to a tracker that forgot us. */
  const reannounce = async (): Promise<void> => {
    log.warn('the tracker gave us a new session; announcing our files and parts again');
    for (const f of store.all()) {
      if (f.complete) {
        await tracker.addFile({ fileLength: f.fileLength, partLength: f.partLength, fileName: f.fileName, md5: f.md5 });
        continue;
      }
      const failure = (await tracker.reportParts(f.md5, partsOf(f.bitmap, f.parts))).find((r) => r instanceof Error);
      if (failure) throw failure;
    }
  };

  const toEvent = (e: DownloadEvent): PeerEvent | null => {
    switch (e.type) {
      case 'started': return { event: 'started', md5: e.md5, name: e.fileName, parts: e.parts, have: e.have, size: e.fileLength };
      case 'part': return { event: 'part', md5: e.md5, part: e.part, from: e.from, have: e.have, parts: e.parts };
      case 'complete': return { event: 'complete', md5: e.md5, path: e.path, seconds: e.seconds };
      case 'failed': return { event: 'error', message: e.message, code: e.code, md5: e.md5, ...(e.path ? { path: e.path } : {}) };
      case 'banned': return { event: 'banned', md5: e.md5, owner: e.owner, reason: e.reason, parts: e.parts };
      case 'unbanned': return { event: 'unbanned', md5: e.md5, owner: e.owner, reason: e.reason };
      case 'healed': return { event: 'healed', md5: e.md5, wrong: e.wrong, liars: e.liars, refetched: e.refetched, rounds: e.rounds, seconds: e.seconds };
    }
  };

  const get = (md5: string): Promise<DownloadEvent> => {
    const existing = downloads.get(md5);
    if (existing && existing.download.running) return existing.done;
    if (closed) return Promise.resolve({ type: 'failed', md5, message: 'the peer is closing', code: ErrorCode.BAD_STATE });
    const download = new Download(md5, {
      tracker,
      store,
      dir,
      self: address,
      selfPort: port,
      local,
      traffic: bw.traffic,
      downThrottle: isUnlimited(bw.downThrottle) ? undefined : bw.downThrottle,
      onHolders: (holders) => onHolders(holders, md5),
      log: log.child({ md5 }),
      random,
      now: Date.now,
      tuning: config,
      emit: (e) => {
        const pe = toEvent(e);
        if (pe) emit(pe);
      },
    });
    const done = download.run();
    downloads.set(md5, { download, done });
    return done;
  };

  const status = (): PeerStatus => ({
    ip4,
    ip6,
    port,
    downloads: [...downloads.values()].map((d) => d.download.status()),
    shares: store.all().filter((f) => f.complete).map((f) => ({ md5: f.md5, name: f.fileName, parts: f.parts, size: f.fileLength, path: f.path })),
    bandwidth: bw.status(),
  });

  const metricsOf = (st: PeerStatus): PeerMetricsSnapshot => {
    let partsDone = 0;
    let partsTotal = 0;
    for (const f of store.all()) {
      partsTotal += f.parts;
      partsDone += countParts(f.bitmap);
    }
    const b = st.bandwidth;
    let uploadsActive = 0;
    for (const p of b.peers) uploadsActive += p.serving;
    let downloadsActive = 0;
    let banned = 0;
    for (const d of st.downloads) {
      if (d.state === 'downloading') downloadsActive += d.activeOwners;
      banned += d.banned.length;
    }
    return {
      bytesUploaded: b.uploaded,
      bytesDownloaded: b.downloaded,
      uploadRate: b.uploadRate,
      downloadRate: b.downloadRate,
      peersChoked: b.peers.filter((p) => p.choked).length,
      peersUnchoked: b.unchoked.length,
      partsDone,
      partsTotal,
      downloadsActive,
      uploadsActive,
      peersBanned: banned,
    };
  };

  const logout = async (): Promise<LogoutResult> => {
    const result = await tracker.logout();
    emit(result.ok ? { event: 'logout', accepted: true, partsOwned: result.partsOwned } : { event: 'logout', accepted: false, partsDown: result.partsDown });
    return result;
  };

  const handle: PeerHandle = {
    ip4,
    ip6,
    port,
    address,
    config,
    uptime,
    metrics: metrics && config.metrics ? metricsAddress(config.metrics.host, (metrics as MetricsServer).port) : null,
    on(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async share(path) {
      const file = await describeForShare(resolvePath(path), config.partSize);
      const parts = await tracker.addFile({ fileLength: file.fileLength, partLength: file.partLength, fileName: file.fileName, md5: file.md5 });
      if (parts !== file.parts) log.warn({ md5: file.md5, ours: file.parts, tracker: parts }, 'tracker reports a different part count');
      const held = store.get(file.md5);
      if (!held || !held.complete) store.add(file);
      origins.set(file.md5, file.parts);
      log.info({ md5: file.md5, name: file.fileName, parts: file.parts }, 'sharing');
      emit({ event: 'shared', md5: file.md5, name: file.fileName, parts: file.parts, path: file.path, size: file.fileLength });
      return file;
    },
    get,
    async getHit(md5, name) {
      try {
        await lookupHit((q) => tracker.look(q), md5, name);
      } catch (err) {
        const e = err as Error & { code?: string };
        const failed: DownloadEvent = { type: 'failed', md5, message: e.message, code: e.code ?? 'BT_INTERNAL' };
        emit({ event: 'error', message: failed.message, code: failed.code, md5 });
        return failed;
      }
      return get(md5);
    },
    search: (query) => tracker.look(query),
    async quer(text, options = {}) {
      let pktId = '';
      const hits = await flood.query(text, {
        ttl: options.ttl ?? config.ttl,
        waitMs: options.waitMs ?? config.queryWaitMs,
        onStart: (s) => {
          pktId = s.pktId;
          emit({ event: 'query', pktId: s.pktId, query: s.query, ttl: s.ttl, neighbors: s.neighbors });
        },
        onHit: (h) => {
          emit({ ...hitEvent(h), pktId: h.pktId });
          options.onHit?.(h);
        },
      });
      emit({ event: 'query-done', pktId, hits: hits.length, files: new Set(hits.map((h) => h.md5)).size });
      return hits;
    },
    neighbors: () => flood.neighbors.list(),
    async unfinished() {
      const names = await readdir(dir).catch(() => [] as string[]);
      const out: string[] = [];
      for (const n of names) {
        const m = /^\.([0-9a-fA-F]{32})\.bt-state$/.exec(n);
        if (m) out.push(m[1] as string);
      }
      return out;
    },
    status,
    logout,
    async leave(signal) {
      handle.stopDownloads();
      for (;;) {
        let result: LogoutResult | null = null;
        try {
          result = await logout();
          if (result.ok) return result;
          log.warn({ partsDown: result.partsDown, retryMs: config.logoutRetryMs }, 'logout refused; seeding until our parts have other holders');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'logout failed; will retry');
        }
        const waited = await new Promise<boolean>((resolve) => {
          if (signal?.aborted) return resolve(false);
          const t = setTimeout(() => resolve(true), config.logoutRetryMs);
          signal?.addEventListener('abort', () => { clearTimeout(t); resolve(false); }, { once: true });
        });
        if (!waited) return result ?? { ok: false, partsDown: 0 };
      }
    },
    stopDownloads() {
      for (const d of downloads.values()) d.download.stop();
    },
    close: closeAll,
  };
  emit({ event: 'ready', ip4, ip6, port });
  // The first re-choke round (and its event) comes after `ready`.
  bw.start();
  return handle;
}
