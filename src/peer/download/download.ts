/**
 * One download's life: find the file at the tracker, open (or resume) its
 * partial file, poll FCHU for owners, keep the schedule full with part fetches,
 * accept each part that arrives (the one place a received part is taken in),
 * then verify and name the file. The parts it delegates to: OwnerSet (who holds
 * what, how they behaved), Schedule (what is in flight, what to ask next, via
 * the pure picker), PartialFile (bytes, bitmap, digests, state on disk),
 * Healer (cross-checks, bans, healing a file whose md5 failed), verifyDownload.
 */
import { ErrorCode, FileError, RemoteError, isBugTorrentError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { MAX_PART_COUNT, type PeerAddress, formatHostPort, setPart } from '../../protocol/index.js';
import { DEFAULT_POLL_POLICY, type PollPolicyOptions, nextPollInterval, pollDelay, pollNews } from '../poll-policy.js';
import type { Throttle, TrafficRecorder } from '../bandwidth.js';
import type { DownloadTuning } from '../config.js';
import type { LocalAddresses } from '../connect.js';
import { type FetchHandle, fetchPart, isChoked } from '../fetch.js';
import type { FileStore } from '../files.js';
import { sanitizeFileName } from '../sanitize.js';
import { MAX_REPORTS_PER_CONNECTION, type TrackerClient, type TrackerFile, type TrackerHolder } from '../tracker-client.js';
import { type Ban, type HealReport, Healer } from './heal.js';
import { type Owner, OwnerSet } from './owners.js';
import { sharedBuffer } from './hashing.js';
import { PartialFile } from './partial.js';
import { ReportQueue } from './reports.js';
import { type Flight, Schedule } from './schedule.js';
import { type VerifyResult, verifyDownload } from './verify.js';

export type DownloadEvent =
  | { type: 'started'; md5: string; fileName: string; parts: number; have: number; fileLength: number }
  | { type: 'part'; md5: string; part: number; from: string; have: number; parts: number }
  | { type: 'complete'; md5: string; path: string; seconds: number; convention: string }
  | { type: 'failed'; md5: string; message: string; code: string; path?: string }
  /** An owner is banned for this file: it sent wrong bytes for `parts`. */
  | { type: 'banned'; md5: string; owner: string; reason: string; parts: readonly number[] }
  /** A ban is lifted: the verified file shows the owner was honest (outvoted by colluders). */
  | { type: 'unbanned'; md5: string; owner: string; reason: string }
  /** The whole-file md5 failed and the file was healed (it then completes, verified). */
  | ({ type: 'healed'; md5: string } & HealReport);

export type DownloadState = 'finding' | 'downloading' | 'verifying' | 'complete' | 'failed' | 'stopped';

/** What the UI may read of a download: a snapshot, never the live internals. */
export interface DownloadStatus {
  readonly md5: string;
  readonly name: string | null;
  readonly state: DownloadState;
  readonly have: number;
  /** 0 while the file is not found yet. */
  readonly parts: number;
  readonly size: number;
  /** Bytes of the parts held. */
  readonly bytesDone: number;
  /** Owners listed by the tracker. */
  readonly owners: number;
  /** Owners we are fetching from right now. */
  readonly activeOwners: number;
  /** Times an owner choked us. */
  readonly choked: number;
  readonly banned: readonly { key: string; reason: string }[];
  /** Parts fetched a second time from another owner to compare (cross-checks). */
  readonly crossChecks: number;
  /** Bytes those cross-checks fetched (extra traffic). */
  readonly crossCheckBytes: number;
  readonly startedAt: number;
}

export interface DownloadDeps {
  readonly tracker: TrackerClient;
  readonly store: FileStore;
  readonly dir: string;
  readonly self: PeerAddress;
  readonly selfPort: number;
  readonly local: LocalAddresses;
  readonly traffic: TrafficRecorder;
  /** Shared by every download of this peer; absent = unlimited. */
  readonly downThrottle?: Throttle | undefined;
  readonly onHolders?: ((holders: readonly TrackerHolder[]) => void) | undefined;
  readonly log: Logger;
  readonly random: () => number;
  /** Wall clock, ms (back-off, durations). */
  readonly now: () => number;
  readonly tuning: DownloadTuning;
  readonly emit: (event: DownloadEvent) => void;
}

/**
 * RPAD connections open at once per download (and for the re-announcement of
 * a resume); parts reported together on one of them at most.
 */
const REPORTS_AT_ONCE = 2;
/**
 * How long a report waits for others to go with it on one connection (while
 * the tracker answers pipelined requests). Others learn of our parts from
 * their FCHU polls, a second or so apart: this delay is lost in that.
 */
const REPORT_GATHER_MS = 25;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Download {
  private state: DownloadState = 'finding';
  private info: TrackerFile | null = null;
  private name: string | null = null;
  private partial: PartialFile | null = null;
  private owners: OwnerSet | null = null;
  private schedule: Schedule | null = null;
  private healer: Healer | null = null;
  private bytesDone = 0;
  private readonly startedAt: number;
  private pollTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  /** Resolves the wait for every part (or a stop); replaced when parts must be fetched again. */
  private finished: () => void = () => undefined;
  private stopped = false;
  /** The first error that ends the download (e.g. the disk is full), or null. */
  private fatal: Error | null = null;
  /** Part fetches and their acceptance: all settle before the file is closed. */
  private readonly pending = new Set<Promise<unknown>>();
  /** RPADs, in order, a few at a time: verification does not wait for them, the final event does. */
  private readonly reports = new ReportQueue(
    (parts) => this.deps.tracker.reportParts(this.md5, parts),
    (part, err) => this.deps.log.warn({ part, err: err.message }, 'RPAD failed'),
    REPORTS_AT_ONCE,
    MAX_REPORTS_PER_CONNECTION,
    () => (this.deps.tracker.pipelining === 'no' ? Promise.resolve() : sleep(REPORT_GATHER_MS)),
  );
  /** Parts being written now (a second copy arriving meanwhile is dropped). */
  private readonly writing = new Set<number>();
  /** Cross-check fetches under way: cancelled once every part is in (the md5 judges then). */
  private readonly checking = new Set<FetchHandle>();
  /**
   * Part buffers free for the next fetch. A buffer goes to one fetch, then to
   * `accept` (disk write and md5 are done with it when that settles) and comes
   * back here: no fresh 256 KiB allocation per part. At most one per flight.
   */
  private readonly spare: Buffer[] = [];

  constructor(readonly md5: string, private readonly deps: DownloadDeps) {
    this.startedAt = deps.now();
  }

  status(): DownloadStatus {
    return {
      md5: this.md5,
      name: this.name,
      state: this.state,
      have: this.partial?.have ?? 0,
      parts: this.info?.parts ?? 0,
      size: this.info?.fileLength ?? 0,
      bytesDone: this.bytesDone,
      owners: this.owners?.size ?? 0,
      activeOwners: this.owners?.active ?? 0,
      choked: this.chokedCount,
      banned: this.owners?.banned() ?? [],
      crossChecks: this.healer?.checksDone ?? 0,
      crossCheckBytes: this.healer?.checkBytes ?? 0,
      startedAt: this.startedAt,
    };
  }

  get running(): boolean {
    return this.state === 'finding' || this.state === 'downloading' || this.state === 'verifying';
  }

  /** Runs to the end; never throws (failures are reported as a 'failed' event and returned). */
  async run(): Promise<DownloadEvent> {
    let result: DownloadEvent;
    try {
      result = await this.runInner();
    } catch (err) {
      this.state = this.stopped && !this.fatal ? 'stopped' : 'failed';
      const e = this.fatal ?? err;
      result = { type: 'failed', md5: this.md5, message: (e as Error).message, code: isBugTorrentError(e) ? e.code : 'BT_INTERNAL' };
      if (this.fatal) this.deps.log.error({ code: result.code }, `download stopped: ${result.message}; its state is kept for a resume`);
    }
    this.clearTimers();
    this.schedule?.cancelAll();
    await Promise.allSettled([...this.pending]);
    await this.partial?.close();
    this.deps.emit(result);
    return result;
  }

  stop(): void {
    this.stopped = true;
    this.finished();
  }

  /** Ends the download with `err` (a disk that refuses writes, ...): the state stays for a resume. */
  private fail(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.stop();
  }

  private async find(): Promise<TrackerFile> {
    const deadline = this.deps.now() + this.deps.tuning.findTimeoutMs;
    for (;;) {
      const found = await this.deps.tracker.findFile(this.md5);
      if (found) return found;
      if (this.deps.now() >= deadline || this.stopped) {
        throw new RemoteError(ErrorCode.UNKNOWN_FILE, `the tracker does not know a file with md5 ${this.md5}`);
      }
      await sleep(Math.min(1000, this.deps.tuning.findTimeoutMs / 5));
    }
  }

  private async runInner(): Promise<DownloadEvent> {
    const { dir, log, tuning } = this.deps;
    const info = await this.find();
    if (info.parts > MAX_PART_COUNT || info.fileLength < 0) throw new FileError(ErrorCode.BAD_STATE, `file ${this.md5} has an impossible size`);
    this.info = info;
    const existing = this.deps.store.get(this.md5);
    if (existing?.complete) {
      this.state = 'complete';
      return { type: 'complete', md5: this.md5, path: existing.path, seconds: 0, convention: 'already held' };
    }
    const name = sanitizeFileName(info.fileName, this.md5);
    this.name = name;
    const partial = await PartialFile.open(dir, info, name);
    this.partial = partial;
    this.deps.store.add(partial.file);
    const schedule = new Schedule({ parts: info.parts, maxInFlight: tuning.maxInFlight, randomFirst: tuning.randomFirst, endgameCopies: tuning.endgameCopies, endgameParts: tuning.endgameParts, random: this.deps.random, inOrderAlone: true });
    this.schedule = schedule;
    this.owners = new OwnerSet(
      { now: this.deps.now, random: this.deps.random, maxPerOwner: tuning.maxPerOwner, maxBackoffMs: tuning.maxBackoffMs, isSelf: (a, p) => this.isSelf(a, p) },
      (owner, before, after) => schedule.bitmapChanged(owner, before, after),
    );
    const healer = new Healer({
      partial,
      owners: this.owners,
      random: this.deps.random,
      now: this.deps.now,
      log,
      checkShare: tuning.crossCheckShare,
      stopped: () => this.stopped,
      fetch: (part, owner, check) => this.fetchCopy(part, owner, check),
      banned: (b) => this.banned(b),
      unbanned: (owner, reason) => this.deps.emit({ type: 'unbanned', md5: this.md5, owner, reason }),
      dropped: (part) => {
        this.bytesDone -= partial.partSize(part);
      },
    });
    this.healer = healer;
    healer.restoreBans();
    this.bytesDone = partial.bytesHeld();
    this.state = 'downloading';
    this.deps.emit({ type: 'started', md5: this.md5, fileName: name, parts: info.parts, have: partial.have, fileLength: info.fileLength });
    if (partial.resumed) {
      const { kept, dropped, version } = partial.resumed;
      if (dropped.length > 0) log.warn({ parts: dropped }, 'resumed parts whose bytes no longer match their recorded digest: fetching them again');
      log.info({ have: kept, parts: info.parts, stateVersion: version }, 'resuming download; re-announcing held parts');
      await this.reannounce(partial.heldParts());
    }
    // Bans and cross-checks may drop parts after the last one came in: download until all are held and settled.
    while (!partial.complete || this.pending.size > 0) {
      if (this.stopped) throw this.fatal ?? new FileError(ErrorCode.BAD_STATE, 'download stopped');
      if (!partial.complete) {
        this.state = 'downloading';
        const allIn = new Promise<void>((r) => { this.finished = r; });
        if (!this.pollTimer) await this.pollAndSchedule();
        this.pump();
        await allIn;
        if (this.stopped) throw this.fatal ?? new FileError(ErrorCode.BAD_STATE, 'download stopped');
      }
      // A late cross-check (a slow or choking owner) must not hold up the end.
      for (const h of this.checking) h.cancel();
      await Promise.allSettled([...this.pending]);
      if (this.fatal) throw this.fatal;
    }
    this.clearTimers();
    const result = await this.verify();
    // Every part was reported (or the report failed and was logged) before we say so.
    await this.reports.settled();
    return result;
  }

  private async reannounce(held: number[]): Promise<void> {
    for (const p of held) this.report(p);
    await this.reports.settled();
  }

  private clearTimers(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.pollTimer = null;
    this.wakeTimer = null;
  }

  private isSelf(address: PeerAddress, port: number): boolean {
    const { self, selfPort } = this.deps;
    return port === selfPort && (address.ip4 === self.ip4 || address.ip6 === self.ip6);
  }

  /** The current FCHU period (poll-policy.ts): pollMs while answers bring news or we starve, longer while they do not. */
  private pollInterval = 0;

  /** The poll policy with this download's bounds (--poll-interval .. --poll-max). */
  private get pollPolicy(): PollPolicyOptions {
    const { pollMs, pollMaxMs } = this.deps.tuning;
    return { ...DEFAULT_POLL_POLICY, minMs: pollMs, maxMs: Math.max(pollMs, pollMaxMs) };
  }

  /** One FCHU now, then the next one after the interval the answer earned. */
  private async pollAndSchedule(): Promise<void> {
    if (this.stopped) return;
    await this.poll();
    if (this.stopped || this.partial?.complete) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.pollAndSchedule();
    }, pollDelay(this.pollInterval, this.deps.random, this.pollPolicy));
  }

  private polling = false;
  private async poll(): Promise<void> {
    if (this.polling || this.state !== 'downloading') return;
    this.polling = true;
    const policy = this.pollPolicy;
    try {
      const info = this.info!;
      const holders = await this.deps.tracker.holders(this.md5, info.parts);
      try {
        this.deps.onHolders?.(holders);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'onHolders hook failed');
      }
      const owners = this.owners!;
      const known = new Map<string, Uint8Array>();
      for (const o of owners.values()) if (o.listed && o.banned === null) known.set(o.key, o.bitmap);
      const answer = holders.filter((h) => !this.isSelf(h.address, h.port)).map((h) => ({ key: formatHostPort(h.address.ip4, h.port), bitmap: h.bitmap }));
      const news = pollNews(known, answer, this.partial!.file.bitmap, info.parts);
      owners.update(holders, info.parts);
      this.reportOrphans();
      // Starving: nothing in flight. Only the tracker can tell us of new owners then.
      this.pollInterval = nextPollInterval(this.pollInterval || policy.minMs, news, this.schedule!.count === 0, policy);
    } catch (err) {
      this.pollInterval = policy.minMs;
      this.deps.log.warn({ err: (err as Error).message }, 'FCHU failed; will retry');
    } finally {
      this.polling = false;
    }
    this.pump();
  }

  private orphans = 0;
  /** Warns (once per change) when some missing parts have no owner at all. */
  private reportOrphans(): void {
    const partial = this.partial!;
    const counts = this.schedule!.availability.counts;
    let n = 0;
    for (let p = 0; p < partial.parts; p++) if (!partial.has(p) && counts[p] === 0) n++;
    if (n !== this.orphans) {
      if (n > 0) this.deps.log.warn({ parts: n }, 'no peer holds some missing parts; waiting for one to appear');
      this.orphans = n;
    }
  }

  /** Fills the schedule: as many fetches as the picker finds useful owners for. */
  private pump(): void {
    if (this.state !== 'downloading' || this.stopped || !this.partial) return;
    const schedule = this.schedule!;
    const owners = this.owners!;
    const now = this.deps.now();
    const have = this.pickerHave();
    // Back-pressure: parts taken in (written, hashed) at once are bounded too, so are their buffers.
    const room = (): boolean => this.writing.size < this.deps.tuning.maxInFlight;
    for (let pick = room() ? schedule.next(have, owners, now) : null; pick; pick = room() ? schedule.next(have, owners, now) : null) {
      this.start(pick.part, owners.get(pick.owner)!);
    }
    this.scheduleWake();
  }

  /** What the picker may not ask for: the parts held and those being written (no longer in flight). */
  private pickerHave(): Uint8Array {
    const bitmap = this.partial!.file.bitmap;
    if (this.writing.size === 0) return bitmap;
    const have = Uint8Array.from(bitmap);
    for (const p of this.writing) setPart(have, p);
    return have;
  }

  /** Wake up when the first backed-off owner may be asked again. */
  private scheduleWake(): void {
    if (this.wakeTimer) return;
    const now = this.deps.now();
    const next = this.owners!.nextWake(now);
    if (next === null) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.pump();
    }, next - now + 5);
  }

  private start(part: number, owner: Owner): void {
    const partial = this.partial!;
    const length = partial.partSize(part);
    // Shared memory: the hashing thread reads the part in place (hashing.ts).
    const buffer = this.spare.pop() ?? sharedBuffer(Math.max(length, partial.file.partLength));
    const handle = this.fetchFrom(owner, part, length, buffer);
    const flight: Flight = { part, owner, handle, cancelled: false };
    this.schedule!.add(flight);
    const task = handle.done
      .then((chunks) => {
        // `accept` marks the part as being written before its first await; the slot is
        // free for the next request while the bytes go to disk (holding it through the
        // write, the hashing and the state record stalled every slot: bench:transfer).
        const accepting = this.accept(flight, chunks);
        this.schedule!.remove(flight);
        this.pump();
        return accepting;
      }, (err: unknown) => this.fetchFailed(flight, err))
      .catch((err: unknown) => this.fail(err as Error))
      .finally(() => {
        // The fetch has settled (no socket writes into it any more) and so has `accept`.
        this.spare.push(buffer);
        this.schedule!.remove(flight);
        this.pump();
      });
    this.track(task);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * A whole copy of `flight.part` arrived from `flight.owner`: the one place a
   * received part is taken in. First copy wins (the others are cancelled); the
   * bytes go to disk, then the owner is credited, the user told and the tracker
   * sent an RPAD (in the background). A disk failure ends the download.
   */
  private async accept(flight: Flight, chunks: Buffer[]): Promise<void> {
    const { part, owner } = flight;
    const partial = this.partial!;
    // A copy from an owner banned while it was in flight is not taken.
    if (flight.cancelled || this.stopped || partial.has(part) || this.writing.has(part) || owner.banned !== null) return;
    this.writing.add(part);
    this.schedule!.cancelOthers(part, flight);
    try {
      await partial.write(part, chunks, owner.key);
    } finally {
      this.writing.delete(part);
    }
    this.bytesDone += partial.partSize(part);
    this.owners!.succeeded(owner);
    const have = partial.have;
    this.deps.emit({ type: 'part', md5: this.md5, part, from: owner.key, have, parts: partial.parts });
    this.report(part);
    const check = this.healer!.afterAccept(part, owner);
    if (check) this.track(check.then(() => this.pump()));
    if (partial.complete) {
      this.state = 'verifying';
      this.finished();
    }
  }

  /** RPAD in the background (the report queue): nothing waits for it but the final event. */
  private report(part: number): void {
    this.reports.add(part);
  }

  /** Fetches one copy of `part` from `owner` outside the schedule (cross-checks, healing); it counts in the owner's load. */
  private async fetchCopy(part: number, owner: Owner, check: boolean): Promise<Buffer[]> {
    const length = this.partial!.partSize(part);
    owner.load++;
    const handle = this.fetchFrom(owner, part, length, Buffer.allocUnsafe(length));
    if (check) this.checking.add(handle);
    try {
      return await handle.done;
    } finally {
      owner.load--;
      this.checking.delete(handle);
    }
  }

  /** One RETP of `part` to `owner`, into `buffer`. */
  private fetchFrom(owner: Owner, part: number, length: number, buffer: Buffer): FetchHandle {
    const { tuning } = this.deps;
    return fetchPart({
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
    });
  }

  private banned(b: Ban): void {
    this.deps.log.warn({ owner: b.owner, parts: b.parts, reason: b.reason }, 'owner banned for this file');
    this.deps.emit({ type: 'banned', md5: this.md5, owner: b.owner, reason: b.reason, parts: b.parts });
  }

  /** Times an owner choked us (closed a RETP unanswered): not faults. */
  private chokedCount = 0;

  private fetchFailed(flight: Flight, err: unknown): void {
    if (flight.cancelled) return;
    const { part, owner } = flight;
    const owners = this.owners!;
    if (isChoked(err)) {
      // Choked, not faulty: no failure count, no escalating back-off. Prefer the
      // other owners for a while (slots free up between re-choke rounds), then ask again.
      this.chokedCount++;
      const wait = owners.choked(owner);
      this.deps.log.info({ part, owner: owner.key, retryMs: wait }, 'choked by owner; asking others first');
      return;
    }
    const backoff = owners.faulted(owner);
    this.deps.log.warn({ part, owner: owner.key, backoffMs: backoff, err: (err as Error).message }, 'part fetch failed; retrying elsewhere');
  }

  private async verify(): Promise<DownloadEvent> {
    const partial = this.partial!;
    const healer = this.healer!;
    const { dir, log } = this.deps;
    this.state = 'verifying';
    const check = (keepCorrupt: boolean): Promise<VerifyResult> =>
      verifyDownload(partial, { md5: this.md5, dir, name: this.name!, owners: this.owners!.addresses(), sharerKnown: this.owners!.sharerKnown, keepCorrupt });
    let result = await check(false);
    if (result.ok) {
      await healer.confirm(this.deps.now(), 0, 0);
    } else if (result.corrupt) {
      log.warn({ actual: result.actual }, 'whole-file md5 mismatch: finding the wrong parts and who sent them');
      const first = result;
      const healed = await healer.heal(async () => {
        result = await check(false);
        return result.ok || !result.corrupt;
      });
      if (healed.ok) {
        const r = healed.report;
        log.info({ wrong: r.wrong, liars: r.liars, refetched: r.refetched, rounds: r.rounds, seconds: r.seconds }, 'healed: wrong parts replaced from honest owners');
        this.deps.emit({ type: 'healed', md5: this.md5, ...r });
      } else {
        result = await this.giveUp(healed.plan.parts, healed.plan.liars, first.actual);
      }
    }
    const seconds = (this.deps.now() - this.startedAt) / 1000;
    if (result.ok) {
      this.state = 'complete';
      log.info({ path: result.path, seconds, convention: result.convention }, 'download complete and verified');
      return { type: 'complete', md5: this.md5, path: result.path, seconds, convention: result.convention };
    }
    this.deps.store.delete(this.md5);
    this.state = 'failed';
    log.error({ code: result.code, path: result.path }, result.message);
    return { type: 'failed', md5: this.md5, message: result.message, code: result.code, path: result.path };
  }

  /** No honest copy of `parts` exists among the owners seen: keep the file apart, naming parts and owners. */
  private async giveUp(parts: readonly number[], liars: readonly string[], actual: string): Promise<VerifyResult> {
    const apart = await this.partial!.keepApart(this.deps.dir, 'corrupt');
    const list = (xs: readonly (string | number)[]): string => (xs.length > 12 ? `${xs.slice(0, 12).join(', ')}, …` : xs.join(', '));
    const message =
      `${this.name}: md5 mismatch (got ${actual}, expected ${this.md5}) and no honest copy found of part${parts.length === 1 ? '' : 's'} ${list(parts)}: ` +
      `only ${list(liars)} ${liars.length === 1 ? 'holds' : 'hold'} ${parts.length === 1 ? 'it' : 'them'}, and sent wrong bytes; the file was kept apart as ${apart}`;
    return { ok: false, code: ErrorCode.CORRUPT, message, path: apart, corrupt: true, actual };
  }
}
