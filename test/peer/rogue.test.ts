/**
 * Owners that misbehave: garbage, refusals, early closes, short and over-long
 * parts, silence. One rogue owner per behaviour, so every behaviour is met in
 * every run: each costs a retry elsewhere (a fault logged against that owner),
 * never a corrupt result.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { MessageReader, PEER_REQUESTS, encodeMessage } from '../../src/protocol/index.js';
import { Sandbox } from '../support/process.js';
import { md5OfFile, registerOwner, spawnPeer, testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
const servers: Server[] = [];
const sockets = new Set<Socket>();
after(async () => {
  await sandbox.cleanup();
  // The silent rogue holds its sockets forever: destroy them, then wait for every server to close.
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

type Behaviour = (socket: Socket, part: number, length: number) => void;

/** A tiny uploader that answers RETP with `behaviours` in turn. */
async function rogue(host: string, behaviours: Behaviour[], partLength: number, fileLength: number): Promise<{ port: number; requests: number[] }> {
  const requests: number[] = [];
  let turn = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
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

/** An AREP carrying `pieces`, each cut into 4096-byte chunks. */
function arep(pieces: Buffer[]): Buffer {
  const chunks: { data: Buffer }[] = [];
  for (const p of pieces) for (let i = 0; i < p.length; i += 4096) chunks.push({ data: p.subarray(i, i + 4096) });
  return encodeMessage({ command: 'AREP', chunks });
}

/** One rogue owner for each way to misbehave, with what the leecher's log says of it. */
const BEHAVIOURS: { name: string; act: Behaviour; err: RegExp }[] = [
  // Plain-text refusal, as some other implementations do.
  { name: 'sorry', act: (s) => s.end('Sorry, I do not have that part\n'), err: /bad reply/ },
  // Close in the middle of a part.
  {
    name: 'mid-part close',
    act: (s, _p, len) => {
      const whole = arep([randomBytes(len)]);
      s.end(whole.subarray(0, Math.floor(whole.length / 2)));
    },
    err: /closed after \d+ bytes without a whole part/,
  },
  // A well-framed but short part.
  { name: 'short', act: (s, _p, len) => s.end(arep([randomBytes(Math.max(1, len - 100))])), err: /./ },
  // An over-long part.
  { name: 'long', act: (s, _p, len) => s.end(arep([randomBytes(len), randomBytes(500)])), err: /./ },
  // Binary garbage.
  { name: 'garbage', act: (s) => s.end(randomBytes(3000)), err: /./ },
  // AREP000000: an answer with no chunk at all.
  { name: 'AREP000000', act: (s) => s.end(arep([])), err: /./ },
  // Silence: the stall timeout ends it.
  { name: 'silence', act: () => undefined, err: /stalled for 1000 ms/ },
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
    const rogues = await Promise.all(
      BEHAVIOURS.map(async (b, i) => {
        const ip4 = `127.0.0.${50 + i}`;
        const r = await rogue(ip4, [b.act], partLength, size);
        await registerOwner(tracker.port, ip4, r.port, { md5: expected, fileLength: size, partLength, fileName: 'rogue copy' });
        return { ...b, ip4, ...r };
      }),
    );

    const leecher = await spawnPeer(sandbox, tracker, 44, sandbox.tempDir(), ['--get', expected, '--exit-when-done', '--stall-timeout', '1']);
    const complete = await leecher.proc.waitForEvent('complete', () => true, 120_000);
    assert.equal(await md5OfFile(complete['path'] as string), expected);
    const faults = leecher.proc.stderrLines.filter((l) => l['msg'] === 'part fetch failed; retrying elsewhere');
    for (const r of rogues) {
      assert.ok(r.requests.length >= 1, `the ${r.name} owner was asked`);
      const its = faults.filter((l) => l['owner'] === `${r.ip4}:${r.port}`);
      assert.ok(its.length >= 1, `a fault was logged against the ${r.name} owner`);
      assert.match(its[0]!['err'] as string, r.err, `the ${r.name} owner's fault says why`);
    }
    const parts = leecher.proc.stdoutLines.filter((e) => e['event'] === 'part');
    assert.equal(parts.length, 25);
    for (const p of parts) assert.equal(p['from'], `${seeder.ip4}:${seeder.port}`, 'every part came from the honest seed');
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
    await registerOwner(tracker.port, '127.0.0.45', liar.port, { md5, fileLength: size, partLength, fileName: 'rogue copy' });
    const dir = sandbox.tempDir();
    const leecher = await spawnPeer(sandbox, tracker, 46, dir, ['--get', md5, '--exit-when-done']);
    const error = await leecher.proc.waitForEvent('error', (e) => e['md5'] === md5);
    assert.equal(error['code'], 'BT_CORRUPT');
    assert.ok(!leecher.proc.stdoutLines.some((e) => e['event'] === 'complete'));
    assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('.')), [], 'nothing offered under the final name');
    assert.ok(readdirSync(dir).includes(`.${md5}.corrupt`), 'the bytes are kept apart as .<md5>.corrupt');
    assert.notEqual((await leecher.proc.exited).code, 0);
  } finally {
    await tracker.close();
  }
});
