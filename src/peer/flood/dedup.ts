/**
 * The duplicate window: which Pktids were seen in the last `windowMs` (300 s, as
 * other implementations use). Pure: the caller passes `now`. Memory is bounded by
 * `maxEntries` whatever the traffic: entries expire from the oldest end, and when
 * the table is full the oldest entry is evicted early (counted in `evicted`, so a
 * flood that pushes ids out before their time is visible in logs and metrics).
 */
import { pktIdKey } from './pktid.js';

export const DEFAULT_DUPLICATE_WINDOW_MS = 300_000;
export const DEFAULT_DUPLICATE_CAP = 65_536;

export interface DuplicateWindowOptions {
  readonly windowMs?: number;
  readonly maxEntries?: number;
}

export class DuplicateWindow {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** Pktid → time first seen. Map order is insertion order, i.e. oldest first while the clock moves forward. */
  private readonly seenAt = new Map<string, number>();
  /** Entries pushed out by the cap before their window ended. */
  evicted = 0;

  constructor(options: DuplicateWindowOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_DUPLICATE_CAP;
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be positive');
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.seenAt.size;
  }

  /** True when `pktId` was recorded less than `windowMs` before `now`. Does not record it. */
  has(pktId: string, now: number): boolean {
    this.expire(now);
    const at = this.seenAt.get(pktIdKey(pktId));
    return at !== undefined && now - at < this.windowMs;
  }

  /** Records `pktId` as seen at `now` (a later sighting of a live id does not extend its window). */
  add(pktId: string, now: number): void {
    this.expire(now);
    const key = pktIdKey(pktId);
    const at = this.seenAt.get(key);
    if (at !== undefined && now - at < this.windowMs) return;
    this.seenAt.delete(key);
    while (this.seenAt.size >= this.maxEntries) {
      const oldest = this.seenAt.keys().next().value as string;
      this.seenAt.delete(oldest);
      this.evicted++;
    }
    this.seenAt.set(key, now);
  }

  /** Records `pktId` and returns whether it was already live (the usual "seen before?" test). */
  check(pktId: string, now: number): boolean {
    if (this.has(pktId, now)) return true;
    this.add(pktId, now);
    return false;
  }

  /** Drops entries whose window has ended, from the oldest end. */
  private expire(now: number): void {
    for (const [key, at] of this.seenAt) {
      if (now - at < this.windowMs) break;
      this.seenAt.delete(key);
    }
  }
}
