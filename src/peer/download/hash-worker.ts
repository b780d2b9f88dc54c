/**
 * The part thread of one download (started by hashing.ts): writes each part
 * taken in to the partial file, then takes its sha256 and feeds the whole
 * file's md5 in order, from the bytes just received or read back from the
 * partial file. Jobs run in the order posted, which is what keeps the md5 in
 * order. Only `store` and `digest` are answered; a read that fails is reported
 * by the next `digest`.
 *
 * Why the write is here and not on the main thread's fs calls: a part's bytes
 * already come here to be hashed, so one hand-off per part does both. Through
 * fs/promises each part also woke a thread-pool thread and settled a promise
 * chain on the main thread; on two busy cores those wake-ups cost the main
 * thread its core (bench:transfer).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { HashJob, HashReply } from './hashing.js';

const port = parentPort;
if (!port) throw new Error('hash-worker.js runs as a worker thread (see hashing.ts)');

/** Bytes per read when hashing back from the file. */
const BLOCK = 4 << 20;
let md5 = createHash('md5');
let failure: string | null = null;
let file: { path: string; fd: number } | null = null;
let block: Buffer | null = null;

/** The partial file, open for reading and writing (one descriptor for both). */
function fdOf(path: string): number {
  if (file?.path !== path) {
    if (file) closeSync(file.fd);
    file = null; // an open that throws leaves no closed descriptor behind
    file = { path, fd: openSync(path, 'r+') };
  }
  return file.fd;
}

function hashRange(path: string, start: number, end: number): void {
  const fd = fdOf(path);
  block ??= Buffer.allocUnsafe(BLOCK);
  for (let at = start; at < end; ) {
    const n = readSync(fd, block, 0, Math.min(BLOCK, end - at), at);
    if (n === 0) throw new Error(`${path} is shorter than expected (${at} of ${end} bytes)`);
    md5.update(block.subarray(0, n));
    at += n;
  }
}

port.on('message', (job: HashJob) => {
  let reply: HashReply | null = null;
  switch (job.op) {
    case 'store': {
      try {
        const fd = fdOf(job.path);
        for (let written = 0; written < job.bytes.length; ) {
          written += writeSync(fd, job.bytes, written, job.bytes.length - written, job.position + written);
        }
      } catch (err) {
        // Not written: not hashed either (the caller starts the md5 over).
        reply = { id: job.id, error: (err as Error).message, code: (err as NodeJS.ErrnoException).code, write: true };
        break;
      }
      if (job.md5) md5.update(job.bytes);
      reply = { id: job.id, sha256: createHash('sha256').update(job.bytes).digest('hex') };
      break;
    }
    case 'range':
      if (failure === null) {
        try {
          hashRange(job.path, job.start, job.end);
        } catch (err) {
          failure = (err as Error).message;
        }
      }
      break;
    case 'reset':
      md5 = createHash('md5');
      failure = null;
      break;
    case 'digest':
      reply = failure !== null
        ? { id: job.id, error: failure }
        : { id: job.id, digests: [md5.copy().digest('hex'), ...job.suffixes.map((s) => md5.copy().update(s).digest('hex'))] };
      break;
  }
  if (reply) port.postMessage(reply);
});
