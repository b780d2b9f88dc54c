/**
 * A download's part thread, off the main thread: each part taken in is written
 * at its place in the partial file, then its sha256 and the md5 of the whole
 * file are taken, in a worker thread of its own (hash-worker.ts). md5 needs
 * the bytes in order and parts land in any order, so this keeps the cursor: a part that is next in line when it arrives is
 * hashed from the bytes in hand (no disk read); parts past the cursor already
 * on disk are read back by the worker when the cursor reaches them; `digests`
 * hashes whatever is left. Part bytes backed by a SharedArrayBuffer reach the
 * worker without a copy (the caller keeps them untouched until `store`
 * settles); others are copied.
 *
 * Bounded: every job waits in the worker's queue, and a part's buffer is held
 * until its digest comes back, so the caller bounds the parts it hashes at
 * once (download.ts: at most maxInFlight parts taken in at a time).
 */
import { Worker } from 'node:worker_threads';
import { hasPart } from '../../protocol/index.js';
import type { LocalFile } from '../files.js';
import type { Digest } from './blame.js';

export type HashJob =
  | { readonly op: 'store'; readonly id: number; readonly path: string; readonly position: number; readonly bytes: Uint8Array; readonly md5: boolean }
  | { readonly op: 'range'; readonly path: string; readonly start: number; readonly end: number }
  | { readonly op: 'reset' }
  | { readonly op: 'digest'; readonly id: number; readonly suffixes: readonly string[] };

export type HashReply =
  | { readonly id: number; readonly sha256: string }
  | { readonly id: number; readonly digests: readonly string[] }
  | { readonly id: number; readonly error: string; readonly code?: string | undefined; readonly write?: boolean };

/** A part the worker could not write: `code` is the errno code (ENOSPC ...), for DiskError. */
export class StoreError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

const WORKER = new URL('./hash-worker.js', import.meta.url);

/** A buffer the hashing thread reads in place (no copy per part): download.ts allocates part buffers so. */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

export class FileHasher {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: HashReply) => void; reject: (e: Error) => void }>();
  private ids = 0;
  /** Parts 0..next-1 are in the md5 (or queued for it, in order). */
  private next = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(private readonly file: LocalFile) {
    this.worker = new Worker(WORKER);
    // Idle, the thread must not keep the process alive; while a reply is awaited it must.
    this.worker.unref();
    this.worker.on('message', (reply: HashReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.worker.unref();
      if ('error' in reply) w.reject(reply.write ? new StoreError(reply.error, reply.code) : new Error(reply.error));
      else w.resolve(reply);
    });
    this.worker.on('error', (err) => this.broken(err));
    this.worker.on('exit', (code) => this.broken(new Error(`the hashing thread exited (code ${code})`)));
  }

  /** Parts hashed into the md5 so far, or queued to be (all of 0..partsHashed-1). */
  get partsHashed(): number {
    return this.next;
  }

  private broken(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  private ask(make: (id: number) => HashJob): Promise<HashReply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('hashing closed'));
    const id = ++this.ids;
    return new Promise<HashReply>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(make(id));
    });
  }

  private post(job: HashJob): void {
    if (!this.closed && !this.failure) this.worker.postMessage(job);
  }

  /**
   * Writes `part`'s bytes at its place in the partial file, then gives their
   * sha256. When the part is next in line (and not held: a held part's copy
   * replaced while healing makes the caller start over) its bytes also go into
   * the md5, before anything posted later. A write that fails rejects with a
   * StoreError and its bytes stay out of the md5, but the cursor has passed
   * the part: the caller resets it.
   */
  async store(part: number, bytes: Uint8Array): Promise<Digest> {
    const md5 = part === this.next && !hasPart(this.file.bitmap, part);
    if (md5) this.next++;
    const { path, partLength } = this.file;
    const reply = await this.ask((id) => ({ op: 'store', id, path, position: part * partLength, bytes, md5 }));
    return (reply as { sha256: string }).sha256;
  }

  /** A part's bit was set: parts at the cursor that are on disk are read back into the md5. */
  landed(): void {
    const { parts, bitmap, partLength, fileLength, path } = this.file;
    if (this.next >= parts || !hasPart(bitmap, this.next)) return;
    let last = this.next;
    while (last + 1 < parts && hasPart(bitmap, last + 1)) last++;
    this.post({ op: 'range', path, start: this.next * partLength, end: Math.min(fileLength, (last + 1) * partLength) });
    this.next = last + 1;
  }

  /** The md5 starts over from the first part (a part it may have hashed was dropped or replaced, or not written). */
  reset(): void {
    this.next = 0;
    this.post({ op: 'reset' });
  }

  /**
   * Every part is on disk: the content's md5, then md5(content + s) for each
   * of `suffixes` (the content+owner convention, files.ts checkHash).
   */
  async digests(suffixes: readonly string[]): Promise<{ content: string; withSuffix: readonly string[] }> {
    const { partLength, fileLength, path } = this.file;
    const start = Math.min(fileLength, this.next * partLength);
    if (start < fileLength) this.post({ op: 'range', path, start, end: fileLength });
    this.next = this.file.parts;
    const reply = (await this.ask((id) => ({ op: 'digest', id, suffixes }))) as { digests: readonly string[] };
    const [content, ...withSuffix] = reply.digests;
    return { content: content as string, withSuffix };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.worker.removeAllListeners('exit');
    this.broken(new Error('hashing closed'));
    await this.worker.terminate();
  }
}
