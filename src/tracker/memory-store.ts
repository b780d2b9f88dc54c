/**
 * A Store in process memory: for tests, `--db :memory:`, and embedding. State
 * lives in a MemoryData object, so a test can "reopen" a store on the same data.
 */
import type { AdderRecord, FileRecord, OwnershipRecord, SeenRecord, SessionRecord, Store, StoredState } from './store.js';

export class MemoryData {
  readonly sessions = new Map<string, SessionRecord>();
  readonly files = new Map<string, FileRecord>();
  /** Key: sessionId + ' ' + md5. */
  readonly ownership = new Map<string, OwnershipRecord>();
  readonly adders = new Map<string, AdderRecord>();
}

const pair = (sessionId: string, md5: string): string => `${sessionId} ${md5}`;

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly location = ':memory:';
  private closed = false;

  constructor(private readonly data: MemoryData = new MemoryData()) {}

  load(): StoredState {
    this.check();
    return {
      sessions: [...this.data.sessions.values()].map((s) => ({ ...s })),
      files: [...this.data.files.values()].map((f) => ({ ...f })),
      ownership: [...this.data.ownership.values()].map((o) => ({ ...o, bitmap: Buffer.from(o.bitmap) })),
      adders: [...this.data.adders.values()].map((a) => ({ ...a })),
    };
  }

  saveSession(session: SessionRecord): void {
    this.check();
    this.data.sessions.set(session.id, { ...session });
  }

  saveAdd(file: FileRecord, sessionId: string, bitmap: Buffer): void {
    this.check();
    const old = this.data.files.get(file.md5);
    if (old) this.data.files.set(file.md5, { ...old, fileName: file.fileName });
    else this.data.files.set(file.md5, { ...file });
    this.savePart(sessionId, file.md5, bitmap);
    this.data.adders.set(pair(sessionId, file.md5), { sessionId, md5: file.md5 });
  }

  savePart(sessionId: string, md5: string, bitmap: Buffer): void {
    this.check();
    // A copy: the Registry mutates its own bitmaps in place. Map.set keeps the first insertion's order.
    this.data.ownership.set(pair(sessionId, md5), { sessionId, md5, bitmap: Buffer.from(bitmap) });
  }

  saveSeen(updates: readonly SeenRecord[]): void {
    this.check();
    for (const u of updates) {
      const s = this.data.sessions.get(u.sessionId);
      // Map.set on an existing key keeps its insertion order.
      if (s) this.data.sessions.set(u.sessionId, { ...s, lastSeen: u.lastSeen });
    }
  }

  removeSession(sessionId: string): void {
    this.check();
    this.data.sessions.delete(sessionId);
    for (const [key, o] of this.data.ownership) if (o.sessionId === sessionId) this.data.ownership.delete(key);
    for (const [key, a] of this.data.adders) if (a.sessionId === sessionId) this.data.adders.delete(key);
  }

  close(): void {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error('memory store is closed');
  }
}
