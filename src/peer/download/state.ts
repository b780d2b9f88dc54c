/**
 * The state file beside a partial file (`.<md5>.bt-state`), so a restart
 * resumes: one JSON header line, the raw part bitmap, then (version 2) a
 * journal of JSON lines: for each part taken in, who sent it and the sha256 of
 * its bytes; each cross-check's digest; bans and lifted bans. The bitmap's
 * bytes are rewritten in place (one-byte positional writes), the journal only
 * grows; all writes are serialised, and a part's journal line is written before
 * its bit, so a held part always has its record. A torn last line (a crash) is
 * skipped on load. Version-1 files (no journal) still resume.
 */
import { writeSync } from 'node:fs';
import { type FileHandle, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { partCountOf } from '../../protocol/index.js';
import type { Digest } from './blame.js';

export interface StateHeader {
  readonly version: 1 | 2;
  readonly md5: string;
  readonly fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
}

export const STATE_VERSION = 2;

export interface PartRecord {
  /** Owner key (`ip4:port`) of the sender, or UNKNOWN_SENDER. */
  readonly owner: string;
  readonly digest: Digest;
}

/** Everything the journal says, compacted: the latest record per part, the cross-checks, the bans. */
export interface Journal {
  readonly records: Map<number, PartRecord>;
  /** part -> owner -> digest of every copy seen (records included). */
  readonly evidence: Map<number, Map<string, Digest>>;
  /** owner -> reason. */
  readonly bans: Map<string, string>;
}

export interface LoadedState {
  readonly version: 1 | 2;
  readonly bitmap: Buffer;
  readonly journal: Journal;
}

export function emptyJournal(): Journal {
  return { records: new Map(), evidence: new Map(), bans: new Map() };
}

export function statePath(dir: string, md5: string): string {
  return join(dir, `.${md5}.bt-state`);
}

type Line =
  | { p: number; f: string; d: string }
  | { w: number; f: string; d: string }
  | { ban: string; why: string }
  | { unban: string };

/** The journal is bounded: a line longer than this, or a journal past MAX_JOURNAL, is not trusted. */
const MAX_LINE = 1024;
const MAX_JOURNAL = 64 << 20;
const DIGEST = /^[0-9a-f]{64}$/;
const OWNER_MAX = 128;

function addEvidence(j: Journal, part: number, owner: string, digest: Digest): void {
  let m = j.evidence.get(part);
  if (!m) j.evidence.set(part, (m = new Map()));
  m.set(owner, digest);
}

/** Applies one journal line (already parsed) to `j`; false when it is not a valid line for `parts`. */
function apply(j: Journal, line: unknown, parts: number): boolean {
  if (typeof line !== 'object' || line === null) return false;
  const l = line as Record<string, unknown>;
  const part = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < parts;
  const owner = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= OWNER_MAX;
  if ('p' in l && part(l.p) && owner(l.f) && typeof l.d === 'string' && DIGEST.test(l.d)) {
    j.records.set(l.p, { owner: l.f, digest: l.d });
    addEvidence(j, l.p, l.f, l.d);
    return true;
  }
  if ('w' in l && part(l.w) && owner(l.f) && typeof l.d === 'string' && DIGEST.test(l.d)) {
    addEvidence(j, l.w, l.f, l.d);
    return true;
  }
  if ('ban' in l && owner(l.ban) && typeof l.why === 'string' && l.why.length <= MAX_LINE) {
    j.bans.set(l.ban, l.why);
    return true;
  }
  if ('unban' in l && owner(l.unban)) {
    j.bans.delete(l.unban);
    return true;
  }
  return false;
}

function parseJournal(raw: Buffer, parts: number): Journal {
  const j = emptyJournal();
  let at = 0;
  while (at < raw.length) {
    const nl = raw.indexOf(0x0a, at);
    if (nl < 0) break; // a torn last line
    if (nl - at <= MAX_LINE) {
      try {
        apply(j, JSON.parse(raw.subarray(at, nl).toString('utf8')), parts);
      } catch {
        // not a line we wrote: skipped
      }
    }
    at = nl + 1;
  }
  return j;
}

/** Reads the state of `md5` in `dir` if it is there, valid, and matches `expect` and the partial file. */
export async function loadState(dir: string, md5: string, partial: string, expect: { fileLength: number; partLength: number }): Promise<LoadedState | null> {
  let raw: Buffer;
  try {
    const info = await stat(statePath(dir, md5));
    if (info.size > MAX_JOURNAL) return null;
    raw = await readFile(statePath(dir, md5));
  } catch {
    return null;
  }
  try {
    const nl = raw.indexOf(0x0a);
    if (nl < 0 || nl > 4096) return null;
    const s = JSON.parse(raw.subarray(0, nl).toString('utf8')) as StateHeader;
    const parts = partCountOf(expect.fileLength, expect.partLength);
    const size = Math.ceil(parts / 8);
    if ((s.version !== 1 && s.version !== 2) || s.md5 !== md5 || s.fileLength !== expect.fileLength || s.partLength !== expect.partLength) return null;
    const bitmap = Buffer.from(raw.subarray(nl + 1, nl + 1 + size));
    if (bitmap.length !== size || (s.version === 1 && raw.length !== nl + 1 + size)) return null;
    const info = await stat(partial).catch(() => null);
    if (!info || info.size !== expect.fileLength) return null;
    const journal = s.version === 2 ? parseJournal(raw.subarray(nl + 1 + size), parts) : emptyJournal();
    return { version: s.version, bitmap, journal };
  } catch {
    return null;
  }
}

export class StateFile {
  private chain: Promise<void> = Promise.resolve();
  /** Removed or closed: later records have nowhere to go (the download is over) and are dropped. */
  private closed = false;
  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly offset: number,
    private readonly bitmap: Buffer,
    /** Where the next journal line goes. */
    private end: number,
  ) {}

  /** Writes header, bitmap and the compacted `journal` atomically (temp + rename) and opens the file for updates. */
  static async create(dir: string, header: Omit<StateHeader, 'version'>, bitmap: Buffer, journal: Journal = emptyJournal()): Promise<StateFile> {
    const path = statePath(dir, header.md5);
    const head = Buffer.from(`${JSON.stringify({ version: STATE_VERSION, ...header })}\n`, 'utf8');
    const lines: string[] = [];
    for (const [part, copies] of journal.evidence) {
      const rec = journal.records.get(part);
      for (const [f, d] of copies) if (!(rec && rec.owner === f && rec.digest === d)) lines.push(JSON.stringify({ w: part, f, d }));
    }
    for (const [p, r] of journal.records) lines.push(JSON.stringify({ p, f: r.owner, d: r.digest }));
    for (const [ban, why] of journal.bans) lines.push(JSON.stringify({ ban, why }));
    const body = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
    const tmp = `${path}.tmp`;
    await writeFile(tmp, Buffer.concat([head, bitmap, body]));
    await rename(tmp, path);
    const fh = await open(path, 'r+');
    return new StateFile(path, fh, head.length, bitmap, head.length + bitmap.length + body.length);
  }

  /** Records that `part` is on disk (its bit, already set in the bitmap); resolves once the byte is written. */
  markPart(part: number): Promise<void> {
    const index = part >> 3;
    // One byte into the page cache: a synchronous pwrite is far cheaper than a thread-pool round trip.
    return this.queue(() => {
      writeSync(this.fh.fd, this.bitmap, index, 1, this.offset + index);
    });
  }

  /** `part` came from `owner` with `digest`: its journal line, then its bit. */
  recordPart(part: number, owner: string, digest: Digest): Promise<void> {
    this.append({ p: part, f: owner, d: digest });
    return this.markPart(part);
  }

  /** A cross-check's copy of `part` from `owner`. */
  witness(part: number, owner: string, digest: Digest): Promise<void> {
    return this.append({ w: part, f: owner, d: digest });
  }

  ban(owner: string, why: string): Promise<void> {
    return this.append({ ban: owner, why: why.slice(0, MAX_LINE / 2) });
  }

  unban(owner: string): Promise<void> {
    return this.append({ unban: owner });
  }

  private append(line: Line): Promise<void> {
    const bytes = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
    return this.queue(() => {
      writeSync(this.fh.fd, bytes, 0, bytes.length, this.end);
      this.end += bytes.length;
    });
  }

  private queue(step: () => void): Promise<void> {
    this.chain = this.chain.then(() => {
      if (!this.closed) step();
    });
    return this.chain;
  }

  async remove(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.closed = true;
    await this.fh.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}
