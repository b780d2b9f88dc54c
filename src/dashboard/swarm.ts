/**
 * The dashboard's own index of the swarm, kept up to date from tracker events
 * in O(holders of one file) per event, so that pushes, charts and holder
 * summaries never walk the tracker's registry under load (registry.files()
 * recounts complete copies over every bitmap; holders() copies every bitmap).
 *
 * It holds, per file, each holder's bitmap and a holder count per part; per
 * session, an estimate of what it served; and one-second bins of parts reported
 * and of full holders, for the throughput and completion charts.
 *
 * "Served" is what the tracker can tell, no more: it never sees a transfer.
 * When a peer reports part p, the peers that held p just before (by the
 * tracker's bitmaps) are the ones it could have got it from; each is credited
 * 1/k of the part (k of them). A part obtained from outside this tracker's
 * swarm, or from a peer that never reported p, credits nobody.
 *
 * The credit is kept lazily, so that an RPAD costs O(1) here and not a walk over
 * every owner of the file (that walk was a quarter of the tracker's CPU per RPAD
 * with 256 owners): `credit[p]` is the credit every holder of p has received for
 * p so far, and an owner's `snap` is the sum of `credit[p]` at the moments it
 * gained each of its parts. What it served of the file is then
 * Σ credit[p] over its parts − snap, summed only when someone asks (`served`).
 */
import { countParts, fullBitmap, hasPart, setPart } from '../protocol/bitfield.js';
import type { TrackerEvent, TrackerView } from '../tracker/events.js';

export interface SwarmOptions {
  now?: () => number;
  /** Width of one chart bin (ms); default 1000. */
  binMs?: number;
  /** Closed bins kept for new pages; default 600 (ten minutes). */
  historyBins?: number;
  /** Files with a series of their own in each bin (the busiest); the rest are summed into the total. Default 8. */
  seriesPerBin?: number;
  /** Bitmap bytes mirrored at most (memory bound); beyond it new files are listed without holders. Default 64 MiB. */
  maxBitmapBytes?: number;
}

export interface SwarmFile {
  readonly md5: string;
  fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
  readonly parts: number;
  /** Holders per part. */
  readonly counts: Uint32Array;
  /** sessionId -> bitmap and parts set in it. */
  readonly owners: Map<string, Owner>;
  /** Credit received so far by every holder of each part (see the module comment). */
  readonly credit: Float64Array;
  /** Owners holding every part. */
  fullHolders: number;
  /** Bumped at every change (cache key for summaries). */
  version: number;
  /** False when the memory bound kept its bitmaps out: counts and owners are empty. */
  readonly tracked: boolean;
}

export interface Owner {
  readonly bm: Uint8Array;
  held: number;
  /** Σ credit[p] at the moments each held part was gained. */
  snap: number;
}

export interface ServedEstimate {
  /** Parts, fractional (see the module comment). */
  parts: number;
  bytes: number;
}

/** One closed bin: parts reported in [t, t + binMs) and full holders at its end. */
export interface Bin {
  readonly t: number;
  /** All parts reported, and their bytes (parts × part length). */
  readonly parts: number;
  readonly bytes: number;
  /** md5 -> bytes reported, for the busiest files. */
  readonly files: Record<string, number>;
  /** md5 -> full holders at the end of the bin, for files whose count changed in it. */
  readonly full: Record<string, number>;
}

export class Swarm {
  readonly files = new Map<string, SwarmFile>();
  /** sessionId -> parts served of bitmaps since replaced (an owner announced again). */
  private readonly banked = new Map<string, ServedEstimate>();
  /** Files changed since the last takeDirtyFiles(), in order of first change. */
  private readonly dirtyFiles = new Set<string>();
  private readonly now: () => number;
  private readonly binMs: number;
  private readonly historyBins: number;
  private readonly seriesPerBin: number;
  private readonly maxBitmapBytes: number;
  private bitmapBytes = 0;
  private readonly history: Bin[] = [];
  private binStart: number;
  private binParts = 0;
  private binBytes = 0;
  private readonly binFiles = new Map<string, number>();
  private readonly binFull = new Map<string, number>();
  /** Time of the oldest change not yet taken by a push (null: none). */
  private oldestChange: number | null = null;

  constructor(view: TrackerView, options: SwarmOptions = {}) {
    this.now = options.now ?? Date.now;
    this.binMs = options.binMs ?? 1000;
    this.historyBins = options.historyBins ?? 600;
    this.seriesPerBin = options.seriesPerBin ?? 8;
    this.maxBitmapBytes = options.maxBitmapBytes ?? 64 << 20;
    this.binStart = Math.floor(this.now() / this.binMs) * this.binMs;
    this.seed(view);
  }

  /** What the tracker holds already (a dashboard started over a restored store). */
  private seed(view: TrackerView): void {
    for (const f of view.files()) {
      const file = this.fileOf(f.md5, f.fileName, f.fileLength, f.partLength, f.parts);
      if (!file.tracked) continue;
      for (const h of view.holders(f.md5)) this.own(file, h.sessionId, Uint8Array.from(h.bitmap));
    }
  }

  get binWidth(): number {
    return this.binMs;
  }

  event(e: TrackerEvent): void {
    this.closeBins();
    this.oldestChange ??= this.now();
    if (e.type === 'add') {
      const file = this.fileOf(e.md5, e.fileName, e.fileLength, e.partLength, e.parts);
      file.fileName = e.fileName;
      if (file.tracked) this.own(file, e.sessionId, fullBitmap(file.parts));
      this.changed(file);
    } else if (e.type === 'part') {
      const file = this.files.get(e.md5);
      if (file) this.part(file, e.sessionId, e.part);
    } else if (e.type === 'logout') {
      for (const file of this.files.values()) {
        const mine = file.owners.get(e.sessionId);
        if (!mine) continue;
        for (let p = 0; p < file.parts; p++) if (hasPart(mine.bm, p)) file.counts[p]!--;
        if (mine.held === file.parts) file.fullHolders--;
        file.owners.delete(e.sessionId);
        this.bitmapBytes -= mine.bm.length;
        this.changed(file);
      }
      this.banked.delete(e.sessionId);
    }
  }

  private part(file: SwarmFile, sessionId: string, part: number): void {
    if (!file.tracked || part < 0 || part >= file.parts) return;
    let mine = file.owners.get(sessionId);
    if (mine && hasPart(mine.bm, part)) return;
    const k = file.counts[part] as number;
    // Credit the peers that held this part before the report, 1/k each.
    if (k > 0) file.credit[part]! += 1 / k;
    if (!mine) {
      const bm = new Uint8Array(Math.ceil(file.parts / 8));
      if (this.bitmapBytes + bm.length > this.maxBitmapBytes) return;
      mine = { bm, held: 0, snap: 0 };
      file.owners.set(sessionId, mine);
      this.bitmapBytes += bm.length;
    }
    setPart(mine.bm, part);
    mine.held++;
    // The reporter earns nothing from its own report, nor from earlier ones.
    mine.snap += file.credit[part]!;
    file.counts[part]!++;
    if (mine.held === file.parts) {
      file.fullHolders++;
      this.binFull.set(file.md5, file.fullHolders);
    }
    this.binParts++;
    this.binBytes += file.partLength;
    this.binFiles.set(file.md5, (this.binFiles.get(file.md5) ?? 0) + file.partLength);
    this.changed(file);
  }

  private fileOf(md5: string, fileName: string, fileLength: number, partLength: number, parts: number): SwarmFile {
    const known = this.files.get(md5);
    if (known) return known;
    const tracked = this.bitmapBytes + Math.ceil(parts / 8) <= this.maxBitmapBytes;
    const file: SwarmFile = { md5, fileName, fileLength, partLength, parts, counts: new Uint32Array(tracked ? parts : 0), credit: new Float64Array(tracked ? parts : 0), owners: new Map(), fullHolders: 0, version: 0, tracked };
    this.files.set(md5, file);
    return file;
  }

  /** `sessionId` holds exactly `bm` (ADDR: every part; seeding: what the tracker had). */
  private own(file: SwarmFile, sessionId: string, bm: Uint8Array): void {
    const before = file.owners.get(sessionId);
    if (before) {
      // What it served with the old bitmap stays earned.
      const earned = creditOf(file, before);
      if (earned > 0) {
        const b = this.banked.get(sessionId) ?? { parts: 0, bytes: 0 };
        b.parts += earned;
        b.bytes += earned * file.partLength;
        this.banked.set(sessionId, b);
      }
      for (let p = 0; p < file.parts; p++) if (hasPart(before.bm, p)) file.counts[p]!--;
      if (before.held === file.parts) file.fullHolders--;
      this.bitmapBytes -= before.bm.length;
    }
    const held = countParts(bm);
    if (file.parts > 0 && held === 0) {
      file.owners.delete(sessionId);
      return;
    }
    let snap = 0;
    for (let p = 0; p < file.parts; p++) {
      if (!hasPart(bm, p)) continue;
      file.counts[p]!++;
      snap += file.credit[p]!;
    }
    file.owners.set(sessionId, { bm, held, snap });
    this.bitmapBytes += bm.length;
    if (held === file.parts) file.fullHolders++;
    this.binFull.set(file.md5, file.fullHolders);
  }

  private changed(file: SwarmFile): void {
    file.version++;
    this.dirtyFiles.add(file.md5);
  }

  /** Up to `max` files changed since the last call, oldest change first; the rest stay for the next call. */
  takeDirtyFiles(max: number): SwarmFile[] {
    const out: SwarmFile[] = [];
    for (const md5 of this.dirtyFiles) {
      if (out.length >= max) break;
      this.dirtyFiles.delete(md5);
      const f = this.files.get(md5);
      if (f) out.push(f);
    }
    return out;
  }

  /** When the oldest change not yet pushed happened (and forget it: a push takes it). */
  takeOldestChange(): number | null {
    const t = this.oldestChange;
    this.oldestChange = this.dirtyFiles.size > 0 ? this.now() : null;
    return t;
  }

  /** Closes every bin that has ended by now; returns how many closed. */
  closeBins(): number {
    const now = this.now();
    let closed = 0;
    while (now >= this.binStart + this.binMs) {
      const busiest = [...this.binFiles].sort((a, b) => b[1] - a[1]).slice(0, this.seriesPerBin);
      this.history.push({ t: this.binStart, parts: this.binParts, bytes: this.binBytes, files: Object.fromEntries(busiest), full: Object.fromEntries(this.binFull) });
      if (this.history.length > this.historyBins) this.history.shift();
      this.binParts = 0;
      this.binBytes = 0;
      this.binFiles.clear();
      this.binFull.clear();
      // A long idle gap closes one empty bin per width, but never more than the history holds.
      this.binStart = now - this.binStart > this.binMs * this.historyBins ? Math.floor(now / this.binMs) * this.binMs : this.binStart + this.binMs;
      closed++;
    }
    return closed;
  }

  /** Closed bins starting at or after `t` (all of them by default), oldest first. */
  bins(t = -Infinity): Bin[] {
    let i = this.history.length;
    while (i > 0 && (this.history[i - 1] as Bin).t >= t) i--;
    return this.history.slice(i);
  }

  /**
   * What `sessionId` served, as estimated (undefined: nothing). O(parts of the
   * files it holds): callers ask once per row they send, not per event.
   */
  served(sessionId: string): ServedEstimate | undefined {
    const banked = this.banked.get(sessionId);
    let parts = banked?.parts ?? 0;
    let bytes = banked?.bytes ?? 0;
    for (const file of this.files.values()) {
      const mine = file.owners.get(sessionId);
      if (!mine) continue;
      const earned = creditOf(file, mine);
      parts += earned;
      bytes += earned * file.partLength;
    }
    return parts > 0 ? { parts, bytes } : undefined;
  }

  /** Parts held by all owners together. */
  partsRegistered(): number {
    let n = 0;
    for (const f of this.files.values()) for (const o of f.owners.values()) n += o.held;
    return n;
  }

  /** Holders with at least one part; complete copies (the fewest holders of any part). */
  holdersOf(file: SwarmFile): { holders: number; completeCopies: number } {
    if (file.parts === 0) return { holders: 0, completeCopies: 0 };
    let min = Infinity;
    for (const c of file.counts) if (c < min) min = c;
    return { holders: file.owners.size, completeCopies: file.owners.size === 0 ? 0 : min };
  }
}

/** Credit an owner has received for its parts of `file` (clamped: float sums can differ by a rounding). */
function creditOf(file: SwarmFile, owner: Owner): number {
  const { credit, parts } = file;
  const { bm } = owner;
  let sum = 0;
  for (let i = 0; i < bm.length; i++) {
    // A byte at a time, skipping empty ones: bit 0x80 is the byte's first part (bitfield.ts).
    let byte = bm[i]!;
    for (let part = i * 8; byte !== 0 && part < parts; part++, byte = (byte << 1) & 0xff) if (byte & 0x80) sum += credit[part]!;
  }
  const earned = sum - owner.snap;
  return earned > 1e-9 ? earned : 0;
}
