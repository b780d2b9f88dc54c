/**
 * Answers RETP by streaming the part from disk: AREP + #chunk, then each chunk
 * as Lenchunk + data. Widths come from the message table's codecs; data is read
 * with positional reads straight into the frame that goes on the wire. Every
 * chunk is paced by the Throttle and counted by the TrafficRecorder; the request
 * is admitted by UploadAdmission first (null: close without a reply).
 *
 * A reader that does not read must not keep its upload slot: the time a part
 * spends waiting for the remote to take bytes (socket drains) is bounded per
 * part, max(stallFloorMs, part length / minRate), whatever it does meanwhile;
 * past that the connection is destroyed, the slot released and UploadStalled
 * thrown. Time spent in our own pacing (the Throttle) or on disk does not count.
 */
import type { Socket } from 'node:net';
import { type FileHandle, open } from 'node:fs/promises';
import { ErrorCode, RemoteError } from '../errors.js';
import type { Logger } from '../log.js';
import { COMMAND_WIDTH, MAX_CHUNK, MESSAGES, type MessageOf, hasPart } from '../protocol/index.js';
import type { RemoteKey, Throttle, TrafficRecorder, UploadAdmission } from './bandwidth.js';
import { FramePool, afterBytes } from './buffers.js';
import type { FileStore } from './files.js';

const AREP_LIST = MESSAGES.AREP[0].codec;
const COUNT = AREP_LIST.count;
const CHUNK_LENGTH = AREP_LIST.item[0].codec.length;
/** Chunks read and written together (one positional readv, one socket write). */
const BATCH_BYTES = 256 * 1024;

export interface UploadContext {
  readonly store: FileStore;
  readonly throttle: Throttle;
  readonly admission: UploadAdmission;
  readonly traffic: TrafficRecorder;
  readonly chunkSize: number;
  readonly log: Logger;
  /** Bytes read and written together; small when throttled so pacing stays smooth. */
  readonly batchBytes?: number;
  /** Called after a part went out whole. */
  readonly onUploaded?: (md5: string, part: number, remote: RemoteKey, bytes: number) => void;
  /** A part may wait for the reader this long at least (default 10 s)... */
  readonly stallFloorMs?: number;
  /** ...or as long as sending it at this rate takes, in bytes/s (default 16 KiB/s). */
  readonly minRate?: number;
}

export const DEFAULT_STALL_FLOOR_MS = 10_000;
export const DEFAULT_MIN_RATE = 16 * 1024;

/** How long one part of `length` bytes may wait for its reader in all. */
export function partDeadlineMs(length: number, floorMs = DEFAULT_STALL_FLOOR_MS, minRate = DEFAULT_MIN_RATE): number {
  return Math.max(floorMs, Math.ceil((length / minRate) * 1000));
}

export class UploadRefused extends Error {}

/** The reader took too long to take a part: the upload was cut and its slot released. */
export class UploadStalled extends RemoteError {
  constructor(message: string, readonly sent: number, readonly length: number) {
    super(ErrorCode.TIMEOUT, message);
  }
}

/**
 * Read handles kept open per shared file (opening one per request costs two
 * syscalls and a thread-pool round trip). A file that moved (partial -> final
 * name) gets a new handle; the old one is closed a little later, once the
 * reads in flight on it are surely done. Owned by one listener, which closes
 * it when it closes: no handle outlives the listener that opened it.
 */
export class ReadHandles {
  private readonly handles = new Map<string, { path: string; handle: Promise<FileHandle> }>();
  /** Handles replaced by a newer path, waiting for their delayed close. */
  private readonly retired = new Set<Promise<FileHandle>>();
  private closed = false;
  /** The send buffers the listener's uploads reuse. */
  readonly frames = new FramePool();

  get(md5: string, path: string): Promise<FileHandle> {
    if (this.closed) return Promise.reject(new Error('read handles closed (the listener is closing)'));
    const cached = this.handles.get(md5);
    if (cached && cached.path === path) return cached.handle;
    if (cached) {
      const old = cached.handle;
      this.retired.add(old);
      setTimeout(() => {
        if (this.retired.delete(old)) closeQuietly(old);
      }, 60_000).unref();
    }
    const handle = open(path, 'r');
    this.handles.set(md5, { path, handle });
    handle.catch(() => {
      if (this.handles.get(md5)?.handle === handle) this.handles.delete(md5);
    });
    return handle;
  }

  /** Closes every handle (FileHandle.close waits for reads in flight); later get() calls fail. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...[...this.handles.values()].map((h) => h.handle), ...this.retired];
    this.handles.clear();
    this.retired.clear();
    await Promise.all(all.map(closeQuietly));
  }
}

/** A handle that failed to open has nothing to close. */
function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  return handle.then((h) => h.close()).catch(() => undefined);
}

/**
 * Waits for the socket to take more bytes, at most `budgetMs`; resolves with
 * the time waited. Past the budget it destroys the socket and rejects with
 * `stalled()`.
 */
function waitDrain(socket: Socket, budgetMs: number, stalled: () => Error): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', closed);
    };
    const done = (): void => { finish(); resolve(performance.now() - started); };
    const closed = (): void => { finish(); reject(new Error('connection closed while sending')); };
    const timer = setTimeout(() => {
      finish();
      socket.destroy();
      reject(stalled());
    }, Math.max(0, budgetMs));
    socket.once('drain', done);
    socket.once('close', closed);
  });
}

/**
 * Serves one RETP, reading through `handles` (the listener's). Throws
 * UploadRefused (with the reason) when it must close without replying; the
 * caller logs and closes.
 */
export async function serveRetp(ctx: UploadContext, handles: ReadHandles, socket: Socket, msg: MessageOf<'RETP'>, remote: RemoteKey): Promise<void> {
  const file = ctx.store.get(msg.md5);
  if (!file) throw new UploadRefused(`unknown md5 ${msg.md5}`);
  if (msg.part >= file.parts || !hasPart(file.bitmap, msg.part)) throw new UploadRefused(`part ${msg.part} of ${msg.md5} is not held`);
  const release = await ctx.admission.admit(remote, { md5: msg.md5, part: msg.part });
  if (release === null) throw new UploadRefused(`${remote} is choked`);
  try {
    const offset = msg.part * file.partLength;
    const length = Math.min(file.partLength, file.fileLength - offset);
    const chunkSize = Math.max(1, Math.min(MAX_CHUNK, ctx.chunkSize));
    const chunks = Math.ceil(length / chunkSize);
    const fh = await handles.get(file.md5, file.path);
    const deadlineMs = partDeadlineMs(length, ctx.stallFloorMs, ctx.minRate);
    /** Time this part has waited for its reader so far. */
    let waited = 0;
    const head = Buffer.allocUnsafe(COMMAND_WIDTH + COUNT.width);
    head.write('AREP', 0, COMMAND_WIDTH, 'latin1');
    COUNT.write(chunks, head, COMMAND_WIDTH);
    // Every chunk but the last has the same length prefix: encoded once, copied per chunk.
    const fullPrefix = Buffer.allocUnsafe(CHUNK_LENGTH.width);
    CHUNK_LENGTH.write(chunkSize, fullPrefix, 0);
    // Batches count data bytes, so a default part (256 KiB) is one readv and one write.
    const perBatch = Math.max(1, Math.floor((ctx.batchBytes ?? BATCH_BYTES) / chunkSize));
    let sent = 0;
    let first = true;
    for (let c = 0; c < chunks; ) {
      const n = Math.min(perBatch, chunks - c);
      // One frame buffer per batch: [head?] (len data)*n; data read in place.
      const pre = first ? head.length : 0;
      let dataBytes = 0;
      for (let i = 0; i < n; i++) dataBytes += Math.min(chunkSize, length - (c + i) * chunkSize);
      const frame = handles.frames.take(pre + n * CHUNK_LENGTH.width + dataBytes);
      if (first) head.copy(frame, 0);
      const views: Buffer[] = [];
      let at = pre;
      for (let i = 0; i < n; i++) {
        const len = Math.min(chunkSize, length - (c + i) * chunkSize);
        if (len === chunkSize) fullPrefix.copy(frame, at);
        else CHUNK_LENGTH.write(len, frame, at);
        at += CHUNK_LENGTH.width;
        views.push(frame.subarray(at, at + len));
        at += len;
      }
      let got = 0;
      try {
        while (got < dataBytes) {
          // readv fills the data views in place, skipping the length prefixes.
          const remaining = afterBytes(views, got);
          const { bytesRead } = await fh.readv(remaining, offset + sent + got);
          if (bytesRead === 0) throw new Error(`file ${file.path} is shorter than expected (part ${msg.part})`);
          got += bytesRead;
        }
        // Paced per batch (one chunk per batch when a rate is set, so pacing stays smooth).
        await ctx.throttle.consume(dataBytes);
      } catch (err) {
        handles.frames.give(frame);
        throw err;
      }
      if (socket.destroyed) {
        handles.frames.give(frame);
        throw new Error('connection closed while sending');
      }
      ctx.traffic.uploaded(remote, dataBytes);
      // The frame goes back to the pool once the socket is done with it (written or failed).
      if (!socket.write(frame, () => handles.frames.give(frame))) {
        const at = sent;
        waited += await waitDrain(socket, deadlineMs - waited, () =>
          new UploadStalled(`the reader took no more than ${at} of ${length} bytes of part ${msg.part} within ${deadlineMs} ms`, at, length),
        );
      }
      sent += dataBytes;
      c += n;
      first = false;
    }
    ctx.onUploaded?.(msg.md5, msg.part, remote, length);
  } finally {
    release();
  }
}

