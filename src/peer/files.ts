/**
 * The files this peer holds (shared, completed, or partly downloaded), hashing,
 * and the partial file's name (its state file is download/state.ts).
 */
import { type Hash, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
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
  const hash = createHash('md5');
  const fh = await open(path, 'r').catch((err: Error) => {
    throw new FileError(ErrorCode.BAD_STATE, `cannot read ${path}: ${err.message}`, { cause: err });
  });
  try {
    await hashRange(fh, hash, 0, (await fh.stat()).size, path);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return checkHash(hash, md5, owners, sharerKnown);
}

/** Compares a content hash (state kept open) with a Filemd5, under both conventions; see verifyFile. */
export function checkHash(hash: Hash, md5: string, owners: readonly PeerAddress[], sharerKnown: boolean): VerifyOutcome {
  const suffixes = ownerSuffixes(owners);
  return judgeDigests(md5, hash.copy().digest('hex'), suffixes.map((s) => hash.copy().update(s.suffix).digest('hex')), suffixes, sharerKnown);
}

/** The content+owner suffixes to try (IPv4, then the IPv6 compressed or full), each once. */
export function ownerSuffixes(owners: readonly PeerAddress[]): { suffix: string; owner: PeerAddress }[] {
  const seen = new Set<string>();
  const out: { suffix: string; owner: PeerAddress }[] = [];
  for (const owner of owners) {
    for (const ip6 of [compressIPv6(owner.ip6), expandIPv6(owner.ip6)]) {
      const suffix = `${owner.ip4}${ip6}`;
      if (seen.has(suffix)) continue;
      seen.add(suffix);
      out.push({ suffix, owner });
    }
  }
  return out;
}

/** The verdict from md5(content) and md5(content + suffix) for each of `suffixes` (ownerSuffixes). */
export function judgeDigests(md5: string, content: string, withSuffix: readonly string[], suffixes: readonly { owner: PeerAddress }[], sharerKnown: boolean): VerifyOutcome {
  const want = md5.toLowerCase();
  if (content === want) return { status: 'verified', convention: 'content' };
  const i = withSuffix.indexOf(want);
  if (i >= 0) return { status: 'verified', convention: 'content+owner', owner: (suffixes[i] as { owner: PeerAddress }).owner };
  return { status: sharerKnown ? 'corrupt' : 'unverified', actual: content };
}

/** Bytes per read when hashing from disk; two buffers, so the next read overlaps the hashing. */
const HASH_BLOCK = 4 << 20;

/** Feeds bytes [start, end) of an open file through `hash`, reading ahead while hashing. */
export async function hashRange(fh: FileHandle, hash: Hash, start: number, end: number, path: string): Promise<void> {
  if (start >= end) return;
  const size = Math.min(HASH_BLOCK, end - start);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const;
  const readFully = async (buffer: Buffer, n: number, position: number): Promise<Buffer> => {
    for (let got = 0; got < n; ) {
      const { bytesRead } = await fh.read(buffer, got, n - got, position + got);
      if (bytesRead === 0) throw new FileError(ErrorCode.BAD_STATE, `${path} is shorter than expected (${position + got} of ${end} bytes)`);
      got += bytesRead;
    }
    return buffer.subarray(0, n);
  };
  let which = 0;
  let at = start;
  const readNext = (): Promise<Buffer> | null => {
    if (at >= end) return null;
    const n = Math.min(size, end - at);
    const read = readFully(buffers[which] as Buffer, n, at);
    at += n;
    which ^= 1;
    return read;
  };
  let pending = readNext();
  while (pending) {
    const block = await pending;
    pending = readNext(); // into the other buffer, while this one is hashed
    hash.update(block);
  }
}

export function partialPath(dir: string, md5: string): string {
  return join(dir, `.${md5}.bt-part`);
}

/** Opens (creating and sizing if needed) the partial file. */
export async function openPartial(path: string, length: number, keep: boolean) {
  const fh = await open(path, keep ? 'r+' : 'w+');
  if (!keep) await fh.truncate(length);
  return fh;
}
