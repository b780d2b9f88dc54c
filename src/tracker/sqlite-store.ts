/**
 * The tracker's state in SQLite (better-sqlite3). Every Store method is one
 * prepared statement or one transaction of them, committed before it returns;
 * the server writes a reply only after that, so an acknowledged change is on
 * disk (in the WAL) before the peer hears about it.
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. In WAL mode a commit
 * appends to the -wal file with write(2) and does not fsync; the data sits in
 * the OS page cache, which survives the death of this process (kill -9,
 * crash), and the next open replays the WAL. Only an OS crash or power loss can
 * lose the last commits, which is the trade we make for the RPAD/FCHU throughput
 * target (synchronous=FULL fsyncs every commit: ~100x slower on most disks).
 */
import Database from 'better-sqlite3';
import type { AdderRecord, FileRecord, OwnershipRecord, SeenRecord, SessionRecord, Store, StoredState } from './store.js';

/**
 * The schema, as the tables of version 1 and one migration per later version.
 * A database is always brought up the same road (a new one too), so an old
 * file and a new one end up with the same tables.
 */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  ip4 TEXT NOT NULL,
  ip6 TEXT NOT NULL,
  port INTEGER NOT NULL,
  since INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  md5 TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  length INTEGER NOT NULL,
  part_length INTEGER NOT NULL,
  parts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ownership (
  session_id TEXT NOT NULL,
  md5 TEXT NOT NULL,
  bitmap BLOB NOT NULL,
  PRIMARY KEY (session_id, md5)
);
CREATE TABLE IF NOT EXISTS adders (
  session_id TEXT NOT NULL,
  md5 TEXT NOT NULL,
  PRIMARY KEY (session_id, md5)
) WITHOUT ROWID;
`;

/** MIGRATIONS[i] takes a database from version i + 1 to version i + 2. */
const MIGRATIONS: readonly string[] = [
  // 2: when each session was last seen alive (liveness). Sessions stored before
  // this count as last seen at login, so after the upgrade they are probed soon.
  `ALTER TABLE sessions ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
   UPDATE sessions SET last_seen = since;`,
];

export const SCHEMA_VERSION = 1 + MIGRATIONS.length;

/**
 * Creates or upgrades the tables to SCHEMA_VERSION, in one write transaction.
 * It writes user_version even when nothing changes: that first write is what
 * takes the exclusive lock (see the constructor) at open.
 */
function migrate(db: Database.Database, location: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${location}: database schema version ${version} is newer than this tracker's (${SCHEMA_VERSION})`);
    }
    if (version === 0) db.exec(SCHEMA_V1);
    for (let v = Math.max(version, 1); v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v - 1] as string);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

interface FileRow { md5: string; name: string; length: number; part_length: number; parts: number }
interface SessionRow { id: string; ip4: string; ip6: string; port: number; since: number; last_seen: number }
interface OwnershipRow { session_id: string; md5: string; bitmap: Buffer }
interface AdderRow { session_id: string; md5: string }

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly insertSession: Database.Statement;
  private readonly updateSeen: Database.Statement;
  private readonly upsertFile: Database.Statement;
  private readonly upsertOwnership: Database.Statement;
  private readonly insertAdder: Database.Statement;
  private readonly deleteSession: Database.Statement;
  private readonly deleteOwnership: Database.Statement;
  private readonly deleteAdders: Database.Statement;
  private readonly addTx: (file: FileRecord, sessionId: string, bitmap: Buffer) => void;
  private readonly removeTx: (sessionId: string) => void;
  private readonly seenTx: (updates: readonly SeenRecord[]) => void;

  constructor(readonly location: string) {
    this.db = new Database(location);
    try {
      // One tracker per database: its state is loaded once and then only
      // written, so a second writer would silently diverge. The exclusive lock
      // is taken by the first write below and held until close (the OS drops
      // it when the process dies, so a restart after kill -9 gets it back).
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('busy_timeout = 1000');
      this.db.pragma('journal_mode = WAL');
      // See the header comment: durable against process death, not power loss.
      this.db.pragma('synchronous = NORMAL');
      migrate(this.db, location);
    } catch (err) {
      this.db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new Error(`${location} is locked: is another tracker using it?`, { cause: err });
      }
      throw err;
    }

    this.insertSession = this.db.prepare('INSERT OR REPLACE INTO sessions (id, ip4, ip6, port, since, last_seen) VALUES (?, ?, ?, ?, ?, ?)');
    this.updateSeen = this.db.prepare('UPDATE sessions SET last_seen = ? WHERE id = ?');
    this.upsertFile = this.db.prepare(
      'INSERT INTO files (md5, name, length, part_length, parts) VALUES (?, ?, ?, ?, ?) ON CONFLICT (md5) DO UPDATE SET name = excluded.name',
    );
    this.upsertOwnership = this.db.prepare(
      'INSERT INTO ownership (session_id, md5, bitmap) VALUES (?, ?, ?) ON CONFLICT (session_id, md5) DO UPDATE SET bitmap = excluded.bitmap',
    );
    this.insertAdder = this.db.prepare('INSERT OR IGNORE INTO adders (session_id, md5) VALUES (?, ?)');
    this.deleteSession = this.db.prepare('DELETE FROM sessions WHERE id = ?');
    this.deleteOwnership = this.db.prepare('DELETE FROM ownership WHERE session_id = ?');
    this.deleteAdders = this.db.prepare('DELETE FROM adders WHERE session_id = ?');
    this.addTx = this.db.transaction((file: FileRecord, sessionId: string, bitmap: Buffer) => {
      this.upsertFile.run(file.md5, file.fileName, file.fileLength, file.partLength, file.parts);
      this.upsertOwnership.run(sessionId, file.md5, bitmap);
      this.insertAdder.run(sessionId, file.md5);
    });
    this.removeTx = this.db.transaction((sessionId: string) => {
      this.deleteOwnership.run(sessionId);
      this.deleteAdders.run(sessionId);
      this.deleteSession.run(sessionId);
    });
    this.seenTx = this.db.transaction((updates: readonly SeenRecord[]) => {
      for (const u of updates) this.updateSeen.run(u.lastSeen, u.sessionId);
    });
  }

  load(): StoredState {
    const sessions = (this.db.prepare('SELECT id, ip4, ip6, port, since, last_seen FROM sessions ORDER BY rowid').all() as SessionRow[]).map(
      (r): SessionRecord => ({ id: r.id, ip4: r.ip4, ip6: r.ip6, port: r.port, since: r.since, lastSeen: r.last_seen }),
    );
    const files = (this.db.prepare('SELECT md5, name, length, part_length, parts FROM files ORDER BY seq').all() as FileRow[]).map(
      (r): FileRecord => ({ md5: r.md5, fileName: r.name, fileLength: r.length, partLength: r.part_length, parts: r.parts }),
    );
    const ownership = (this.db.prepare('SELECT session_id, md5, bitmap FROM ownership ORDER BY rowid').all() as OwnershipRow[]).map(
      (r): OwnershipRecord => ({ sessionId: r.session_id, md5: r.md5, bitmap: Buffer.from(r.bitmap) }),
    );
    const adders = (this.db.prepare('SELECT session_id, md5 FROM adders').all() as AdderRow[]).map(
      (r): AdderRecord => ({ sessionId: r.session_id, md5: r.md5 }),
    );
    return { sessions, files, ownership, adders };
  }

  saveSession(s: SessionRecord): void {
    this.insertSession.run(s.id, s.ip4, s.ip6, s.port, s.since, s.lastSeen);
  }

  saveSeen(updates: readonly SeenRecord[]): void {
    if (updates.length > 0) this.seenTx(updates);
  }

  saveAdd(file: FileRecord, sessionId: string, bitmap: Buffer): void {
    this.addTx(file, sessionId, bitmap);
  }

  savePart(sessionId: string, md5: string, bitmap: Buffer): void {
    this.upsertOwnership.run(sessionId, md5, bitmap);
  }

  removeSession(sessionId: string): void {
    this.removeTx(sessionId);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
