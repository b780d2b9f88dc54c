/** Hostile clients for tests over loopback: connection floods and slow senders. Every loop is bounded. */
import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';

/** The soft limit on open files of this process (Infinity where /proc is missing). */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s+/)[3];
    return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return Infinity;
  }
}

export interface FloodOptions {
  readonly host: string;
  readonly port: number;
  /** Source addresses, used in turn. */
  readonly from: readonly string[];
  /** Connections held open at once (each closed one is opened again). */
  readonly connections: number;
  /** Connections opened at most in all: the flood stops by itself. */
  readonly maxOpened: number;
  /** Bytes written on each connection once connected (e.g. half a request); none: idle. */
  readonly bytes?: Buffer;
}

export interface Flood {
  /** Connections opened so far, and closed by the server. */
  readonly stats: { opened: number; closed: number; open: number };
  /** Stops reopening and destroys every connection. */
  stop(): Promise<void>;
}

/** Opens `connections` connections and keeps them open, reopening each one the server closes, up to `maxOpened`. */
export function flood(o: FloodOptions): Flood {
  const sockets = new Set<Socket>();
  const stats = { opened: 0, closed: 0, open: 0 };
  let stopped = false;
  let next = 0;
  const one = (): void => {
    if (stopped || stats.opened >= o.maxOpened) return;
    stats.opened++;
    const localAddress = o.from[next++ % o.from.length];
    const s = connect({ host: o.host, port: o.port, localAddress });
    sockets.add(s);
    s.on('connect', () => {
      stats.open++;
      if (o.bytes) s.write(o.bytes);
    });
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      if (stopped) return;
      stats.closed++;
      stats.open--;
      // Reconnect at once, as an attacker would (on the next turn, so that closes do not recurse).
      setImmediate(one);
    });
  };
  for (let i = 0; i < o.connections; i++) one();
  return {
    stats,
    async stop() {
      stopped = true;
      const closing = [...sockets].map((s) => new Promise<void>((resolve) => {
        if (s.destroyed) resolve();
        else s.once('close', () => resolve());
        s.destroy();
      }));
      await Promise.all(closing);
    },
  };
}

/** Connects and writes `bytes` one byte every `everyMs`; resolves, once the server closes, with how many were written by then. */
export function dribble(host: string, port: number, bytes: Buffer, everyMs: number, localAddress?: string): Promise<{ written: number }> {
  return new Promise((resolve) => {
    const s = connect({ host, port, localAddress });
    let written = 0;
    let timer: NodeJS.Timeout | undefined;
    s.on('error', () => undefined);
    s.on('connect', () => {
      const step = (): void => {
        if (s.destroyed) return;
        if (written >= bytes.length) return;
        s.write(bytes.subarray(written, written + 1));
        written++;
        timer = setTimeout(step, everyMs);
      };
      step();
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ written });
    });
  });
}

/**
 * Reads everything until the server closes, as clients that read until the
 * close do. Rejects if no close comes within `boundMs` (set it far below the
 * server's idle timeout, so a reply that waits for that timeout fails).
 */
export function readUntilClose(host: string, port: number, request: Buffer, boundMs: number, localAddress?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${boundMs} ms (${Buffer.concat(chunks).length} bytes received)`));
    }, boundMs);
    s.on('connect', () => s.write(request));
    s.on('data', (c) => chunks.push(c));
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
  });
}
