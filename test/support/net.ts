/** Small socket helpers for tests that talk the wire protocol by hand. */
import { type AddressInfo, type Server, connect, createServer } from 'node:net';
import { type Command, type DecodeContext, type Message, MessageReader } from '../../src/protocol/index.js';

export interface ExchangeResult {
  /** The first complete reply, if one came. */
  message?: Message;
  /** Every byte received. */
  raw: Buffer;
  /** True when the server closed the connection (with or without a reply). */
  closedByServer: boolean;
}

/**
 * Connects, writes `request` (one buffer, or several writes with a pause between
 * them to test splitting), and waits for one reply of the `accept` commands, or
 * for the server to close. Then closes its side. With `end`, half-closes once
 * the request is written, so a server waiting for more bytes ends the
 * connection at once instead of at its idle timeout.
 */
export function exchange(
  host: string,
  port: number,
  request: Buffer | Buffer[],
  options: { accept?: readonly Command[]; context?: DecodeContext; timeoutMs?: number; localAddress?: string; end?: boolean } = {},
): Promise<ExchangeResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress: options.localAddress });
    const chunks: Buffer[] = [];
    const reader = options.accept ? new MessageReader({ accept: options.accept, context: () => options.context ?? {} }) : null;
    let done = false;
    const finish = (result: ExchangeResult | Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(
      () => finish(new Error(`no reply or close from ${host}:${port} within ${options.timeoutMs ?? 5000} ms`)),
      options.timeoutMs ?? 5000,
    );
    socket.on('connect', async () => {
      const parts = Array.isArray(request) ? request : [request];
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        if (parts.length > 1) await new Promise((r) => setTimeout(r, 2));
      }
      if (options.end && !socket.destroyed) socket.end();
    });
    socket.on('data', (c) => {
      chunks.push(c);
      if (!reader) return;
      try {
        const [message] = reader.push(c);
        if (message) finish({ message, raw: Buffer.concat(chunks), closedByServer: false });
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish({ raw: Buffer.concat(chunks), closedByServer: true }));
  });
}

/**
 * A listener on `host` that accepts and at once closes every connection: the
 * port of a live peer as the tracker's liveness probes see it. Close it when done.
 */
export async function acceptingServer(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
