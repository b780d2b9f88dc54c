/**
 * The tracker's rules, as a pure module over in-memory maps: no sockets, no
 * timers, no disk. Time and session ids come from injected functions; every
 * change is written through the injected Store before a method returns, so a
 * caller that replies after the call never acknowledges anything not committed.
 *
 * The one exception is last-seen times: every request refreshes its session's
 * `lastSeen` in memory (nothing is acknowledged on it), and `flushSeen()`, called
 * by the tracker's timer, writes the changed ones in one batch, so a read-only
 * FCHU or LOOK never waits for a disk write.
 *
 * A request the tracker cannot serve (unknown session, unknown file, part out
 * of range, contradicting ADDR, limits) throws a RequestRefusedError; the server
 * turns that into a closed connection and a log line.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, RequestRefusedError } from '../errors.js';
import { type PeerAddress, clearPart, countParts, fullBitmap, emptyBitmap, hasPart, setPart, partCountOf } from '../protocol/index.js';
import { compileQuery, matchesCompiled } from '../protocol/query.js';
import { MAX_LIST_ENTRIES, MAX_PARTS_HELD, MAX_PART_COUNT, NULL_SESSION } from '../protocol/messages.js';
import type { FileView, HolderView, PeerView, TrackerEvent, TrackerView } from './events.js';
import { HolderSampler } from './holders-sample.js';
import type { FileRecord, Store } from './store.js';

export interface RegistryOptions {
  readonly store: Store;
  /** ms since the epoch. */
  readonly now?: () => number;
  /** 16 characters 0-9A-F. */
  readonly newId?: () => string;
  /** Called after each committed change. */
  readonly emit?: (event: TrackerEvent) => void;
  /** Most parts a file may have (bitmaps are kept in memory per owner). */
  readonly maxParts?: number;
  /**
   * Most entries in an ALOO / AFCH reply (the count field has 3 digits). A list
   * is cut at this many entries: every entry sent is true, the count says how many.
   */
  readonly maxListEntries?: number;
  /**
   * Most parts one session may hold over all its files (at most ALOG's 10-digit
   * #partown). A sum cannot be cut short truthfully, so the ADDR or RPAD that
   * would pass it is refused; AADR / APAD counts are per file and fit by maxParts.
   */
  readonly maxPartsHeld?: number;
  /** Most sessions and files held at once (memory bounds); LOGI / ADDR beyond them are refused. */
  readonly maxSessions?: number;
  readonly maxFiles?: number;
  /**
   * Whether a session counts as alive for the LOGO rule (the liveness policy:
   * false while its probes fail). Default: every session is alive.
   */
  readonly live?: (sessionId: string, lastSeen: number) => boolean;
  /**
   * Most holders in one AFCH (holders-sample.ts picks which: rarest-part holders, then
   * random others; never the requester). 0 or absent: every holder, as before.
   */
  readonly maxHolders?: number;
  /** Randomness of the holder sample; default Math.random. */
  readonly random?: () => number;
}

/** A session as the liveness prober sees it. */
export interface ProbeTarget {
  readonly id: string;
  readonly address: PeerAddress;
  readonly port: number;
  readonly lastSeen: number;
}

/** 16 upper-case hex digits from a cryptographically strong source. */
export function randomSessionId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** Default cap on parts per file: 2^20 parts is a 128 KiB bitmap per owner (a 256 GiB file at 256 KiB parts). */
export const DEFAULT_MAX_PARTS = 1 << 20;
export const DEFAULT_MAX_SESSIONS = 100_000;
export const DEFAULT_MAX_FILES = 100_000;

interface Session {
  readonly id: string;
  readonly address: PeerAddress;
  readonly port: number;
  readonly key: string;
  readonly since: number;
  /** Last request, idempotent LOGI or answered probe (ms since the epoch). */
  lastSeen: number;
  /** md5 → bitmap; the same Buffer as in FileEntry.owners. */
  readonly holdings: Map<string, Buffer>;
  /** md5 → parts set in that bitmap (RPAD answers without counting bits). */
  readonly counts: Map<string, number>;
  /** md5s this session ADDed. */
  readonly added: Set<string>;
  /** The sum of `counts` (ALOG's #partown), kept within maxPartsHeld. */
  partsHeld: number;
}

interface FileEntry {
  readonly md5: string;
  fileName: string;
  /** fileName.toLowerCase(), for LOOK. */
  lowerName: string;
  readonly fileLength: number;
  readonly partLength: number;
  readonly parts: number;
  /** sessionId → bitmap, in the order owners arrived. Every owner holds ≥1 part unless the file has none. */
  readonly owners: Map<string, Buffer>;
  /** Changes whenever the file's owners or bitmaps change (a cache key for encoded AFCH replies). */
  version: number;
  /** completeCopies as of `version` (the dashboard polls files()). */
  copies?: { readonly version: number; readonly value: number };
}

export interface Holder {
  readonly address: PeerAddress;
  readonly port: number;
  readonly bitmap: Buffer;
}

/** FCHU's answer for a known file: holders are built only when asked (the reply may be cached by version). */
export interface FetchResult {
  readonly parts: number;
  readonly version: number;
  holders(): Holder[];
}

export type LogoutResult = { readonly accepted: true; readonly partsOwned: number } | { readonly accepted: false; readonly partsDown: number };

/** The address+port key of a session (LOGI is idempotent per key). */
function addressKey(address: PeerAddress, port: number): string {
  return `${address.ip4}|${address.ip6}|${port}`;
}

function refuse(code: (typeof ErrorCode)[keyof typeof ErrorCode], message: string): never {
  throw new RequestRefusedError(code, message);
}

export class Registry implements TrackerView {
  private readonly sessions = new Map<string, Session>();
  private readonly byAddress = new Map<string, Session>();
  private readonly fileMap = new Map<string, FileEntry>();
  private readonly store: Store;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly emit: (event: TrackerEvent) => void;
  private readonly maxParts: number;
  private readonly maxList: number;
  private readonly maxPartsHeld: number;
  private readonly maxSessions: number;
  private readonly maxFiles: number;
  private readonly live: (sessionId: string, lastSeen: number) => boolean;
  /** Sessions whose lastSeen changed since the last flushSeen(). */
  private readonly unsavedSeen = new Set<Session>();
  /** Source of FileEntry.version values: unique over the registry's life. */
  private versions = 0;
  /** Bounded FCHU answers (null: every holder). */
  private readonly sampler: HolderSampler<string> | null;

  constructor(options: RegistryOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomSessionId;
    this.emit = options.emit ?? (() => {});
    this.maxParts = Math.min(options.maxParts ?? DEFAULT_MAX_PARTS, MAX_PART_COUNT);
    this.maxList = Math.min(options.maxListEntries ?? MAX_LIST_ENTRIES, MAX_LIST_ENTRIES);
    this.maxPartsHeld = Math.min(options.maxPartsHeld ?? MAX_PARTS_HELD, MAX_PARTS_HELD);
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
    this.live = options.live ?? (() => true);
    const maxHolders = options.maxHolders ?? 0;
    if (!Number.isSafeInteger(maxHolders) || maxHolders < 0) throw new RangeError(`maxHolders must be an integer >= 0, got ${maxHolders}`);
    this.sampler = maxHolders === 0 ? null : new HolderSampler(Math.min(maxHolders, this.maxList), options.random ?? Math.random, this.now);
    this.loadFromStore();
  }

  /** Rebuilds the maps from the store (once, at construction). Rows that do not fit together are skipped. */
  private loadFromStore(): void {
    const state = this.store.load();
    for (const s of state.sessions) {
      const address = { ip4: s.ip4, ip6: s.ip6 };
      // After a restart a session keeps its stored lastSeen: one not heard from
      // since is probed like any other silent peer (and dropped if it is dead).
      const session: Session = {
        id: s.id, address, port: s.port, key: addressKey(address, s.port), since: s.since, lastSeen: s.lastSeen,
        holdings: new Map(), counts: new Map(), added: new Set(), partsHeld: 0,
      };
      this.sessions.set(s.id, session);
      this.byAddress.set(session.key, session);
    }
    for (const f of state.files) this.fileMap.set(f.md5, { ...f, lowerName: f.fileName.toLowerCase(), owners: new Map(), version: ++this.versions });
    for (const o of state.ownership) {
      const session = this.sessions.get(o.sessionId);
      const file = this.fileMap.get(o.md5);
      if (!session || !file) continue;
      const bitmap = emptyBitmap(file.parts);
      o.bitmap.copy(bitmap, 0, 0, Math.min(bitmap.length, o.bitmap.length));
      // Keep the invariant FCHU relies on: an owner holds at least one part.
      const count = countParts(bitmap);
      if (file.parts > 0 && count === 0) continue;
      // And the one ALOG relies on (e.g. after maxPartsHeld was lowered).
      if (session.partsHeld + count > this.maxPartsHeld) continue;
      session.partsHeld += count;
      session.holdings.set(file.md5, bitmap);
      session.counts.set(file.md5, count);
      file.owners.set(session.id, bitmap);
    }
    for (const a of state.adders) {
      if (this.fileMap.has(a.md5)) this.sessions.get(a.sessionId)?.added.add(a.md5);
    }
  }

  // ---- The six requests -------------------------------------------------------

  /** LOGI: the existing session for this address and port (now seen again), or a new one. */
  login(address: PeerAddress, port: number): { sessionId: string; created: boolean } {
    const key = addressKey(address, port);
    const existing = this.byAddress.get(key);
    if (existing) {
      this.touch(existing);
      return { sessionId: existing.id, created: false };
    }
    if (this.sessions.size >= this.maxSessions) refuse(ErrorCode.LIMIT_EXCEEDED, `LOGI: ${this.sessions.size} sessions is the limit`);
    let id = this.newId();
    while (id === NULL_SESSION || this.sessions.has(id)) id = this.newId();
    const since = this.now();
    this.store.saveSession({ id, ip4: address.ip4, ip6: address.ip6, port, since, lastSeen: since });
    const session: Session = { id, address, port, key, since, lastSeen: since, holdings: new Map(), counts: new Map(), added: new Set(), partsHeld: 0 };
    this.sessions.set(id, session);
    this.byAddress.set(key, session);
    this.emit({ type: 'login', at: since, sessionId: id, address, port });
    return { sessionId: id, created: true };
  }

  /** ADDR: the sender owns every part; returns the stored part count. */
  add(sessionId: string, fileLength: number, partLength: number, fileName: string, md5: string): { parts: number } {
    const session = this.session(sessionId);
    const known = this.fileMap.get(md5);
    if (known && (known.fileLength !== fileLength || known.partLength !== partLength)) {
      refuse(
        ErrorCode.FILE_MISMATCH,
        `ADDR ${md5}: LenFile ${fileLength} / LenPart ${partLength} contradict the stored ${known.fileLength} / ${known.partLength}`,
      );
    }
    if (!known && this.fileMap.size >= this.maxFiles) refuse(ErrorCode.LIMIT_EXCEEDED, `ADDR ${md5}: ${this.fileMap.size} files is the limit`);
    const parts = known ? known.parts : partCountOf(fileLength, partLength);
    if (parts > this.maxParts) refuse(ErrorCode.LIMIT_EXCEEDED, `ADDR ${md5}: ${parts} parts is more than the limit of ${this.maxParts}`);
    const partsHeld = session.partsHeld - (session.counts.get(md5) ?? 0) + parts;
    if (partsHeld > this.maxPartsHeld) refuse(ErrorCode.LIMIT_EXCEEDED, `ADDR ${md5}: the session would hold ${partsHeld} parts, more than the limit of ${this.maxPartsHeld}`);
    const record: FileRecord = { md5, fileName, fileLength, partLength, parts };
    const bitmap = fullBitmap(parts);
    this.store.saveAdd(record, sessionId, bitmap);
    const file: FileEntry = known ?? { ...record, lowerName: '', owners: new Map(), version: 0 };
    file.fileName = fileName;
    file.lowerName = fileName.toLowerCase();
    file.version = ++this.versions;
    if (!known) this.fileMap.set(md5, file);
    const held = session.holdings.get(md5);
    if (held) held.set(bitmap);
    else {
      session.holdings.set(md5, bitmap);
      file.owners.set(sessionId, bitmap);
    }
    session.counts.set(md5, parts);
    session.partsHeld = partsHeld;
    session.added.add(md5);
    this.emit({ type: 'add', at: this.now(), sessionId, md5, fileName, fileLength, partLength, parts });
    return { parts };
  }

  /**
   * LOOK: `*` lists every file; anything else is a literal, case-insensitive
   * substring of the name, and 20 hex digits also an md5 prefix (protocol/query.ts).
   */
  look(sessionId: string, query: string): FileRecord[] {
    this.session(sessionId);
    const compiled = compileQuery(query);
    const out: FileRecord[] = [];
    for (const f of this.fileMap.values()) {
      if (out.length >= this.maxList) break;
      if (matchesCompiled(compiled, f.lowerName, f.md5)) {
        out.push({ md5: f.md5, fileName: f.fileName, fileLength: f.fileLength, partLength: f.partLength, parts: f.parts });
      }
    }
    return out;
  }

  /**
   * FCHU: every peer holding at least one part, with its bitmap; null for an unknown md5.
   * With `maxHolders`, a file with more holders than that gets a sample instead (see
   * holders-sample.ts), drawn afresh per request: its version is then new each time, so
   * an answer cache keyed by version never hands one requester's sample to another.
   */
  fetch(sessionId: string, md5: string): FetchResult | null {
    this.session(sessionId);
    const file = this.fileMap.get(md5);
    if (!file) return null;
    if (this.sampler && file.parts > 0 && file.owners.size > this.sampler.max) {
      const chosen = this.sampler.sample(md5, file.owners, file.parts, sessionId);
      return {
        parts: file.parts,
        version: ++this.versions,
        holders: () =>
          chosen.map((id) => {
            const owner = this.sessions.get(id) as Session;
            return { address: owner.address, port: owner.port, bitmap: file.owners.get(id) as Buffer };
          }),
      };
    }
    return {
      parts: file.parts,
      version: file.version,
      holders: () => {
        const holders: Holder[] = [];
        // An owner always holds at least one part (ADDR: all of them, RPAD: one), unless the file has none.
        if (file.parts === 0) return holders;
        for (const [ownerId, bitmap] of file.owners) {
          if (holders.length >= this.maxList) break;
          const owner = this.sessions.get(ownerId) as Session;
          holders.push({ address: owner.address, port: owner.port, bitmap });
        }
        return holders;
      },
    };
  }

  /** RPAD: the sender now holds `part`; returns how many parts of the file it holds. Idempotent. */
  reportPart(sessionId: string, md5: string, part: number): { partsHeld: number } {
    const session = this.session(sessionId);
    const file = this.fileMap.get(md5);
    if (!file) refuse(ErrorCode.UNKNOWN_FILE, `RPAD for unknown file ${md5}`);
    if (part >= file.parts) refuse(ErrorCode.PART_OUT_OF_RANGE, `RPAD ${md5} part ${part}: the file has ${file.parts} parts (0..${file.parts - 1})`);
    const bitmap = session.holdings.get(md5);
    if (bitmap && hasPart(bitmap, part)) return { partsHeld: session.counts.get(md5) as number };
    if (session.partsHeld >= this.maxPartsHeld) refuse(ErrorCode.LIMIT_EXCEEDED, `RPAD ${md5} part ${part}: the session holds ${session.partsHeld} parts, the limit`);
    // Write the new bitmap through first; memory keeps the change only once it is committed.
    if (bitmap) {
      // Set the bit in place (no copy of the bitmap per RPAD) and take it back if the store fails.
      setPart(bitmap, part);
      try {
        this.store.savePart(sessionId, md5, bitmap);
      } catch (err) {
        clearPart(bitmap, part);
        throw err;
      }
    } else {
      const next = emptyBitmap(file.parts);
      setPart(next, part);
      this.store.savePart(sessionId, md5, next);
      session.holdings.set(md5, next);
      file.owners.set(sessionId, next);
    }
    file.version = ++this.versions;
    const partsHeld = (session.counts.get(md5) ?? 0) + 1;
    session.counts.set(md5, partsHeld);
    session.partsHeld += 1;
    this.emit({ type: 'part', at: this.now(), sessionId, md5, part, partsHeld });
    return { partsHeld };
  }

  /**
   * LOGO: refused while the session holds a part of a file it ADDed that no
   * other live logged-in peer holds (partsDown = distinct parts of its added
   * files live others hold); otherwise its ownership and session are removed.
   * A peer whose liveness probes are failing is not counted as a holder.
   */
  logout(sessionId: string): LogoutResult {
    const session = this.session(sessionId);
    let partsDown = 0;
    let unique = false;
    for (const md5 of session.added) {
      const file = this.fileMap.get(md5);
      const mine = session.holdings.get(md5);
      if (!file || !mine) continue;
      const others = emptyBitmap(file.parts);
      for (const [ownerId, bitmap] of file.owners) {
        if (ownerId === sessionId) continue;
        const owner = this.sessions.get(ownerId) as Session;
        if (!this.live(ownerId, owner.lastSeen)) continue;
        for (let i = 0; i < others.length; i++) others[i] = (others[i] as number) | (bitmap[i] as number);
      }
      partsDown += countParts(others);
      for (let i = 0; i < mine.length && !unique; i++) if (((mine[i] as number) & ~(others[i] as number)) !== 0) unique = true;
    }
    if (unique) {
      this.emit({ type: 'logout-refused', at: this.now(), sessionId, partsDown });
      return { accepted: false, partsDown };
    }
    const partsOwned = this.remove(session);
    this.emit({ type: 'logout', at: this.now(), sessionId, partsOwned });
    return { accepted: true, partsOwned };
  }

  // ---- Liveness (driven by the prober) ---------------------------------------------

  /** Every session, for the liveness policy (live objects: read them, do not keep them). */
  probeTargets(): Iterable<ProbeTarget> {
    return this.sessions.values();
  }

  /** The session's last-seen time, or undefined when it is gone. */
  lastSeenOf(sessionId: string): number | undefined {
    return this.sessions.get(sessionId)?.lastSeen;
  }

  /** A liveness probe reached the session's peer: it counts as seen. False when the session is gone. */
  seen(sessionId: string): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    this.touch(session);
    return true;
  }

  /**
   * The session's peer is dead (its probes failed): its ownership and session
   * are removed as an accepted LOGO would, without LOGO's rule (a dead peer's
   * parts are gone whether or not someone else holds them). Null when it is gone.
   */
  drop(sessionId: string, reason: string): { partsOwned: number } | null {
    const session = this.sessions.get(sessionId);
    if (!session) return null;
    const partsOwned = this.remove(session);
    this.emit({ type: 'drop', at: this.now(), sessionId, partsOwned, lastSeen: session.lastSeen, reason });
    return { partsOwned };
  }

  /**
   * Writes the last-seen times changed since the previous call, in one batch.
   * Returns how many were written. On a store error they stay pending.
   */
  flushSeen(): number {
    if (this.unsavedSeen.size === 0) return 0;
    const updates = [...this.unsavedSeen].map((s) => ({ sessionId: s.id, lastSeen: s.lastSeen }));
    this.store.saveSeen(updates);
    this.unsavedSeen.clear();
    return updates.length;
  }

  /** Removes a session and its ownership (store first); returns the parts it held. */
  private remove(session: Session): number {
    let partsOwned = 0;
    for (const count of session.counts.values()) partsOwned += count;
    this.store.removeSession(session.id);
    for (const md5 of session.holdings.keys()) {
      const file = this.fileMap.get(md5);
      if (!file) continue;
      file.owners.delete(session.id);
      file.version = ++this.versions;
    }
    this.sessions.delete(session.id);
    this.byAddress.delete(session.key);
    this.unsavedSeen.delete(session);
    return partsOwned;
  }

  private touch(session: Session): void {
    const now = this.now();
    // A clock stepped back never moves lastSeen back.
    if (now <= session.lastSeen) return;
    session.lastSeen = now;
    this.unsavedSeen.add(session);
  }

  // ---- TrackerView --------------------------------------------------------------

  files(): FileView[] {
    return [...this.fileMap.values()].map((f) => {
      const holders = f.parts === 0 ? 0 : f.owners.size;
      return { md5: f.md5, fileName: f.fileName, fileLength: f.fileLength, partLength: f.partLength, parts: f.parts, holders, completeCopies: this.completeCopies(f) };
    });
  }

  peers(): PeerView[] {
    return [...this.sessions.values()].map((s) => {
      let partsHeld = 0;
      for (const count of s.counts.values()) partsHeld += count;
      return { sessionId: s.id, address: s.address, port: s.port, since: s.since, lastSeen: s.lastSeen, partsHeld };
    });
  }

  holders(md5: string): HolderView[] {
    const file = this.fileMap.get(md5);
    if (!file || file.parts === 0) return [];
    const out: HolderView[] = [];
    for (const [id, bm] of file.owners) {
      const s = this.sessions.get(id) as Session;
      out.push({ sessionId: id, address: s.address, port: s.port, bitmap: Buffer.from(bm) });
    }
    return out;
  }

  private completeCopies(f: FileEntry): number {
    if (f.copies?.version !== f.version) f.copies = { version: f.version, value: countCopies(f) };
    return f.copies.value;
  }

  /** The session a request names, which the request shows to be alive. */
  private session(sessionId: string): Session {
    const s = this.sessions.get(sessionId);
    if (!s) refuse(ErrorCode.UNKNOWN_SESSION, `unknown session ${sessionId}`);
    this.touch(s);
    return s;
  }
}

/** The minimum, over parts, of how many owners hold that part (0 for a file without parts). */
function countCopies(f: FileEntry): number {
  if (f.parts === 0 || f.owners.size === 0) return 0;
  const perPart = new Uint32Array(f.parts);
  for (const bm of f.owners.values()) {
    for (let byte = 0; byte < bm.length; byte++) {
      const b = bm[byte] as number;
      if (b === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (b & (0x80 >> bit)) perPart[byte * 8 + bit]! += 1;
    }
  }
  let min = Infinity;
  for (const n of perPart) if (n < min) min = n;
  return min;
}
