/**
 * What /api/stream sends: one full `state` when a page connects, then `delta`
 * pushes carrying only what changed since the previous push, each bounded in
 * size (files, peer rows, events), so a page's traffic depends on how fast
 * the swarm changes, not on how big it is. Built once per push for all pages.
 */
import type { PeerView, TrackerView } from '../tracker/events.js';
import type { EventJson, FileJson, TotalsJson } from './api.js';
import { compactIPv6, type EventType, type Feed } from './feed.js';
import type { Bin, Swarm, SwarmFile } from './swarm.js';

/** A peer as the page's table and chart show it; `n` is its short name in deltas. */
export interface PeerRow {
  n: number;
  peerId: string;
  ip4: string;
  ip6: string;
  ip6Compact: string;
  port: number;
  since: number;
  /** Parts held, over all files. */
  held: number;
  /** Parts of every file the peer holds a part of (the denominator of its progress). */
  of: number;
  /** Estimated parts and bytes served (see swarm.ts). */
  served: number;
  servedBytes: number;
  /** ms since the epoch, when the tracker's view says (rendered only if present). */
  lastSeen?: number;
}

/** [n, held, of, served, servedBytes, lastSeen?]: a changed row, positionally. */
export type PeerUpdate = number[];

export interface StatePush {
  seq: number;
  at: number;
  binMs: number;
  totals: TotalsJson;
  files: FileJson[];
  peers: PeerRow[];
  events: EventJson[];
  bins: Bin[];
}

export interface DeltaPush {
  seq: number;
  at: number;
  /** When the oldest change in this push happened (ms): lag = time shown − oldest. */
  oldest: number | null;
  totals: TotalsJson;
  /** Files whose row changed. */
  files: FileJson[];
  /** Files whose holders' bitmaps changed (a page refreshes their summary), row changed or not. */
  touched: string[];
  peers: { set: PeerRow[]; upd: PeerUpdate[]; gone: number[] };
  events: EventJson[];
  /** Events since the previous push that are not in `events` (part reports beyond the sample). */
  skipped: number;
  bins: Bin[];
}

export interface PushLimits {
  files: number;
  peerRows: number;
  events: number;
  /** Part reports sampled per push. */
  partEvents: number;
  /** A peer's row is resent at most this often (ms). */
  peerEveryMs: number;
}

export const DEFAULT_PUSH_LIMITS: PushLimits = { files: 64, peerRows: 400, events: 50, partEvents: 4, peerEveryMs: 1000 };

const NOT_PARTS: ReadonlySet<EventType> = new Set(['login', 'add', 'logout', 'logout-refused']);
const PARTS: ReadonlySet<EventType> = new Set(['part']);

interface Sent {
  row: PeerRow;
  at: number;
  /** The row changed after it was last sent. */
  stale: boolean;
}

export class PushBuilder {
  private readonly sent = new Map<string, Sent>();
  /** md5 -> the file row last pushed, as JSON (unchanged rows are not pushed again). */
  private readonly sentFiles = new Map<string, string>();
  private nextN = 1;
  private lastSeq: number;
  private lastBin = -Infinity;

  constructor(
    private readonly view: TrackerView,
    private readonly swarm: Swarm,
    private readonly feed: Feed,
    private readonly describe: { peerId(sessionId: string): string; event(e: import('./feed.js').FeedEntry): EventJson },
    private readonly limits: PushLimits = DEFAULT_PUSH_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.lastSeq = feed.lastSeq;
  }

  /** Everything, for a page that connects (with the events after `lastEventId` if it resumes). */
  state(lastEventId: number | null): StatePush {
    const views = this.view.peers();
    const peers = views.map((p) => this.row(p));
    const events = lastEventId !== null
      ? this.feed.since(lastEventId, 200).events
      : mergeBySeq(this.feed.latest(100, NOT_PARTS).events, this.feed.latest(20, PARTS).events);
    const files = [...this.swarm.files.values()].map((f) => this.fileJson(f)).sort(byName);
    return {
      seq: this.feed.lastSeq,
      at: this.now(),
      binMs: this.swarm.binWidth,
      totals: this.totals(views.length),
      files,
      peers,
      events: events.map((e) => this.describe.event(e)),
      bins: this.swarm.bins(),
    };
  }

  /** What changed since the previous delta; null when nothing did. */
  delta(): DeltaPush | null {
    this.swarm.closeBins();
    const seq = this.feed.lastSeq;
    const bins = this.swarm.bins(this.lastBin + 1);
    const touchedFiles = this.swarm.takeDirtyFiles(this.limits.files);
    const touched = touchedFiles.map((f) => f.md5);
    const files: FileJson[] = [];
    for (const f of touchedFiles) {
      const json = this.fileJson(f);
      const text = JSON.stringify(json);
      if (this.sentFiles.get(f.md5) === text) continue;
      if (this.sentFiles.size > 100_000) this.sentFiles.clear();
      this.sentFiles.set(f.md5, text);
      files.push(json);
    }
    const views = this.view.peers();
    const peers = this.peerChanges(views);
    if (seq === this.lastSeq && bins.length === 0 && touched.length === 0 && peers.set.length + peers.upd.length + peers.gone.length === 0) return null;
    const others = this.feed.since(this.lastSeq, this.limits.events, NOT_PARTS).events;
    const parts = this.feed.latest(this.limits.partEvents, PARTS).events.filter((e) => e.seq > this.lastSeq);
    const events = mergeBySeq(others, parts);
    const skipped = seq - this.lastSeq - events.length;
    this.lastSeq = seq;
    if (bins.length) this.lastBin = bins[bins.length - 1]!.t;
    return {
      seq,
      at: this.now(),
      oldest: this.swarm.takeOldestChange(),
      totals: this.totals(views.length),
      files,
      touched,
      peers,
      events: events.map((e) => this.describe.event(e)),
      skipped,
      bins,
    };
  }

  private peerChanges(views: PeerView[]): DeltaPush['peers'] {
    const now = this.now();
    const set: PeerRow[] = [];
    const upd: PeerUpdate[] = [];
    const gone: number[] = [];
    const alive = new Set<string>();
    for (const p of views) {
      alive.add(p.sessionId);
      const before = this.sent.get(p.sessionId);
      const row = this.row(p);
      if (!before) {
        set.push(row);
        continue;
      }
      const b = before.row;
      if (b.held !== row.held || b.of !== row.of || b.served !== row.served || b.lastSeen !== row.lastSeen) before.stale = true;
      if (!before.stale || now - before.at < this.limits.peerEveryMs || upd.length >= this.limits.peerRows) continue;
      upd.push(row.lastSeen === undefined ? [row.n, row.held, row.of, row.served, row.servedBytes] : [row.n, row.held, row.of, row.served, row.servedBytes, row.lastSeen]);
      this.sent.set(p.sessionId, { row, at: now, stale: false });
    }
    for (const [sid, s] of this.sent) {
      if (alive.has(sid)) continue;
      gone.push(s.row.n);
      this.sent.delete(sid);
    }
    return { set, upd, gone };
  }

  /** The peer's row now; a peer seen for the first time gets its `n` and is remembered as sent. */
  private row(p: PeerView): PeerRow {
    const known = this.sent.get(p.sessionId);
    let of = 0;
    for (const f of this.swarm.files.values()) if (f.owners.has(p.sessionId)) of += f.parts;
    const served = this.swarm.served(p.sessionId);
    const lastSeen = (p as { lastSeen?: unknown }).lastSeen;
    const row: PeerRow = {
      n: known?.row.n ?? this.nextN++,
      peerId: known?.row.peerId ?? this.describe.peerId(p.sessionId),
      ip4: p.address.ip4,
      ip6: p.address.ip6,
      ip6Compact: known?.row.ip6Compact ?? compactIPv6(p.address.ip6),
      port: p.port,
      since: p.since,
      held: p.partsHeld,
      of,
      served: Math.round((served?.parts ?? 0) * 10) / 10,
      servedBytes: Math.round(served?.bytes ?? 0),
      ...(typeof lastSeen === 'number' ? { lastSeen } : {}),
    };
    if (!known) this.sent.set(p.sessionId, { row, at: this.now(), stale: false });
    return row;
  }

  fileJson(f: SwarmFile): FileJson {
    const { holders, completeCopies } = this.swarm.holdersOf(f);
    return { md5: f.md5, fileName: f.fileName, fileLength: f.fileLength, partLength: f.partLength, parts: f.parts, holders, completeCopies, fullHolders: f.fullHolders };
  }

  private totals(peers: number): TotalsJson {
    let fileParts = 0;
    for (const f of this.swarm.files.values()) fileParts += f.parts;
    return { peers, files: this.swarm.files.size, fileParts, partsRegistered: this.swarm.partsRegistered() };
  }
}

function byName(a: FileJson, b: FileJson): number {
  return a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : a.md5 < b.md5 ? -1 : a.md5 > b.md5 ? 1 : 0;
}

function mergeBySeq<T extends { seq: number }>(a: T[], b: T[]): T[] {
  return [...a, ...b].sort((x, y) => x.seq - y.seq);
}
