/**
 * Owners that misbehave: garbage, refusals, early closes, short and over-long
 * parts, silence. They cost retries, never a corrupt result.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { MessageReader, PEER_REQUESTS, TRACKER_REPLIES, encodeMessage } from '../../src/protocol/index.js';
import { exchange } from '../support/net.js';
import { Sandbox } from '../support/process.js';
import { md5OfFile, spawnPeer, testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.close();
  await sandbox.cleanup();
});

type Behaviour = (socket: Socket, part: number, length: number) => void;

/** A tiny uploader that answers RETP with `behaviours` in turn. */
async function rogue(host: string, behaviours: Behaviour[], partLength: number, fileLength: number): Promise<{ port: number; requests: number[] }> {
  const requests: number[] = [];
  let turn = 0;
  const server = createServer((socket) => {
    const reader = new MessageReader({ accept: PEER_REQUESTS });
    socket.on('error', () => undefined);
    socket.on('data', (c) => {
      for (const m of reader.push(c)) {
        if (m.command !== 'RETP') continue;
        requests.push(m.part);
        const length = Math.min(partLength, fileLength - m.part * partLength);
        (behaviours[turn++ % behaviours.length] as Behaviour)(socket, m.part, length);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { port: (server.address() as { port: number }).port, requests };
}

/** Logs the rogue in at the tracker and makes it a full owner of `md5`. */
async function register(trackerPort: number, ip4: string, port: number, file: { md5: string; fileLength: number; partLength: number }): Promise<void> {
  const login = await exchange('127.0.0.1', trackerPort, encodeMessage({ command: 'LOGI', address: { ip4, ip6: '::1' }, port }), { accept: TRACKER_REPLIES, localAddress: ip4 });
  assert.equal(login.message?.command, 'ALGI');
  const sessionId = (login.message as { sessionId: string }).sessionId;
  const added = await exchange(
    '127.0.0.1',
    trackerPort,
    encodeMessage({ command: 'ADDR', sessionId, fileLength: file.fileLength, partLength: file.partLength, fileName: 'rogue copy', md5: file.md5 }),
    { accept: TRACKER_REPLIES, localAddress: ip4 },
  );
  assert.equal(added.message?.command, 'AADR');
}

/** An AREP carrying `pieces`, each cut into 4096-byte chunks. */
function arep(pieces: Buffer[]): Buffer {
  const chunks: { data: Buffer }[] = [];
  for (const p of pieces) for (let i = 0; i < p.length; i += 4096) chunks.push({ data: p.subarray(i, i + 4096) });
  return encodeMessage({ command: 'AREP', chunks });
}

const BEHAVIOURS: Behaviour[] = [
  // Plain-text refusal, as some other implementations do.
  (s) => s.end('Sorry, I do not have that part\n'),
  // Close in the middle of a part.
  (s, _p, len) => {
    const whole = arep([randomBytes(len)]);
    s.end(whole.subarray(0, Math.floor(whole.length / 2)));
  },
  // A well-framed but short part.
  (s, _p, len) => s.end(arep([randomBytes(Math.max(1, len - 100))])),
  // An over-long part.
  (s, _p, len) => s.end(arep([randomBytes(len), randomBytes(500)])),
  // Binary garbage.
  (s) => s.end(randomBytes(3000)),
  // AREP000000.
  (s) => s.end(arep([])),
  // Silence (stall).
  () => undefined,
];

test('owners that send garbage, close mid-part, short or long parts, or stall do not corrupt the result', { timeout: 60_000 }, async () => {
  const tracker = await testTracker();
  try {
    const seedDir = sandbox.tempDir();
    const file = join(seedDir, 'target.bin');
    const partLength = 131072;
    const size = 3 * 1024 * 1024 + 999;
    writeRandomFile(file, size);
    const expected = await md5OfFile(file);
    const seeder = await spawnPeer(sandbox, tracker, 42, seedDir, ['--share', file, '--up-rate', '1MB', '--part-size', String(partLength)]);
    await seeder.proc.waitForEvent('shared');
    const bad = await rogue('127.0.0.43', BEHAVIOURS, partLength, size);
    await register(tracker.port, '127.0.0.43', bad.port, { md5: expected, fileLength: size, partLength });

    const leecher = await spawnPeer(sandbox, tracker, 44, sandbox.tempDir(), ['--get', expected, '--exit-when-done', '--stall-timeout', '1']);
    const complete = await leecher.proc.waitForEvent('complete', () => true, 50_000);
    assert.equal(await md5OfFile(complete['path'] as string), expected);
    assert.ok(bad.requests.length >= 3, `the rogue was asked ${bad.requests.length} times`);
    const parts = leecher.proc.stdoutLines.filter((e) => e['event'] === 'part');
    assert.equal(parts.length, 25);
    for (const p of parts) assert.equal(p['from'], `${seeder.ip4}:${seeder.port}`);
    assert.equal((await leecher.proc.exited).code, 0);
  } finally {
    await tracker.close();
  }
});

test('well-framed wrong bytes are caught by the md5 check: reported corrupt and kept apart', { timeout: 30_000 }, async () => {
  const tracker = await testTracker();
  try {
    const partLength = 65536;
    const size = 200_000;
    const md5 = createHash('md5').update(randomBytes(16)).digest('hex');
    const liar = await rogue('127.0.0.45', [(s, _p, len) => s.end(arep([randomBytes(len)]))], partLength, size);
    await register(tracker.port, '127.0.0.45', liar.port, { md5, fileLength: size, partLength });
    const dir = sandbox.tempDir();
    const leecher = await spawnPeer(sandbox, tracker, 46, dir, ['--get', md5, '--exit-when-done']);
    const error = await leecher.proc.waitForEvent('error', (e) => e['md5'] === md5);
    assert.equal(error['code'], 'BT_CORRUPT');
    assert.ok(!leecher.proc.stdoutLines.some((e) => e['event'] === 'complete'));
    assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('.')), [], 'nothing offered under the final name');
    assert.notEqual((await leecher.proc.exited).code, 0);
  } finally {
    await tracker.close();
  }
});
