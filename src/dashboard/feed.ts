/**
 * The dashboard's memory of recent tracker events: bounded ring buffers of
 * sequence-numbered entries, each labelled for humans (peer address, file
 * name) at the moment it happened, since a logged-out peer is gone from the view.
 * Part reports have a ring of their own: thousands a second would otherwise
 * push every login, file and logout out of memory within a second.
 */
import { compressIPv6, formatHostPort, type PeerAddress } from '../protocol/address.js';
import type { TrackerEvent, TrackerView } from '../tracker/events.js';

export type FeedEntry = TrackerEvent & {
  /** Position in the feed, 1, 2, 3…; the SSE `id` and the `since` of /api/events. */
  readonly seq: number;
  /** `ip4:port` of the session, when known. */
  readonly peer?: string;
  /** The file's name, for add and part events, when known. */
  readonly fileName?: string;
};

/** A fixed-capacity ring: pushing past capacity drops the oldest entry. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be a positive integer');
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count < this.capacity) {
      this.items[(this.start + this.count) % this.capacity] = item;
      this.count++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }

  /** The i-th oldest item (0 ≤ i < size). */
  at(i: number): T {
    return this.items[(this.start + i) % this.capacity] as T;
  }

  /** The newest `n` items, oldest first. */
  last(n: number): T[] {
    const k = Math.max(0, Math.min(n, this.count));
    const out: T[] = [];
    for (let i = this.count - k; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }
}

/** Index of the first entry with seq > since (entries are in seq order). */
function firstAfter(ring: Ring<FeedEntry>, since: number): number {
  let lo = 0;
  let hi = ring.size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ring.at(mid).seq > since) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function peerLabel(address: PeerAddress, port: number): string {
  return formatHostPort(address.ip4, port);
}

export function compactIPv6(ip6: string): string {
  try {
    return compressIPv6(ip6);
  } catch {
    return ip6;
  }
}

const MAX_FILE_NAMES = 10_000;
/** How often a miss may trigger a scan of the view (the view can be large). */
const REFRESH_EVERY_MS = 1000;

export type EventType = TrackerEvent['type'];
export const EVENT_TYPES: readonly EventType[] = ['login', 'add', 'part', 'logout', 'logout-refused'];

/** A page of the feed: events in seq order and whether more follow in that direction. */
export interface FeedPage {
  events: FeedEntry[];
  /** More matching events kept beyond this page (after it for `since`, before it for `latest`). */
  more: boolean;
}

export class Feed {
  private readonly parts: Ring<FeedEntry>;
  private readonly others: Ring<FeedEntry>;
  private seq = 0;
  private readonly sessions = new Map<string, string>();
  private readonly fileNames = new Map<string, string>();
  private lastPeerScan = -Infinity;
  private lastFileScan = -Infinity;

  constructor(
    private readonly view: TrackerView,
    capacity = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.parts = new Ring(capacity);
    this.others = new Ring(capacity);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Entries kept of each ring (part reports; everything else). */
  get capacity(): number {
    return this.parts.capacity;
  }

  record(event: TrackerEvent): FeedEntry {
    let fileName: string | undefined;
    if (event.type === 'login') this.sessions.set(event.sessionId, peerLabel(event.address, event.port));
    if (event.type === 'add') {
      if (this.fileNames.size >= MAX_FILE_NAMES && !this.fileNames.has(event.md5)) this.fileNames.clear();
      this.fileNames.set(event.md5, event.fileName);
      fileName = event.fileName;
    } else if (event.type === 'part') {
      fileName = this.fileName(event.md5);
    }
    const peer = this.peer(event.sessionId);
    if (event.type === 'logout' || event.type === 'drop') this.sessions.delete(event.sessionId);
    const entry: FeedEntry = { ...event, seq: ++this.seq, ...(peer !== undefined ? { peer } : {}), ...(fileName !== undefined ? { fileName } : {}) };
    (event.type === 'part' ? this.parts : this.others).push(entry);
    return entry;
  }

  /** The first `limit` kept entries with seq > since (of `types`, default all), oldest first. */
  since(since: number, limit: number, types: ReadonlySet<EventType> | null = null): FeedPage {
    const out: FeedEntry[] = [];
    const rings = this.rings(types);
    const pos = rings.map((r) => firstAfter(r, since));
    while (out.length <= limit) {
      let best = -1;
      for (let k = 0; k < rings.length; k++) {
        const r = rings[k]!;
        while (pos[k]! < r.size && types && !types.has(r.at(pos[k]!).type)) pos[k]!++;
        if (pos[k]! < r.size && (best < 0 || r.at(pos[k]!).seq < rings[best]!.at(pos[best]!).seq)) best = k;
      }
      if (best < 0) break;
      out.push(rings[best]!.at(pos[best]!++));
    }
    const more = out.length > limit;
    if (more) out.pop();
    return { events: out, more };
  }

  /** The newest `limit` kept entries (of `types`, default all), oldest first. */
  latest(limit: number, types: ReadonlySet<EventType> | null = null): FeedPage {
    const out: FeedEntry[] = [];
    const rings = this.rings(types);
    const pos = rings.map((r) => r.size - 1);
    while (out.length <= limit) {
      let best = -1;
      for (let k = 0; k < rings.length; k++) {
        const r = rings[k]!;
        while (pos[k]! >= 0 && types && !types.has(r.at(pos[k]!).type)) pos[k]!--;
        if (pos[k]! >= 0 && (best < 0 || r.at(pos[k]!).seq > rings[best]!.at(pos[best]!).seq)) best = k;
      }
      if (best < 0) break;
      out.push(rings[best]!.at(pos[best]!--));
    }
    const more = out.length > limit;
    if (more) out.pop();
    return { events: out.reverse(), more };
  }

  private rings(types: ReadonlySet<EventType> | null): Ring<FeedEntry>[] {
    if (!types) return [this.parts, this.others];
    const out: Ring<FeedEntry>[] = [];
    if (types.has('part')) out.push(this.parts);
    if ([...types].some((t) => t !== 'part')) out.push(this.others);
    return out;
  }

  private peer(sessionId: string): string | undefined {
    const known = this.sessions.get(sessionId);
    if (known !== undefined) return known;
    const t = this.now();
    if (t - this.lastPeerScan < REFRESH_EVERY_MS) return undefined;
    this.lastPeerScan = t;
    try {
      for (const p of this.view.peers()) this.sessions.set(p.sessionId, peerLabel(p.address, p.port));
    } catch {
      return undefined;
    }
    return this.sessions.get(sessionId);
  }

  private fileName(md5: string): string | undefined {
    const known = this.fileNames.get(md5);
    if (known !== undefined) return known;
    const t = this.now();
    if (t - this.lastFileScan < REFRESH_EVERY_MS) return undefined;
    this.lastFileScan = t;
    try {
      const files = this.view.files();
      if (files.length + this.fileNames.size > MAX_FILE_NAMES) this.fileNames.clear();
      for (const f of files.slice(0, MAX_FILE_NAMES)) this.fileNames.set(f.md5, f.fileName);
    } catch {
      return undefined;
    }
    return this.fileNames.get(md5);
  }
}
