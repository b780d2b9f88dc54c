/**
 * The files this peer holds (shared, completed, or partly downloaded), hashing,
 * and the download state kept beside a partial file so a restart resumes it.
 */
import { type Hash, createHash } from 'node:crypto';
import { createReadStream, writeSync } from 'node:fs';
import { type FileHandle, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCode, FileError } from '../errors.js';
import { type PeerAddress, compressIPv6, expandIPv6, fullBitmap, partCountOf } from '../protocol/index.js';

export interface LocalFile {
  readonly md5: string;
  fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
  readonly parts: number;
  /** Parts held; shared with the download that fills it. */
  readonly bitmap: Buffer;
  /** Where the bytes are now (temporary name while downloading). */
  path: string;
  complete: boolean;
}

/** md5 -> file. The uploader serves only what is in here, and only parts set in the bitmap. */
export class FileStore {
  private readonly files = new Map<string, LocalFile>();
  get(md5: string): LocalFile | undefined {
    return this.files.get(md5);
  }
  add(file: LocalFile): void {
    this.files.set(file.md5, file);
  }
  delete(md5: string): void {
    this.files.delete(md5);
  }
  all(): LocalFile[] {
    return [...this.files.values()];
  }
}

/** Streams a file (or its first `length` bytes) through md5; returns the live hash state. */
export function hashFile(path: string): Promise<{ hash: Hash; length: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    let length = 0;
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    });
    stream.on('error', (err) => reject(new FileError(ErrorCode.BAD_STATE, `cannot read ${path}: ${err.message}`, { cause: err })));
    stream.on('end', () => resolve({ hash, length }));
  });
}

/** Describes a local file for sharing: content md5, name, parts. */
export async function describeForShare(path: string, partLength: number): Promise<LocalFile> {
  const info = await stat(path).catch((err: Error) => {
    throw new FileError(ErrorCode.BAD_STATE, `cannot share ${path}: ${err.message}`);
  });
  if (!info.isFile()) throw new FileError(ErrorCode.BAD_STATE, `cannot share ${path}: not a regular file`);
  const { hash, length } = await hashFile(path);
  const parts = partCountOf(length, partLength);
  return {
    md5: hash.digest('hex'),
    fileName: basename(path),
    fileLength: length,
    partLength,
    parts,
    bitmap: fullBitmap(parts),
    path,
    complete: true,
  };
}

export type VerifyOutcome =
  | { status: 'verified'; convention: 'content' | 'content+owner'; owner?: PeerAddress }
  | { status: 'corrupt' | 'unverified'; actual: string };

/**
 * Checks a finished file against its Filemd5, accepting both conventions:
 * md5(content), or md5(content + owner ip4 + owner ip6) with the IPv6 compressed
 * or full. Hashes the content once and extends a copy per candidate.
 * `sharerKnown`: whether a full owner (plausibly the sharer) was among `owners`;
 * without a match that makes the file corrupt, otherwise only unverified.
 */
export async function verifyFile(path: string, md5: string, owners: readonly PeerAddress[], sharerKnown: boolean): Promise<VerifyOutcome> {
  const { hash } = await hashFile(path);
  const want = md5.toLowerCase();
  const actual = hash.copy().digest('hex');
  if (actual === want) return { status: 'verified', convention: 'content' };
  const seen = new Set<string>();
  for (const owner of owners) {
    for (const ip6 of [compressIPv6(owner.ip6), expandIPv6(owner.ip6)]) {
      const suffix = `${owner.ip4}${ip6}`;
      if (seen.has(suffix)) continue;
      seen.add(suffix);
      if (hash.copy().update(suffix).digest('hex') === want) return { status: 'verified', convention: 'content+owner', owner };
    }
  }
  return { status: sharerKnown ? 'corrupt' : 'unverified', actual };
}

// ---- Download state beside the partial file ---------------------------------

/**
 * The state file: one JSON header line, then the raw part bitmap. The header is
 * written once (temp + rename); each part that lands flips its bit with a
 * one-byte positional write, serialised so bytes land in order. A part's bit is
 * set only after its bytes were written to the partial file.
 */
export interface DownloadState {
  readonly version: 1;
  readonly md5: string;
  readonly fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
}

export function partialPath(dir: string, md5: string): string {
  return join(dir, `.${md5}.bt-part`);
}
export function statePath(dir: string, md5: string): string {
  return join(dir, `.${md5}.bt-state`);
}

export async function loadState(dir: string, md5: string, expect: { fileLength: number; partLength: number }): Promise<Buffer | null> {
  let raw: Buffer;
  try {
    raw = await readFile(statePath(dir, md5));
  } catch {
    return null;
  }
  try {
    const nl = raw.indexOf(0x0a);
    if (nl < 0 || nl > 4096) return null;
    const s = JSON.parse(raw.subarray(0, nl).toString('utf8')) as DownloadState;
    const parts = partCountOf(expect.fileLength, expect.partLength);
    const bm = Buffer.from(raw.subarray(nl + 1));
    if (s.version !== 1 || s.md5 !== md5 || s.fileLength !== expect.fileLength || s.partLength !== expect.partLength || bm.length !== Math.ceil(parts / 8)) return null;
    const info = await stat(partialPath(dir, md5)).catch(() => null);
    if (!info || info.size !== expect.fileLength) return null;
    return bm;
  } catch {
    return null;
  }
}

export class StateFile {
  private chain: Promise<void> = Promise.resolve();
  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly offset: number,
    private readonly bitmap: Buffer,
  ) {}

  /** Writes header + bitmap atomically and opens the file for bit updates. */
  static async create(dir: string, header: DownloadState, bitmap: Buffer): Promise<StateFile> {
    const path = statePath(dir, header.md5);
    const head = Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
    const tmp = `${path}.tmp`;
    await writeFile(tmp, Buffer.concat([head, bitmap]));
    await rename(tmp, path);
    const fh = await open(path, 'r+');
    return new StateFile(path, fh, head.length, bitmap);
  }

  /** Records that `part` is on disk; resolves once the byte is written. */
  markPart(part: number): Promise<void> {
    const index = part >> 3;
    // One byte into the page cache: a synchronous pwrite is far cheaper than a thread-pool round trip.
    this.chain = this.chain.then(() => {
      writeSync(this.fh.fd, this.bitmap, index, 1, this.offset + index);
    });
    return this.chain;
  }

  async remove(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }
}

/** Opens (creating and sizing if needed) the partial file. */
export async function openPartial(path: string, length: number, keep: boolean) {
  const fh = await open(path, keep ? 'r+' : 'w+');
  if (!keep) await fh.truncate(length);
  return fh;
}
