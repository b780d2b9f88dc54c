/** Helpers for tracker tests: encode requests, talk to a tracker, collect its logs. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import {
  type DecodeContext,
  type Message,
  type MessageOf,
  MessageReader,
  type PeerAddress,
  TRACKER_REPLIES,
  encodeMessage,
} from '../../src/protocol/index.js';
import { type ExchangeResult, exchange } from '../support/net.js';

/** Loopback in both families: every socket test runs against each. */
export const HOSTS = ['127.0.0.1', '::1'] as const;

export const enc = (m: Message): Buffer => encodeMessage(m);

/** A distinct peer address per index (127.0.x.y / fd99::x). */
export function peer(i: number): PeerAddress {
  return { ip4: `127.0.${(i >> 8) & 255}.${i & 255}`, ip6: `fd99::${(i + 1).toString(16)}` };
}

export function md5Of(i: number): string {
  return i.toString(16).padStart(32, '0');
}

export const logi = (address: PeerAddress, port = 5000): Buffer => enc({ command: 'LOGI', address, port });
export const addr = (sessionId: string, md5: string, fileLength: number, partLength: number, fileName: string): Buffer =>
  enc({ command: 'ADDR', sessionId, fileLength, partLength, fileName, md5 });
export const look = (sessionId: string, query: string): Buffer => enc({ command: 'LOOK', sessionId, query });
export const fchu = (sessionId: string, md5: string): Buffer => enc({ command: 'FCHU', sessionId, md5 });
export const rpad = (sessionId: string, md5: string, part: number): Buffer => enc({ command: 'RPAD', sessionId, md5, part });
export const logo = (sessionId: string): Buffer => enc({ command: 'LOGO', sessionId });

/** One request on its own connection; asserts a reply came and returns it. */
export async function call(host: string, port: number, request: Buffer | Buffer[], context: DecodeContext = {}): Promise<Message> {
  const result = await exchange(host, port, request, { accept: TRACKER_REPLIES, context });
  assert.ok(result.message, `no reply (server closed: ${result.closedByServer}, ${result.raw.length} bytes)`);
  return result.message;
}

/** Typed shorthand: the reply must be `command`. */
export async function callFor<C extends (typeof TRACKER_REPLIES)[number]>(
  command: C,
  host: string,
  port: number,
  request: Buffer | Buffer[],
  context: DecodeContext = {},
): Promise<MessageOf<C>> {
  const m = await call(host, port, request, context);
  assert.equal(m.command, command);
  return m as unknown as MessageOf<C>;
}

export async function login(host: string, port: number, address: PeerAddress, p = 5000): Promise<string> {
  return (await callFor('ALGI', host, port, logi(address, p))).sessionId;
}

/** Sends raw bytes and asserts the server closed without sending anything. */
export async function expectClosed(host: string, port: number, request: Buffer | Buffer[]): Promise<ExchangeResult> {
  let result: ExchangeResult;
  try {
    result = await exchange(host, port, request, { timeoutMs: 10_000 });
  } catch (err) {
    // A close while our bytes are unread arrives as a reset: closed, and nothing was received before it.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE') throw err;
    result = { raw: Buffer.alloc(0), closedByServer: true };
  }
  assert.equal(result.closedByServer, true, 'server should close the connection');
  assert.equal(result.raw.length, 0, `server should not reply, got ${JSON.stringify(result.raw.toString('latin1'))}`);
  return result;
}

/**
 * One connection: writes `bytes` (one write, or one byte per write when
 * `byteByByte`), reads `count` replies. `contexts[i]` decodes reply i.
 */
export function pipeline(
  host: string,
  port: number,
  bytes: Buffer,
  count: number,
  context: (index: number) => DecodeContext = () => ({}),
): Promise<Message[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const out: Message[] = [];
    let started = 0;
    // The context is asked for when a reply's command arrives: count replies started, not finished.
    const reader = new MessageReader({ accept: TRACKER_REPLIES, context: () => context(started++), maxBuffered: 1 << 26 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`pipeline: ${out.length} of ${count} replies before the timeout`));
    }, 30_000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => {
      try {
        for (const m of reader.push(chunk)) out.push(m);
      } catch (err) {
        clearTimeout(timer);
        socket.destroy();
        reject(err as Error);
        return;
      }
      if (out.length >= count) {
        clearTimeout(timer);
        socket.end();
        resolve(out);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (out.length < count) reject(new Error(`pipeline: connection closed after ${out.length} of ${count} replies`));
    });
  });
}

/**
 * Many requests, pipelined in batches of one connection each: the tracker
 * closes once every request it has received is answered, so one huge write that
 * reaches it in several pieces could be cut between them (PROTOCOL.md, Framing).
 * A batch of `batch` requests stays well under one loopback segment.
 */
export async function pipelineAll(host: string, port: number, requests: Buffer[], batch = 100): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < requests.length; i += batch) {
    const part = requests.slice(i, i + batch);
    out.push(...(await pipeline(host, port, Buffer.concat(part), part.length)));
  }
  return out;
}

/** A JSON logger whose lines are kept in memory. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ destination, format: 'json', level: 'debug' }), lines };
}

/** Polls `predicate` until true (no timing assertions: it only bounds the wait). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
