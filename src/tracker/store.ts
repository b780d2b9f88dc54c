/**
 * Where the tracker's state survives a restart. The Registry keeps everything in
 * memory and writes every change through a Store before it answers; at startup
 * it loads the whole state once (no per-request reads). Each method is one
 * atomic change: when it returns, the change is committed.
 */

export interface SessionRecord {
  readonly id: string;
  /** Canonical forms (plain dotted IPv4, full lowercase IPv6). */
  readonly ip4: string;
  readonly ip6: string;
  readonly port: number;
  /** Login time, ms since the epoch. */
  readonly since: number;
  /** When the session last showed it is alive (a request, or an answered probe), ms since the epoch. */
  readonly lastSeen: number;
}

/** A session's newer last-seen time (saveSeen). */
export interface SeenRecord {
  readonly sessionId: string;
  readonly lastSeen: number;
}

export interface FileRecord {
  readonly md5: string;
  readonly fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
  readonly parts: number;
}

/** The parts of one file one session holds, as a wire bitmap (ceil(parts/8) bytes). */
export interface OwnershipRecord {
  readonly sessionId: string;
  readonly md5: string;
  readonly bitmap: Buffer;
}

/** A session that ADDed a file (LOGO's rule looks at these). */
export interface AdderRecord {
  readonly sessionId: string;
  readonly md5: string;
}

/** Everything a Store holds, in insertion order. */
export interface StoredState {
  readonly sessions: SessionRecord[];
  readonly files: FileRecord[];
  readonly ownership: OwnershipRecord[];
  readonly adders: AdderRecord[];
}

export interface Store {
  /** 'memory' or 'sqlite'. */
  readonly kind: string;
  /** For logs: the database file, or ':memory:'. */
  readonly location: string;
  /** The whole state; called once at startup. */
  load(): StoredState;
  /** A new session (LOGI). */
  saveSession(session: SessionRecord): void;
  /** ADDR: insert or update the file, set the session's bitmap for it, record the session as an adder. One transaction. */
  saveAdd(file: FileRecord, sessionId: string, bitmap: Buffer): void;
  /** RPAD: insert or replace one session's bitmap for one file. */
  savePart(sessionId: string, md5: string, bitmap: Buffer): void;
  /**
   * Newer last-seen times of existing sessions, in one transaction; ids no
   * longer stored are ignored. The Registry writes these lazily (see
   * RegistryOptions.seenWriteMs): a stored lastSeen may lag the live one.
   */
  saveSeen(updates: readonly SeenRecord[]): void;
  /** LOGO accepted, or a dead session dropped: the session, its ownership and its adder records go. One transaction. */
  removeSession(sessionId: string): void;
  close(): void;
}
