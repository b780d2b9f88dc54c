/**
 * The JSON shapes of /api/...: plain objects built from the TrackerView. Session
 * IDs never leave the tracker (they are a peer's credential on the wire): peers
 * are named by `peerId`, a keyed hash of the session that is stable while it lives.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FileView, HolderView, PeerView, TrackerView } from '../tracker/events.js';
import { countParts } from '../protocol/bitfield.js';
import { compactIPv6, type FeedEntry } from './feed.js';

export type BitmapEncoding = 'base64' | 'hex';

export interface AddressJson {
  ip4: string;
  /** Full form, as stored. */
  ip6: string;
  /** RFC 5952 compressed form, for display. */
  ip6Compact: string;
}

export interface FileJson {
  md5: string;
  fileName: string;
  fileLength: number;
  partLength: number;
  parts: number;
  holders: number;
  completeCopies: number;
  /** Holders with every part (from the dashboard's own index; absent for a file it does not track). */
  fullHolders?: number;
}

export interface PeerJson {
  peerId: string;
  address: AddressJson;
  port: number;
  since: number;
  /** Last request, idempotent LOGI or answered liveness probe, ms since the epoch. */
  lastSeen: number;
  partsHeld: number;
}

export interface HolderJson {
  peerId: string;
  address: AddressJson;
  port: number;
  partsHeld: number;
  bitmap: string;
}

export interface TotalsJson {
  peers: number;
  files: number;
  fileParts: number;
  partsRegistered: number;
}

/** Feed entries as served: the session id replaced by the peer id. */
export type EventJson = Omit<FeedEntry, 'sessionId' | 'address'> & { peerId: string; address?: AddressJson };

export class ApiModel {
  private readonly key = randomBytes(16);

  constructor(private readonly view: TrackerView) {}

  peerId(sessionId: string): string {
    return createHmac('sha256', this.key).update(sessionId).digest('hex').slice(0, 12);
  }

  files(): FileJson[] {
    return this.view
      .files()
      .map(fileJson)
      .sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : a.md5 < b.md5 ? -1 : a.md5 > b.md5 ? 1 : 0));
  }

  file(md5: string): FileJson | undefined {
    const f = this.view.files().find((x) => x.md5 === md5);
    return f ? fileJson(f) : undefined;
  }

  peers(): PeerJson[] {
    return this.view
      .peers()
      .map((p) => this.peerJson(p))
      .sort((a, b) => a.since - b.since || (a.peerId < b.peerId ? -1 : 1));
  }

  /** Undefined when the file is unknown. */
  holders(md5: string, encoding: BitmapEncoding): { md5: string; parts: number; encoding: BitmapEncoding; holders: HolderJson[] } | undefined {
    const file = this.view.files().find((f) => f.md5 === md5);
    if (!file) return undefined;
    const holders = this.view
      .holders(md5)
      .map((h) => this.holderJson(h, encoding))
      .sort((a, b) => ip4Order(a.address.ip4) - ip4Order(b.address.ip4) || a.port - b.port);
    return { md5, parts: file.parts, encoding, holders };
  }

  totals(files: FileJson[], peers: PeerJson[]): TotalsJson {
    return {
      peers: peers.length,
      files: files.length,
      fileParts: files.reduce((n, f) => n + f.parts, 0),
      partsRegistered: peers.reduce((n, p) => n + p.partsHeld, 0),
    };
  }

  event(entry: FeedEntry): EventJson {
    const { sessionId, ...rest } = entry;
    const out = { ...rest, peerId: this.peerId(sessionId) } as EventJson & { address?: unknown };
    if (entry.type === 'login') out.address = addressJson(entry.address.ip4, entry.address.ip6);
    return out;
  }

  private peerJson(p: PeerView): PeerJson {
    return { peerId: this.peerId(p.sessionId), address: addressJson(p.address.ip4, p.address.ip6), port: p.port, since: p.since, lastSeen: p.lastSeen, partsHeld: p.partsHeld };
  }

  private holderJson(h: HolderView, encoding: BitmapEncoding): HolderJson {
    return {
      peerId: this.peerId(h.sessionId),
      address: addressJson(h.address.ip4, h.address.ip6),
      port: h.port,
      partsHeld: countParts(h.bitmap),
      bitmap: Buffer.from(h.bitmap.buffer, h.bitmap.byteOffset, h.bitmap.byteLength).toString(encoding),
    };
  }
}

function fileJson(f: FileView): FileJson {
  return {
    md5: f.md5,
    fileName: f.fileName,
    fileLength: f.fileLength,
    partLength: f.partLength,
    parts: f.parts,
    holders: f.holders,
    completeCopies: f.completeCopies,
  };
}

/** 10.0.0.2 before 10.0.0.10. */
function ip4Order(ip4: string): number {
  return ip4.split('.').reduce((n, o) => n * 256 + (Number(o) || 0), 0);
}

function addressJson(ip4: string, ip6: string): AddressJson {
  return { ip4, ip6, ip6Compact: compactIPv6(ip6) };
}
