/**
 * What the tracker tells the world about itself, without anyone reaching into
 * its store: events as they happen (the dashboard's feed, metrics) and a
 * read-only view of the current state (the dashboard's tables and heat maps).
 */
import type { PeerAddress } from '../protocol/address.js';

export type TrackerEvent =
  | { type: 'login'; at: number; sessionId: string; address: PeerAddress; port: number }
  | { type: 'add'; at: number; sessionId: string; md5: string; fileName: string; fileLength: number; partLength: number; parts: number }
  | { type: 'part'; at: number; sessionId: string; md5: string; part: number; partsHeld: number }
  | { type: 'logout'; at: number; sessionId: string; partsOwned: number }
  | { type: 'logout-refused'; at: number; sessionId: string; partsDown: number }
  /** The liveness check found the peer dead: its session and ownership were removed. `lastSeen`: when it was last heard from. */
  | { type: 'drop'; at: number; sessionId: string; partsOwned: number; lastSeen: number; reason: string };

export type RequestOutcome = 'ok' | 'refused' | 'malformed';

/** One request served (or refused): for metrics. */
export interface RequestRecord {
  readonly command: string;
  readonly outcome: RequestOutcome;
  readonly seconds: number;
}

/** Hooks the tracker calls; each is optional and must not throw. */
export interface TrackerObserver {
  event?(event: TrackerEvent): void;
  request?(record: RequestRecord): void;
  connections?(open: number): void;
}

export interface FileView {
  readonly md5: string;
  readonly fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
  readonly parts: number;
  /** Logged-in peers holding at least one part. */
  readonly holders: number;
  /** How many full copies exist: the minimum, over parts, of the number of holders of that part. */
  readonly completeCopies: number;
}

export interface HolderView {
  readonly sessionId: string;
  readonly address: PeerAddress;
  readonly port: number;
  /** Raw bitmap, ceil(parts/8) bytes. */
  readonly bitmap: Buffer;
}

export interface PeerView {
  readonly sessionId: string;
  readonly address: PeerAddress;
  readonly port: number;
  /** Login time, ms since the epoch. */
  readonly since: number;
  /** Last request, idempotent LOGI or answered liveness probe, ms since the epoch. */
  readonly lastSeen: number;
  /** Parts held, over all files. */
  readonly partsHeld: number;
}

/** Read-only view of the tracker's state, served from memory. */
export interface TrackerView {
  files(): FileView[];
  peers(): PeerView[];
  holders(md5: string): HolderView[];
}
