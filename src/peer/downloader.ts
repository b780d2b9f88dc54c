/**
 * One download: find the file at the tracker, poll FCHU for owners, fetch
 * several parts at once (bounded per owner) chosen by the picker, write each at
 * its offset in a preallocated partial file, keep state beside it, RPAD each
 * part as it lands, retry failures elsewhere with back-off, endgame, then verify
 * the md5 and move the file to its final name.
 */
import type { FileHandle } from 'node:fs/promises';
import { access, rename } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { ErrorCode, FileError, RemoteError, isBugTorrentError } from '../errors.js';
import type { Logger } from '../log.js';
import { type PeerAddress, emptyBitmap, formatHostPort, hasPart, setPart, countParts, MAX_PART_COUNT } from '../protocol/index.js';
import type { Throttle, TrafficRecorder } from './bandwidth.js';
import { afterBytes } from './buffers.js';
import type { LocalAddresses } from './connect.js';
import { ConnectionPool, type FetchHandle, fetchPart, isChoked } from './fetch.js';
import { type FileStore, type LocalFile, PrefixHasher, StateFile, checkHash, loadState, openPartial, partialPath } from './files.js';
import { type OwnerView, pickPart } from './picker.js';
import { sanitizeFileName } from './sanitize.js';
import type { TrackerClient, TrackerFile, TrackerHolder } from './tracker-client.js';

export interface DownloadTuning {
  /** FCHU polling period while downloading. */
  readonly pollMs: number;
  readonly maxPerOwner: number;
  readonly maxInFlight: number;
  readonly stallMs: number;
  readonly connectTimeoutMs: number;
  readonly randomFirst: number;
  readonly endgameCopies: number;
  /** How long to wait for the md5 to appear at the tracker. */
  readonly findTimeoutMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_TUNING: DownloadTuning = {
  pollMs: 3000,
  maxPerOwner: 4,
  maxInFlight: 12,
  stallMs: 10_000,
  connectTimeoutMs: 5000,
  randomFirst: 4,
  endgameCopies: 2,
  findTimeoutMs: 30_000,
  // The choker re-decides every 10 s: a refused owner is worth asking again within that.
  maxBackoffMs: 10_000,
};

export type DownloadEvent =
  | { type: 'started'; md5: string; fileName: string; parts: number; have: number; fileLength: number }
  | { type: 'part'; md5: string; part: number; from: string; have: number; parts: number }
  | { type: 'complete'; md5: string; path: string; seconds: number; convention: string }
  | { type: 'failed'; md5: string; message: string; code: string; path?: string };

export interface DownloadDeps {
  readonly tracker: TrackerClient;
  readonly store: FileStore;
  readonly dir: string;
  readonly self: PeerAddress;
  readonly selfPort: number;
  readonly local: LocalAddresses;
  readonly traffic: TrafficRecorder;
  /** Shared by every download of this peer. */
  readonly downThrottle?: Throttle;
  readonly onHolders?: (holders: readonly TrackerHolder[]) => void;
  readonly log: Logger;
  readonly random: () => number;
  readonly tuning: DownloadTuning;
  readonly emit: (event: DownloadEvent) => void;
}

interface Owner {
  readonly key: string;
  readonly address: PeerAddress;
  readonly port: number;
  bitmap: Buffer;
  load: number;
  failures: number;
  backoffUntil: number;
  listed: boolean;
}

interface Flight {
  readonly owner: Owner;
  readonly handle: FetchHandle;
  cancelled: boolean;
}

/** After an owner choked us, leave it alone this long (plus up to as much again at random). */
const CHOKED_RETRY_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Download {
  readonly md5: string;
  info: TrackerFile | null = null;
  file: LocalFile | null = null;
  status: 'finding' | 'downloading' | 'verifying' | 'complete' | 'failed' | 'stopped' = 'finding';
  readonly started = Date.now();
  bytesDone = 0;
  private owners = new Map<string, Owner>();
  private everSeen = new Map<string, PeerAddress>();
  private sharerKnown = false;
  private inFlight = new Map<number, Map<string, Flight>>();
  private inFlightCount = 0;
  private fh: FileHandle | null = null;
  private saver: StateFile | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private finished!: (value: void) => void;
  private readonly allIn = new Promise<void>((r) => { this.finished = r; });
  private stopped = false;
  private pending = new Set<Promise<unknown>>();
  /** RPADs under way: verification does not wait for them, the final event does. */
  private reports = new Set<Promise<unknown>>();
  private hasher: PrefixHasher | null = null;
  private readonly pool = new ConnectionPool();
  /**
   * Part buffers free for the next fetch. A buffer goes to one fetch, then to
   * `landed` (disk write and md5 are done with it when that settles) and comes
   * back here: no fresh 256 KiB allocation per part. At most one per flight.
   */
  private readonly spare: Buffer[] = [];

  constructor(md5: string, private readonly deps: DownloadDeps) {
    this.md5 = md5;
  }

  get have(): number {
    return this.file ? countParts(this.file.bitmap) : 0;
  }
  get peers(): number {
    let n = 0;
    for (const o of this.owners.values()) if (o.load > 0) n++;
    return n;
  }
  get ownerCount(): number {
    return this.owners.size;
  }

  /** Runs to the end; never throws (failures are reported as a 'failed' event and returned). */
  async run(): Promise<DownloadEvent> {
    let result: DownloadEvent;
    try {
      result = await this.runInner();
    } catch (err) {
      this.status = this.stopped ? 'stopped' : 'failed';
      result = {
        type: 'failed',
        md5: this.md5,
        message: (err as Error).message,
        code: isBugTorrentError(err) ? err.code : 'BT_INTERNAL',
      };
    }
    this.cleanupTimers();
    for (const f of this.allFlights()) { f.cancelled = true; f.handle.cancel(); }
    this.pool.closeAll();
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
    await this.hasher?.close();
    await this.saver?.close();
    this.deps.emit(result);
    return result;
  }

  stop(): void {
    this.stopped = true;
    this.finished();
  }

  private async find(): Promise<TrackerFile> {
    const deadline = Date.now() + this.deps.tuning.findTimeoutMs;
    for (;;) {
      const found = await this.deps.tracker.findFile(this.md5);
      if (found) return found;
      if (Date.now() >= deadline || this.stopped) {
        throw new RemoteError(ErrorCode.UNKNOWN_FILE, `the tracker does not know a file with md5 ${this.md5}`);
      }
      await sleep(Math.min(1000, this.deps.tuning.pollMs));
    }
  }

  private async runInner(): Promise<DownloadEvent> {
    const { dir, log } = this.deps;
    const info = await this.find();
    if (info.parts > MAX_PART_COUNT || info.fileLength < 0) throw new FileError(ErrorCode.BAD_STATE, `file ${this.md5} has an impossible size`);
    this.info = info;
    const existing = this.deps.store.get(this.md5);
    if (existing?.complete) {
      return { type: 'complete', md5: this.md5, path: existing.path, seconds: 0, convention: 'already held' };
    }
    const resumed = await loadState(dir, this.md5, info);
    const bitmap = resumed ?? emptyBitmap(info.parts);
    const path = partialPath(dir, this.md5);
    this.fh = await openPartial(path, info.fileLength, resumed !== null);
    const name = sanitizeFileName(info.fileName, this.md5);
    this.file = { md5: this.md5, fileName: name, fileLength: info.fileLength, partLength: info.partLength, parts: info.parts, bitmap, path, complete: false };
    this.deps.store.add(this.file);
    this.hasher = new PrefixHasher(this.file);
    this.saver = await StateFile.create(
      dir,
      { version: 1, md5: this.md5, fileName: info.fileName, fileLength: info.fileLength, partLength: info.partLength },
      bitmap,
    );
    this.bytesDone = this.partsBytes(bitmap);
    this.status = 'downloading';
    this.deps.emit({ type: 'started', md5: this.md5, fileName: name, parts: info.parts, have: this.have, fileLength: info.fileLength });
    if (resumed) {
      log.info({ have: this.have, parts: info.parts }, 'resuming download; re-announcing held parts');
      await this.reannounce(bitmap, info.parts);
    }
    if (this.have < info.parts) {
      await this.poll();
      this.pollTimer = setInterval(() => void this.poll(), this.deps.tuning.pollMs);
      this.pump();
      await this.allIn;
      if (this.stopped) throw new FileError(ErrorCode.BAD_STATE, 'download stopped');
    }
    this.cleanupTimers();
    await Promise.allSettled([...this.pending]);
    await this.fh.close();
    this.fh = null;
    const result = await this.verify(name);
    // Every part was reported (or the report failed and was logged) before we say so.
    await Promise.allSettled([...this.reports]);
    return result;
  }

  private partsBytes(bitmap: Buffer): number {
    const info = this.info!;
    let n = 0;
    for (let p = 0; p < info.parts; p++) if (hasPart(bitmap, p)) n += this.partSize(p);
    return n;
  }

  private partSize(part: number): number {
    const info = this.info!;
    return Math.min(info.partLength, info.fileLength - part * info.partLength);
  }

  private async reannounce(bitmap: Buffer, parts: number): Promise<void> {
    const held: number[] = [];
    for (let p = 0; p < parts; p++) if (hasPart(bitmap, p)) held.push(p);
    const worker = async (): Promise<void> => {
      for (let p = held.shift(); p !== undefined; p = held.shift()) {
        await this.deps.tracker.reportPart(this.md5, p).catch((err: Error) => this.deps.log.warn({ part: p, err: err.message }, 'RPAD failed'));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  private cleanupTimers(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.pollTimer = null;
    this.wakeTimer = null;
  }

  private isSelf(address: PeerAddress, port: number): boolean {
    const { self, selfPort } = this.deps;
    return port === selfPort && (address.ip4 === self.ip4 || address.ip6 === self.ip6);
  }

  private polling = false;
  private async poll(): Promise<void> {
    if (this.polling || this.status !== 'downloading') return;
    this.polling = true;
    try {
      const info = this.info!;
      const holders = await this.deps.tracker.holders(this.md5, info.parts);
      try {
        this.deps.onHolders?.(holders);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'onHolders hook failed');
      }
      for (const o of this.owners.values()) o.listed = false;
      for (const h of holders) {
        if (this.isSelf(h.address, h.port)) continue;
        const key = formatHostPort(h.address.ip4, h.port);
        this.everSeen.set(`${h.address.ip4}|${h.address.ip6}`, h.address);
        if (countParts(h.bitmap) === info.parts) this.sharerKnown = true;
        const known = this.owners.get(key);
        if (known) {
          known.bitmap = h.bitmap;
          known.listed = true;
        } else {
          this.owners.set(key, { key, address: h.address, port: h.port, bitmap: h.bitmap, load: 0, failures: 0, backoffUntil: 0, listed: true });
        }
      }
      for (const [key, o] of this.owners) if (!o.listed && o.load === 0) this.owners.delete(key);
      this.reportOrphans();
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'FCHU failed; will retry');
    } finally {
      this.polling = false;
    }
    this.pump();
  }

  private orphans = 0;
  /** Warns (once per change) when some missing parts have no owner at all. */
  private reportOrphans(): void {
    const file = this.file!;
    let n = 0;
    for (let p = 0; p < file.parts; p++) {
      if (hasPart(file.bitmap, p)) continue;
      let held = false;
      for (const o of this.owners.values()) if (o.listed && hasPart(o.bitmap, p)) { held = true; break; }
      if (!held) n++;
    }
    if (n !== this.orphans) {
      if (n > 0) this.deps.log.warn({ parts: n }, 'no peer holds some missing parts; waiting for one to appear');
      this.orphans = n;
    }
  }

  private *allFlights(): Generator<Flight> {
    for (const m of this.inFlight.values()) yield* m.values();
  }

  private pump(): void {
    if (this.status !== 'downloading' || this.stopped || !this.file) return;
    const { tuning } = this.deps;
    while (this.inFlightCount < tuning.maxInFlight) {
      const now = Date.now();
      const owners: OwnerView[] = [];
      for (const o of this.owners.values()) {
        if (!o.listed) continue;
        owners.push({ key: o.key, bitmap: o.bitmap, load: o.load, available: o.load < tuning.maxPerOwner && o.backoffUntil <= now });
      }
      const inFlightKeys = new Map<number, Set<string>>();
      for (const [p, m] of this.inFlight) inFlightKeys.set(p, new Set(m.keys()));
      const pick = pickPart({
        parts: this.file.parts,
        have: this.file.bitmap,
        inFlight: inFlightKeys,
        owners,
        randomFirst: tuning.randomFirst,
        endgameCopies: tuning.endgameCopies,
        random: this.deps.random,
      });
      if (!pick) break;
      this.start(pick.part, this.owners.get(pick.owner)!);
    }
    this.scheduleWake();
  }

  /** Wake up when the first backed-off owner may be asked again. */
  private scheduleWake(): void {
    if (this.wakeTimer) return;
    let next = Infinity;
    const now = Date.now();
    for (const o of this.owners.values()) if (o.backoffUntil > now) next = Math.min(next, o.backoffUntil);
    if (next === Infinity) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.pump();
    }, next - now + 5);
  }

  private start(part: number, owner: Owner): void {
    const { tuning } = this.deps;
    const length = this.partSize(part);
    const buffer = this.spare.pop() ?? Buffer.allocUnsafe(Math.max(length, this.file!.partLength));
    const handle = fetchPart({
      host: owner.address.ip4,
      port: owner.port,
      md5: this.md5,
      part,
      length,
      buffer,
      local: this.deps.local,
      stallMs: tuning.stallMs,
      connectTimeoutMs: tuning.connectTimeoutMs,
      traffic: this.deps.traffic,
      throttle: this.deps.downThrottle,
      pool: this.pool,
    });
    const flight: Flight = { owner, handle, cancelled: false };
    let m = this.inFlight.get(part);
    if (!m) this.inFlight.set(part, (m = new Map()));
    m.set(owner.key, flight);
    owner.load++;
    this.inFlightCount++;
    const task = handle.done
      .then((chunks) => this.landed(part, flight, chunks), (err: unknown) => this.failed(part, flight, err))
      .finally(() => {
        // The fetch has settled (no socket writes into it any more) and so has `landed`.
        this.spare.push(buffer);
        owner.load--;
        this.inFlightCount--;
        const mm = this.inFlight.get(part);
        mm?.delete(owner.key);
        if (mm && mm.size === 0) this.inFlight.delete(part);
        this.pump();
      });
    this.track(task);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async landed(part: number, flight: Flight, chunks: Buffer[]): Promise<void> {
    const file = this.file!;
    if (hasPart(file.bitmap, part) || flight.cancelled || !this.fh) return;
    // First whole copy wins: cancel the other requests for this part (endgame).
    for (const [key, other] of this.inFlight.get(part) ?? []) {
      if (key !== flight.owner.key) { other.cancelled = true; other.handle.cancel(); }
    }
    const offset = part * file.partLength;
    let written = 0;
    while (written < this.partSize(part)) {
      const { bytesWritten } = await this.fh.writev(afterBytes(chunks, written), offset + written);
      written += bytesWritten;
    }
    if (hasPart(file.bitmap, part)) return;
    setPart(file.bitmap, part);
    this.bytesDone += written;
    flight.owner.failures = 0;
    const from = formatHostPort(flight.owner.address.ip4, flight.owner.port);
    const have = this.have;
    // State on disk first (so a restart keeps it), then tell the tracker and the user.
    // md5 in order, from the bytes in hand when this part is next in line.
    this.hasher?.landed(part, chunks);
    const after = this.saver!.markPart(part).then(() => {
      this.deps.emit({ type: 'part', md5: this.md5, part, from, have, parts: file.parts });
      // RPAD in the background: nothing waits for it but the final event.
      const report = this.deps.tracker.reportPart(this.md5, part).catch((err: Error) => this.deps.log.warn({ part, err: err.message }, 'RPAD failed'));
      this.reports.add(report);
      void report.finally(() => this.reports.delete(report));
    });
    this.track(after);
    if (have === file.parts) {
      this.status = 'verifying';
      this.finished();
    }
  }

  /** Times an owner choked us (held a RETP, then closed unanswered): not faults. */
  chokedCount = 0;

  private failed(part: number, flight: Flight, err: unknown): void {
    if (flight.cancelled) return;
    const owner = flight.owner;
    if (isChoked(err)) {
      // Choked, not faulty: no failure count, no escalating back-off. Prefer the
      // other owners for a while (slots free up between re-choke rounds), then ask again.
      this.chokedCount++;
      const wait = CHOKED_RETRY_MS + Math.floor(this.deps.random() * CHOKED_RETRY_MS);
      owner.backoffUntil = Math.max(owner.backoffUntil, Date.now() + wait);
      this.deps.log.info({ part, owner: owner.key, retryMs: wait }, 'choked by owner; asking others first');
      return;
    }
    owner.failures++;
    const backoff = Math.min(this.deps.tuning.maxBackoffMs, 500 * 2 ** (owner.failures - 1));
    owner.backoffUntil = Date.now() + backoff;
    this.deps.log.warn({ part, owner: owner.key, backoffMs: backoff, err: (err as Error).message }, 'part fetch failed; retrying elsewhere');
  }

  private async verify(name: string): Promise<DownloadEvent> {
    const file = this.file!;
    const { dir, log } = this.deps;
    this.status = 'verifying';
    const hash = await this.hasher!.finish();
    await this.hasher!.close();
    const outcome = checkHash(hash, this.md5, [...this.everSeen.values()], this.sharerKnown);
    const seconds = (Date.now() - this.started) / 1000;
    if (outcome.status === 'verified') {
      const finalPath = await freeName(dir, name);
      await rename(file.path, finalPath);
      file.path = finalPath;
      file.complete = true;
      await this.saver!.remove();
      this.status = 'complete';
      log.info({ path: finalPath, seconds, convention: outcome.convention }, 'download complete and verified');
      return { type: 'complete', md5: this.md5, path: finalPath, seconds, convention: outcome.convention };
    }
    // Kept apart, not shared, not offered as done.
    this.deps.store.delete(this.md5);
    const apart = join(dir, `.${this.md5}.${outcome.status}`);
    await rename(file.path, apart);
    await this.saver!.remove();
    this.status = 'failed';
    const code = outcome.status === 'corrupt' ? ErrorCode.CORRUPT : ErrorCode.UNVERIFIED;
    const message =
      outcome.status === 'corrupt'
        ? `${name}: md5 mismatch (got ${outcome.actual}, expected ${this.md5}); the file is corrupt and was kept apart as ${apart}`
        : `${name}: md5 ${this.md5} could not be confirmed (content md5 ${outcome.actual}; no full owner known to test the address convention); kept apart as ${apart}`;
    log.error({ code, path: apart }, message);
    return { type: 'failed', md5: this.md5, message, code, path: apart };
  }
}

/** `name`, or `name (1).ext`, ... : never overwrite an existing file. */
async function freeName(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let i = 0; ; i++) {
    const candidate = join(dir, i === 0 ? name : `${stem} (${i})${ext}`);
    try {
      await access(candidate);
    } catch {
      return candidate;
    }
  }
}

