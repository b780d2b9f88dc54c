/**
 * The partial file of one download and everything kept beside it: the bytes
 * (positional writes into a preallocated `.<md5>.bt-part`), which parts are on
 * disk (the bitmap, persisted in `.<md5>.bt-state` so a restart resumes), and
 * the md5 of the in-order prefix computed as parts land. Every failure of the
 * disk comes out as a DiskError saying what and where (src/errors.ts).
 */
import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { access, rename } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { diskError } from '../../errors.js';
import { countParts, emptyBitmap, hasPart, setPart } from '../../protocol/index.js';
import { afterBytes } from '../buffers.js';
import { type LocalFile, PrefixHasher, StateFile, loadState, openPartial, partialPath } from '../files.js';
import type { TrackerFile } from '../tracker-client.js';

export class PartialFile {
  private constructor(
    readonly file: LocalFile,
    private fh: FileHandle | null,
    private readonly state: StateFile,
    private readonly hasher: PrefixHasher,
    /** Parts that were on disk from an earlier run. */
    readonly resumed: boolean,
  ) {}

  /** Opens (resuming when a valid state file is there) or creates the partial file of `info` in `dir`. */
  static async open(dir: string, info: TrackerFile, name: string): Promise<PartialFile> {
    const path = partialPath(dir, info.md5);
    const resumed = await loadState(dir, info.md5, info);
    const bitmap = resumed ?? emptyBitmap(info.parts);
    let fh: FileHandle;
    try {
      fh = await openPartial(path, info.fileLength, resumed !== null);
    } catch (err) {
      throw diskError(err, 'create', path);
    }
    const file: LocalFile = { md5: info.md5, fileName: name, fileLength: info.fileLength, partLength: info.partLength, parts: info.parts, bitmap, path, complete: false };
    try {
      const state = await StateFile.create(dir, { version: 1, md5: info.md5, fileName: info.fileName, fileLength: info.fileLength, partLength: info.partLength }, bitmap);
      return new PartialFile(file, fh, state, new PrefixHasher(file), resumed !== null);
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
    const out: number[] = [];
    for (let p = 0; p < this.file.parts; p++) if (this.has(p)) out.push(p);
    return out;
  }

  /**
   * Writes `part` at its offset, then marks it held (bitmap, md5 prefix) and
   * persists the mark. Resolves once the state file records it. Throws a
   * DiskError when the disk refuses (the part stays missing).
   */
  async write(part: number, chunks: Buffer[]): Promise<void> {
    const fh = this.fh;
    if (!fh) throw diskError(new Error('closed'), 'write to', this.file.path);
    const offset = part * this.file.partLength;
    const size = this.partSize(part);
    try {
      for (let written = 0; written < size; ) {
        const { bytesWritten } = await fh.writev(afterBytes(chunks, written), offset + written);
        written += bytesWritten;
      }
    } catch (err) {
      throw diskError(err, 'write to', this.file.path);
    }
    setPart(this.file.bitmap, part);
    // md5 in order, from the bytes in hand when this part is next in line.
    this.hasher.landed(part, chunks);
    await this.state.markPart(part).catch((err: unknown) => {
      throw diskError(err, 'record progress beside', this.file.path);
    });
  }

  /** Every part is on disk: the content's md5 state (open for the content+owner candidates). */
  async hash(): Promise<Hash> {
    try {
      return await this.hasher.finish();
    } catch (err) {
      throw diskError(err, 'read back', this.file.path);
    } finally {
      await this.hasher.close();
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
