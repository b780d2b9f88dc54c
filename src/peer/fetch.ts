/**
 * Fetching one part from one owner: connect (bound to our address), RETP, read
 * the AREP into one part buffer (PartReceiver), check the total length. Anything else (refusal,
 * early close, short or over-long part, garbage, silence) rejects with a typed
 * error and the downloader tries elsewhere.
 *
 * One connection per part: servers close after their reply (PROTOCOL.md,
 * Framing), so a connection is never reused.
 */
import type { Socket } from 'node:net';
import { ErrorCode, type ErrorCodeValue, RemoteError } from '../errors.js';
import { PartReceiver, encodeMessage, formatHostPort } from '../protocol/index.js';
import { type RemoteKey, type Throttle, UNLIMITED, remoteKey, type TrafficRecorder } from './bandwidth.js';
import { type LocalAddresses, openConnection } from './connect.js';

export interface FetchRequest {
  readonly host: string;
  readonly port: number;
  readonly md5: string;
  readonly part: number;
  readonly length: number;
  /**
   * Where to put the part (at least `length` bytes; the caller must not touch it
   * until `done` settles, and owns it again after). Absent: one is allocated.
   */
  readonly buffer?: Buffer;
  readonly local: LocalAddresses;
  /** No byte for this long: the owner stalled. */
  readonly stallMs: number;
  readonly connectTimeoutMs: number;
  readonly traffic: TrafficRecorder;
  /** Paces received bytes (the socket is paused while it waits); UNLIMITED when absent. */
  readonly throttle?: Throttle;
}

export interface FetchHandle {
  readonly done: Promise<Buffer[]>;
  cancel(): void;
}

class FetchFailure extends RemoteError {
  constructor(code: ErrorCodeValue, message: string, readonly choked = false) {
    super(code, message);
  }
}

/**
 * The protocol has no choke message: an uploader with no place for us closes
 * the connection at once without a byte (ours do; others answer nothing for a
 * part they cannot give). An orderly close with zero bytes after our RETP is
 * read as "choked by that owner", not as a fault: the downloader asks again soon.
 */

/** True when `err` is a fetch that the owner closed unanswered after holding it: it choked us. */
export function isChoked(err: unknown): boolean {
  return err instanceof FetchFailure && err.choked;
}

/**
 * Where every fetch's socket reads land: one buffer for the process, reused.
 * A read is copied into its part buffer (PartReceiver) before the next read
 * of any socket, so one is enough; without it each read allocated (and
 * zero-filled, and page-faulted in) a fresh 64 KiB buffer for the GC to free.
 */
const RECEIVE = Buffer.allocUnsafe(256 << 10);

export function fetchPart(req: FetchRequest): FetchHandle {
  let current: Socket | null = null;
  let cancelled = false;
  const where = formatHostPort(req.host, req.port);

  const attempt = async (): Promise<Buffer[]> => {
    // The AREP goes straight into one part-sized buffer (protocol/part.ts).
    const receiver = new PartReceiver(req.length, req.buffer);
    // Called with each read (a view of RECEIVE, valid during the call only); false pauses the socket.
    let onBytes: (chunk: Buffer) => boolean = () => true;
    const s = await openConnection(req.host, req.port, req.local, req.connectTimeoutMs, {
      buffer: RECEIVE,
      callback: (n, buffer) => onBytes((buffer as Buffer).subarray(0, n)),
    });
    current = s;
    if (cancelled) {
      s.destroy();
      throw new RemoteError(ErrorCode.CONNECTION, 'cancelled');
    }
    const remote: RemoteKey = remoteKey(s.remoteAddress);
    // Worst case framing is 1-byte chunks (6 bytes each); more than that is flooding.
    const cap = 64 + req.length * 6;
    return new Promise<Buffer[]>((resolve, reject) => {
      let received = 0;
      let settled = false;
      let sentAt = 0;
      const cleanup = (): void => {
        onBytes = () => false;
        s.removeListener('error', onError);
        s.removeListener('close', onClose);
        s.setTimeout(0);
      };
      const fail = (code: ErrorCodeValue, message: string): void => {
        if (settled) return;
        settled = true;
        cleanup();
        s.destroy();
        const choked = received === 0 && sentAt > 0 && !cancelled && code === ErrorCode.NO_REPLY;
        if (choked) req.traffic.refusedBy(remote);
        reject(new FetchFailure(code, `${where} part ${req.part}: ${choked ? 'choked (closed unanswered)' : message}`, choked));
      };
      onBytes = (chunk: Buffer): boolean => {
        if (settled) return false;
        received += chunk.length;
        req.traffic.downloaded(remote, chunk.length);
        if (received > cap) {
          fail(ErrorCode.BUFFER_LIMIT, `sent ${received} bytes for a ${req.length}-byte part`);
          return false;
        }
        let complete: boolean;
        try {
          complete = receiver.feed(chunk);
        } catch (err) {
          fail(ErrorCode.NO_REPLY, `bad reply: ${(err as Error).message}`);
          return false;
        }
        if (!complete) {
          if (req.throttle && req.throttle !== UNLIMITED) {
            req.throttle.consume(chunk.length).then(() => { if (!settled) s.resume(); }, () => undefined);
            return false;
          }
          return true;
        }
        settled = true;
        cleanup();
        // The last read counts against --down-rate too (the next transfer waits for it).
        if (req.throttle && req.throttle !== UNLIMITED) void req.throttle.consume(chunk.length).catch(() => undefined);
        s.destroy();
        resolve([receiver.part]);
        return false;
      };
      const onError = (err: Error): void => fail(ErrorCode.CONNECTION, err.message);
      const onClose = (): void => fail(ErrorCode.NO_REPLY, `closed after ${received} bytes without a whole part`);
      s.setTimeout(req.stallMs, () => fail(ErrorCode.TIMEOUT, `stalled for ${req.stallMs} ms (${received} bytes received)`));
      s.on('error', onError);
      s.on('close', onClose);
      if (cancelled) return fail(ErrorCode.CONNECTION, 'cancelled');
      sentAt = performance.now();
      s.write(encodeMessage({ command: 'RETP', md5: req.md5, part: req.part }));
    });
  };

  const done = attempt();
  return {
    done,
    cancel() {
      cancelled = true;
      (current as Socket | null)?.destroy();
    },
  };
}
