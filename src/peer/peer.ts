/**
 * A peer: identity (announced IPv4/IPv6 + port), listener, tracker session,
 * file store, shares, downloads and logout. The CLI drives it; events go to
 * whoever subscribes (JSON lines, progress bars, tests).
 */
import { EventEmitter } from 'node:events';
import { mkdir, readdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { randomInt } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { ErrorCode, FileError } from '../errors.js';
import type { Logger } from '../log.js';
import type { GuardLimits } from '../net/guard.js';
import { DEFAULT_PART_LENGTH, type PeerAddress, compressIPv6, expandIPv6, normalizeIPv4, peerAddress } from '../protocol/index.js';
import { ADMIT_ALL, IGNORE_TRAFFIC, type Throttle, type TrafficRecorder, UNLIMITED, type UploadAdmission } from './bandwidth.js';
import type { LocalAddresses } from './connect.js';
import { DEFAULT_TUNING, Download, type DownloadEvent, type DownloadTuning } from './downloader.js';
import { FileStore, type LocalFile, describeForShare } from './files.js';
import { type PeerMessageHandlers, PeerListener } from './listener.js';
import { TrackerClient, type TrackerFile, type TrackerHolder, type LogoutResult } from './tracker-client.js';

export interface PeerOptions {
  readonly trackerHost: string;
  readonly trackerPort: number;
  readonly ip4?: string;
  readonly ip6?: string;
  /** 0 = any free port (the same on both addresses). */
  readonly port: number;
  readonly dir: string;
  readonly partSize?: number;
  readonly chunkSize?: number;
  readonly upThrottle?: Throttle;
  readonly downThrottle?: Throttle;
  readonly admission?: UploadAdmission;
  readonly traffic?: TrafficRecorder;
  readonly handlers?: PeerMessageHandlers;
  /** Limits on incoming connections (per client, in all, deadlines); defaults: DEFAULT_LISTENER_LIMITS. */
  readonly connections?: Partial<GuardLimits>;
  /**
   * An upload whose reader stalls is cut: a part may wait for its reader
   * max(stallFloorMs, part / minUploadRate) in all. Defaults 10 s and 16 KiB/s.
   */
  readonly stallFloorMs?: number;
  readonly minUploadRate?: number;
  /** A client whose upload stalled gets no uploads for this long (default 30 s). */
  readonly stallPenaltyMs?: number;
  /** Every FCHU answer (e.g. to learn flooding neighbours, and for the choker: aliases, departures). */
  readonly onHolders?: (holders: readonly TrackerHolder[], md5: string) => void;
  /**
   * While seeding (no download polls the tracker), ask FCHU for each complete
   * shared file this often so onHolders still sees who is in the swarm. 0 = never.
   */
  readonly swarmWatchMs?: number;
  readonly tuning?: Partial<DownloadTuning>;
  readonly random?: () => number;
  readonly log: Logger;
}

export type PeerEvent =
  | { event: 'ready'; ip4: string; ip6: string; port: number }
  | { event: 'shared'; md5: string; name: string; parts: number; path: string; size: number }
  | { event: 'started'; md5: string; name: string; parts: number; have: number; size: number }
  | { event: 'part'; md5: string; part: number; from: string; have: number; parts: number }
  | { event: 'complete'; md5: string; path: string; seconds: number }
  | { event: 'error'; message: string; code: string; md5?: string; path?: string }
  | { event: 'logout'; accepted: boolean; partsOwned?: number; partsDown?: number };

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

const cryptoRandom = (): number => randomInt(0, 2 ** 47) / 2 ** 47;

export class Peer extends EventEmitter {
  readonly store = new FileStore();
  readonly address: PeerAddress;
  /** As typed (IPv6 compressed), for display and binding. */
  readonly ip4: string;
  readonly ip6: string;
  readonly dir: string;
  readonly downloads = new Map<string, Download>();
  private readonly results = new Map<string, Promise<DownloadEvent>>();
  private listener: PeerListener | null = null;
  private tracker: TrackerClient | null = null;
  private readonly tuning: DownloadTuning;
  port = 0;

  constructor(private readonly options: PeerOptions) {
    super();
    const defaults = defaultAddresses();
    this.ip4 = normalizeIPv4(options.ip4 ?? defaults.ip4);
    this.ip6 = compressIPv6(options.ip6 ?? defaults.ip6);
    this.address = peerAddress(this.ip4, this.ip6);
    this.dir = resolvePath(options.dir);
    this.tuning = { ...DEFAULT_TUNING, ...options.tuning };
  }

  private get local(): LocalAddresses {
    return { ip4: this.ip4, ip6: this.ip6 };
  }

  private send(event: PeerEvent): void {
    this.emit('peer-event', event);
  }

  get trackerClient(): TrackerClient {
    if (!this.tracker) throw new FileError(ErrorCode.BAD_STATE, 'the peer is not started');
    return this.tracker;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const log = this.options.log;
    this.listener = new PeerListener({
      ip4: this.ip4,
      ip6: this.ip6,
      port: this.options.port,
      handlers: this.options.handlers,
      limits: this.options.connections,
      stallPenaltyMs: this.options.stallPenaltyMs,
      log,
      upload: {
        stallFloorMs: this.options.stallFloorMs,
        minRate: this.options.minUploadRate,
        store: this.store,
        throttle: this.options.upThrottle ?? UNLIMITED,
        admission: this.options.admission ?? ADMIT_ALL,
        traffic: this.options.traffic ?? IGNORE_TRAFFIC,
        chunkSize: this.options.chunkSize ?? 4096,
        batchBytes: isUnlimited(this.options.upThrottle) ? undefined : 1,
        log,
      },
    });
    this.port = await this.listener.start();
    log.info({ ip4: this.ip4, ip6: this.ip6, port: this.port }, 'peer listening');
    this.tracker = new TrackerClient({
      host: this.options.trackerHost,
      port: this.options.trackerPort,
      self: this.address,
      selfPort: this.port,
      local: this.local,
      log,
    });
    await this.tracker.login();
    this.send({ event: 'ready', ip4: this.ip4, ip6: this.ip6, port: this.port });
    const watchMs = this.options.swarmWatchMs ?? 0;
    if (watchMs > 0 && this.options.onHolders) {
      this.swarmTimer = setInterval(() => void this.watchSwarm(), watchMs);
      this.swarmTimer.unref();
    }
  }

  private swarmTimer: NodeJS.Timeout | null = null;
  private watching = false;
  /** FCHU for complete shared files no running download polls (seeding), for onHolders. */
  private async watchSwarm(): Promise<void> {
    if (this.watching || !this.tracker) return;
    this.watching = true;
    try {
      for (const f of this.store.all()) {
        if (!f.complete) continue;
        const d = this.downloads.get(f.md5);
        if (d && d.status === 'downloading') continue;
        const holders = await this.tracker.holders(f.md5, f.parts);
        this.options.onHolders?.(holders, f.md5);
      }
    } catch (err) {
      this.options.log.debug({ err: (err as Error).message }, 'swarm watch FCHU failed');
    } finally {
      this.watching = false;
    }
  }

  /** md5s of downloads interrupted earlier in this folder (state files beside partial files). */
  async unfinished(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names) {
      const m = /^\.([0-9a-fA-F]{32})\.bt-state$/.exec(n);
      if (m) out.push(m[1] as string);
    }
    return out;
  }

  async share(path: string): Promise<LocalFile> {
    const file = await describeForShare(resolvePath(path), this.options.partSize ?? DEFAULT_PART_LENGTH);
    const parts = await this.trackerClient.addFile({ fileLength: file.fileLength, partLength: file.partLength, fileName: file.fileName, md5: file.md5 });
    if (parts !== file.parts) this.options.log.warn({ md5: file.md5, ours: file.parts, tracker: parts }, 'tracker reports a different part count');
    const held = this.store.get(file.md5);
    if (!held || !held.complete) this.store.add(file);
    this.options.log.info({ md5: file.md5, name: file.fileName, parts: file.parts }, 'sharing');
    this.send({ event: 'shared', md5: file.md5, name: file.fileName, parts: file.parts, path: file.path, size: file.fileLength });
    return file;
  }

  search(query: string): Promise<TrackerFile[]> {
    return this.trackerClient.look(query);
  }

  /** Starts (or returns) the download of `md5`; the promise settles with its last event. */
  get(md5: string): { download: Download; done: Promise<DownloadEvent> } {
    const existing = this.downloads.get(md5);
    const running = this.results.get(md5);
    if (existing && running && existing.status !== 'failed' && existing.status !== 'stopped') return { download: existing, done: running };
    const download = new Download(md5, {
      tracker: this.trackerClient,
      store: this.store,
      dir: this.dir,
      self: this.address,
      selfPort: this.port,
      local: this.local,
      traffic: this.options.traffic ?? IGNORE_TRAFFIC,
      downThrottle: isUnlimited(this.options.downThrottle) ? undefined : this.options.downThrottle,
      onHolders: this.options.onHolders ? (holders) => this.options.onHolders?.(holders, md5) : undefined,
      log: this.options.log.child({ md5 }),
      random: this.options.random ?? cryptoRandom,
      tuning: this.tuning,
      emit: (e) => this.onDownloadEvent(e),
    });
    const done = download.run();
    this.results.set(md5, done);
    this.downloads.set(md5, download);
    return { download, done };
  }

  private onDownloadEvent(e: DownloadEvent): void {
    switch (e.type) {
      case 'started':
        this.send({ event: 'started', md5: e.md5, name: e.fileName, parts: e.parts, have: e.have, size: e.fileLength });
        break;
      case 'part':
        this.send({ event: 'part', md5: e.md5, part: e.part, from: e.from, have: e.have, parts: e.parts });
        break;
      case 'complete':
        this.send({ event: 'complete', md5: e.md5, path: e.path, seconds: e.seconds });
        break;
      case 'failed':
        this.send({ event: 'error', message: e.message, code: e.code, md5: e.md5, ...(e.path ? { path: e.path } : {}) });
        break;
    }
  }

  async logout(): Promise<LogoutResult> {
    const result = await this.trackerClient.logout();
    this.send(result.ok ? { event: 'logout', accepted: true, partsOwned: result.partsOwned } : { event: 'logout', accepted: false, partsDown: result.partsDown });
    return result;
  }

  stopDownloads(): void {
    for (const d of this.downloads.values()) d.stop();
  }

  async close(): Promise<void> {
    if (this.swarmTimer) clearInterval(this.swarmTimer);
    this.swarmTimer = null;
    this.stopDownloads();
    await this.listener?.close();
  }

  /** Wire form of our IPv6 (full), e.g. for flood handlers. */
  get ip6Full(): string {
    return expandIPv6(this.ip6);
  }
}
