/**
 * Scripted uploaders for trust tests and benchmarks: a small TCP server that
 * answers each RETP with a well-formed AREP of the right length, carrying the
 * true bytes of the file or wrong ones, as its script says; and its login at
 * the tracker as a full owner (ADDR) or as the holder of some parts (RPAD).
 */
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:net';
import { MessageReader, PEER_REQUESTS, TRACKER_REPLIES, encodeMessage } from '../../src/protocol/index.js';
import { exchange } from './net.js';

export interface Liar {
  readonly host: string;
  readonly port: number;
  readonly key: string;
  /** Parts asked for, in order. */
  readonly requests: number[];
  /** Parts answered with wrong bytes. */
  readonly lied: number[];
  close(): Promise<void>;
}

/** Wrong bytes of the right length: the true part with every byte flipped (the same for every liar: colluders agree). */
export function wrongBytes(part: Buffer): Buffer {
  const out = Buffer.allocUnsafe(part.length);
  for (let i = 0; i < part.length; i++) out[i] = part[i]! ^ 0xa5;
  return out;
}

/** An AREP carrying `data` in 4096-byte chunks. */
export function arep(data: Buffer): Buffer {
  const chunks: { data: Buffer }[] = [];
  for (let i = 0; i < data.length; i += 4096) chunks.push({ data: data.subarray(i, i + 4096) });
  return encodeMessage({ command: 'AREP', chunks });
}

/**
 * Serves `content` cut in `partLength` parts; `lies(part, n)` (n: the how-many-th
 * request this is, from 0) says whether to send wrong bytes. Closes after each reply.
 */
export async function startLiar(host: string, content: Buffer, partLength: number, lies: (part: number, n: number) => boolean): Promise<Liar> {
  const requests: number[] = [];
  const lied: number[] = [];
  const server: Server = createServer((socket) => {
    const reader = new MessageReader({ accept: PEER_REQUESTS });
    socket.on('error', () => undefined);
    socket.on('data', (c) => {
      let messages;
      try {
        messages = reader.push(c);
      } catch {
        socket.destroy();
        return;
      }
      for (const m of messages) {
        if (m.command !== 'RETP') continue;
        const n = requests.length;
        requests.push(m.part);
        const part = content.subarray(m.part * partLength, Math.min(content.length, (m.part + 1) * partLength));
        const lie = lies(m.part, n);
        if (lie) lied.push(m.part);
        socket.end(arep(lie ? wrongBytes(part) : part));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host,
    port,
    key: `${host}:${port}`,
    requests,
    lied,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Logs `liar` in at the tracker and makes it an owner of `file`: of every part
 * (ADDR, as the sharer would), or only of `parts` (RPAD each).
 */
export async function register(trackerPort: number, liar: Liar, file: { md5: string; fileLength: number; partLength: number }, parts?: readonly number[]): Promise<void> {
  const ask = (message: Parameters<typeof encodeMessage>[0]) => exchange('127.0.0.1', trackerPort, encodeMessage(message), { accept: TRACKER_REPLIES, localAddress: liar.host });
  const login = await ask({ command: 'LOGI', address: { ip4: liar.host, ip6: '::1' }, port: liar.port });
  assert.equal(login.message?.command, 'ALGI');
  const sessionId = (login.message as { sessionId: string }).sessionId;
  if (!parts) {
    const added = await ask({ command: 'ADDR', sessionId, fileLength: file.fileLength, partLength: file.partLength, fileName: 'a copy', md5: file.md5 });
    assert.equal(added.message?.command, 'AADR');
    return;
  }
  for (const part of parts) {
    const r = await ask({ command: 'RPAD', sessionId, md5: file.md5, part });
    assert.equal(r.message?.command, 'APAD');
  }
}
