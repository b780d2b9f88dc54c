/**
 * The partial file of one download and everything kept beside it: the bytes
 * (positional writes into a preallocated `.<md5>.bt-part`), which parts are on
 * disk (the bitmap), who sent each part and its sha256 (the journal), both
 * persisted in `.<md5>.bt-state` (state.ts) so a restart resumes, and the md5
 * of the in-order prefix computed as parts land. A resumed download re-reads
 * every part it holds and keeps only those whose bytes still match their
 * recorded digest. Every failure of the disk comes out as a DiskError saying
 * what and where (src/errors.ts).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { access, rename } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { diskError } from '../../errors.js';
import { clearPart, countParts, emptyBitmap, hasPart, partsOf, setPart } from '../../protocol/index.js';
import { type LocalFile, openPartial, partialPath } from '../files.js';
import type { TrackerFile } from '../tracker-client.js';
import { type Digest, UNKNOWN_SENDER } from './blame.js';
import { FileHasher, StoreError } from './hashing.js';
import { type Journal, StateFile, emptyJournal, loadState } from './state.js';

/** sha256 of a part's bytes: the digest kept per part (the protocol has none of its own). */
export function partDigest(chunks: readonly Uint8Array[]): Digest {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** What a resume found on disk. */
export interface ResumeCheck {
  /** Parts kept (their bytes match the recorded digest, or were recorded now for a version-1 state). */
  readonly kept: number;
  /** Parts whose bytes no longer match their record (or had none): fetched again. */
  readonly dropped: readonly number[];
  readonly version: 1 | 2;
}

export class PartialFile {
  /** A held part was overwritten since the md5 prefix started: hash afresh from disk. */
  private stale = false;

  private constructor(
    readonly file: LocalFile,
    private fh: FileHandle | null,
    private readonly state: StateFile,
    /** sha256 per part and the md5 of the in-order prefix, in a thread of their own. */
    private readonly hasher: FileHasher,
    /** Who sent each part, every copy seen, the bans: kept in the state file. */
    readonly journal: Journal,
    /** What the resume found, or null for a fresh download. */
    readonly resumed: ResumeCheck | null,
  ) {}

  /** Opens (resuming when a valid state file is there) or creates the partial file of `info` in `dir`. */
  static async open(dir: string, info: TrackerFile, name: string): Promise<PartialFile> {
    const path = partialPath(dir, info.md5);
    const loaded = await loadState(dir, info.md5, path, info);
    const bitmap = loaded?.bitmap ?? emptyBitmap(info.parts);
    const journal = loaded?.journal ?? emptyJournal();
    let fh: FileHandle;
    try {
      fh = await openPartial(path, info.fileLength, loaded !== null);
    } catch (err) {
      throw diskError(err, 'create', path);
    }
    const file: LocalFile = { md5: info.md5, fileName: name, fileLength: info.fileLength, partLength: info.partLength, parts: info.parts, bitmap, path, complete: false };
    try {
      const resumed = loaded ? await recheck(fh, file, journal, loaded.version) : null;
      const state = await StateFile.create(dir, { md5: info.md5, fileName: info.fileName, fileLength: info.fileLength, partLength: info.partLength }, bitmap, journal);
      return new PartialFile(file, fh, state, new FileHasher(file), journal, resumed);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw diskError(err, 'write the download state beside', path);
    }
  }

  get parts(): number {
    return this.file.parts;
  }
  get have(): number {
    return countParts(this.file.bitmap);
  }
  has(part: number): boolean {
    return hasPart(this.file.bitmap, part);
  }
  get complete(): boolean {
    return this.have === this.file.parts;
  }

  partSize(part: number): number {
    const { partLength, fileLength } = this.file;
    return Math.min(partLength, fileLength - part * partLength);
  }

  /** Bytes of the parts held. */
  bytesHeld(): number {
    let n = 0;
    for (let p = 0; p < this.file.parts; p++) if (this.has(p)) n += this.partSize(p);
    return n;
  }

  heldParts(): number[] {
    return partsOf(this.file.bitmap, this.file.parts);
  }

  /**
   * Writes `part` at its offset, then marks it held (bitmap, md5 prefix) and
   * persists the mark. Resolves once the state file records it. Throws a
   * DiskError when the disk refuses (the part stays missing).
   */
  async write(part: number, chunks: Buffer[], owner: string): Promise<Digest> {
    if (!this.fh) throw diskError(new Error('closed'), 'write to', this.file.path);
    const size = this.partSize(part);
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    let digest: Digest;
    try {
      // Written, then hashed (sha256, and md5 from the bytes in hand when next in line), in the part thread.
      digest = await this.hasher.store(part, bytes.subarray(0, size));
    } catch (err) {
      if (err instanceof StoreError) {
        // The md5's cursor passed a part that is not on disk.
        this.hasher.reset();
        throw diskError(err, 'write to', this.file.path);
      }
      throw diskError(err, 'hash', this.file.path);
    }
    this.journal.records.set(part, { owner, digest });
    this.addEvidence(part, owner, digest);
    if (this.has(part)) {
      // A copy replaced while healing: the md5 prefix may have read the old bytes.
      this.stale = true;
    } else {
      setPart(this.file.bitmap, part);
      // Parts after it already on disk follow it into the md5.
      this.hasher.landed();
    }
    await this.state.recordPart(part, owner, digest).catch((err: unknown) => {
      throw diskError(err, 'record progress beside', this.file.path);
    });
    return digest;
  }

  /** Another owner's copy of `part` (a cross-check): only its digest is kept. */
  async witness(part: number, owner: string, digest: Digest): Promise<void> {
    this.addEvidence(part, owner, digest);
    await this.state.witness(part, owner, digest).catch((err: unknown) => {
      throw diskError(err, 'record progress beside', this.file.path);
    });
  }

  private addEvidence(part: number, owner: string, digest: Digest): void {
    let m = this.journal.evidence.get(part);
    if (!m) this.journal.evidence.set(part, (m = new Map()));
    m.set(owner, digest);
  }

  /**
   * `part` is suspect: no longer held (not served, fetched again). Its record
   * stays as evidence. The md5 prefix starts over (it may have hashed the part).
   */
  async drop(part: number): Promise<void> {
    if (!this.has(part)) return;
    clearPart(this.file.bitmap, part);
    this.hasher.reset();
    await this.state.markPart(part).catch((err: unknown) => {
      throw diskError(err, 'record progress beside', this.file.path);
    });
  }

  /** Persists a ban (or its lifting) of `owner` for this file. */
  async ban(owner: string, reason: string | null): Promise<void> {
    if (reason === null) this.journal.bans.delete(owner);
    else this.journal.bans.set(owner, reason);
    await (reason === null ? this.state.unban(owner) : this.state.ban(owner, reason)).catch((err: unknown) => {
      throw diskError(err, 'record progress beside', this.file.path);
    });
  }

  /** The digest of the copy of `part` on disk, if held. */
  digest(part: number): Digest | undefined {
    return this.has(part) ? this.journal.records.get(part)?.digest : undefined;
  }

  /**
   * Every part is on disk: md5(content), and md5(content + s) for each of
   * `suffixes` (the content+owner convention). A second call (after healing)
   * hashes afresh.
   */
  async digests(suffixes: readonly string[]): Promise<{ content: string; withSuffix: readonly string[] }> {
    if (this.stale) {
      this.hasher.reset();
      this.stale = false;
    }
    try {
      return await this.hasher.digests(suffixes);
    } catch (err) {
      throw diskError(err, 'read back', this.file.path);
    } finally {
      this.hasher.reset();
    }
  }

  /** Moves the verified file to `name` in `dir` (or `name (1).ext`, ...: never over an existing file). */
  async finish(dir: string, name: string): Promise<string> {
    await this.closeData();
    const finalPath = await freeName(dir, name);
    try {
      await rename(this.file.path, finalPath);
    } catch (err) {
      throw diskError(err, 'rename', this.file.path);
    }
    this.file.path = finalPath;
    this.file.complete = true;
    await this.state.remove();
    return finalPath;
  }

  /** Moves a file that failed verification apart, as `.<md5>.<why>`; nothing to resume. */
  async keepApart(dir: string, why: string): Promise<string> {
    await this.closeData();
    const apart = join(dir, `.${this.file.md5}.${why}`);
    await rename(this.file.path, apart).catch((err: unknown) => {
      throw diskError(err, 'rename', this.file.path);
    });
    await this.state.remove();
    return apart;
  }

  private async closeData(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  /** Releases every handle; the state file stays for a resume. */
  async close(): Promise<void> {
    await this.closeData();
    await this.hasher.close();
    await this.state.close();
  }
}

/**
 * A resume: re-reads each held part and keeps it only if its bytes match the
 * digest recorded when it was taken in (a crash or a disk may have lost them).
 * A version-1 state has no digests: the parts are kept and their digests
 * recorded now, sender unknown.
 */
async function recheck(fh: FileHandle, file: LocalFile, journal: Journal, version: 1 | 2): Promise<ResumeCheck> {
  const buffer = Buffer.allocUnsafe(file.partLength);
  const dropped: number[] = [];
  let kept = 0;
  for (let part = 0; part < file.parts; part++) {
    if (!hasPart(file.bitmap, part)) continue;
    const size = Math.min(file.partLength, file.fileLength - part * file.partLength);
    for (let got = 0; got < size; ) {
      const { bytesRead } = await fh.read(buffer, got, size - got, part * file.partLength + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    const digest = partDigest([buffer.subarray(0, size)]);
    const record = journal.records.get(part);
    if (version === 1 && !record) {
      journal.records.set(part, { owner: UNKNOWN_SENDER, digest });
      let m = journal.evidence.get(part);
      if (!m) journal.evidence.set(part, (m = new Map()));
      m.set(UNKNOWN_SENDER, digest);
      kept++;
    } else if (record?.digest === digest) {
      kept++;
    } else {
      clearPart(file.bitmap, part);
      dropped.push(part);
    }
  }
  return { kept, dropped, version };
}

/** `name`, or `name (1).ext`, ... : never overwrite an existing file. */
async function freeName(dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let i = 0; ; i++) {
    const candidate = join(dir, i === 0 ? name : `${stem} (${i})${ext}`);
    try {
      await access(candidate);
    } catch {
      return candidate;
    }
  }
}
