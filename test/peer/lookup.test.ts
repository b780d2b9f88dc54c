/**
 * Finding a file by md5 whatever the number of files (LOOK by md5 prefix, with
 * a `*` fallback that says when the 999 cap may hide the file), a foreign ALOO
 * with a name that is not UTF-8, and the error a refused ADDR gives. Real
 * sockets: an in-process tracker, small fake trackers, bugtorrent peer processes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ErrorCode, RemoteError } from '../../src/errors.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { type Message, MAX_LIST_ENTRIES, MessageReader, TRACKER_REQUESTS, encodeMessage } from '../../src/protocol/index.js';
import { startTracker } from '../../src/tracker/index.js';
import { addr, call, callFor, logi, memoryLogger, until } from '../tracker/helpers.js';
import { md5OfFile, spawnPeer, writeRandomFile } from '../support/peer.js';
import { acceptingServer } from '../support/net.js';
import { Sandbox } from '../support/process.js';

const sandbox = new Sandbox();
const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.close();
  await sandbox.cleanup();
});

const randomMd5 = (): string => randomBytes(16).toString('hex');

/** A listener that accepts and closes: a registering session the tracker's liveness probes find alive. */
async function aliveListener(ip4: string): Promise<number> {
  const { server, port } = await acceptingServer(ip4);
  servers.push(server);
  return port;
}

/**
 * Registers files with ADDRs, one connection each (a tracker closes after its
 * reply), a few connections at a time; asserts every one was acknowledged.
 */
async function registerAll(port: number, requests: Buffer[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const reply = await call('127.0.0.1', port, requests[next++] as Buffer);
      assert.equal(reply.command, 'AADR');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

function client(port: number, ip4: string, selfPort = 5000, log: Logger = silentLogger()): TrackerClient {
  return new TrackerClient({ host: '127.0.0.1', port, self: { ip4, ip6: '::1' }, selfPort, local: { ip4 }, log });
}

/** A tracker that matches names only (as other implementations do): answers each LOOK with `answer(query)`, raw bytes. */
async function namesOnlyTracker(answer: (query: string) => Buffer): Promise<{ port: number; queries: string[] }> {
  const queries: string[] = [];
  const server = createServer((socket) => {
    const reader = new MessageReader({ accept: TRACKER_REQUESTS });
    socket.on('error', () => undefined);
    socket.on('data', (c) => {
      for (const m of reader.push(c)) {
        if (m.command === 'LOGI') socket.end(encodeMessage({ command: 'ALGI', sessionId: 'ABCDEF0123456789' }));
        else if (m.command === 'LOOK') {
          queries.push(m.query);
          socket.end(answer(m.query));
        } else socket.destroy();
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, queries };
}

const entry = (md5: string, fileName: string) => ({ md5, fileName, fileLength: 1000, partLength: 100 });
const aloo = (files: ReturnType<typeof entry>[]): Buffer => encodeMessage({ command: 'ALOO', files } as Message);

test('with 2000 files registered, `--get MD5` of the newest downloads it (LOOK * lists only the oldest 999)', { timeout: 90_000 }, async () => {
  const tracker = await startTracker({ host: '127.0.0.1', port: 0 });
  try {
    // 2000 older files from one session.
    const registrar = { ip4: '127.0.0.60', ip6: '::1' };
    const session = (await callFor('ALGI', '127.0.0.1', tracker.port, logi(registrar, await aliveListener(registrar.ip4)))).sessionId;
    const older = Array.from({ length: 2000 }, (_, i) => addr(session, randomMd5(), 1000 + i, 100, `older-${i}.bin`));
    await registerAll(tracker.port, older);

    const seedDir = sandbox.tempDir();
    const file = join(seedDir, 'newest.bin');
    writeRandomFile(file, 300 * 1024);
    const md5 = await md5OfFile(file);
    const seeder = await spawnPeer(sandbox, tracker, 61, seedDir, ['--share', file]);
    await seeder.proc.waitForEvent('shared');
    assert.equal(tracker.view.files().length, 2001);

    const all = await client(tracker.port, '127.0.0.62').look('*');
    assert.equal(all.length, MAX_LIST_ENTRIES);
    assert.ok(!all.some((f) => f.md5 === md5), 'the newest file is beyond the cap of LOOK *');

    const leecher = await spawnPeer(sandbox, tracker, 63, sandbox.tempDir(), ['--get', md5, '--exit-when-done']);
    const done = await leecher.proc.waitForEvent('complete', () => true, 60_000);
    assert.equal(await md5OfFile(done['path'] as string), md5);
    assert.equal((await leecher.proc.exited).code, 0);
  } finally {
    await tracker.close();
  }
});

test('our tracker answers a 20-hex-digit LOOK with the file of that md5 prefix, in either case', async () => {
  const tracker = await startTracker({ host: '127.0.0.1', port: 0 });
  try {
    const c = client(tracker.port, '127.0.0.64', await aliveListener('127.0.0.64'));
    const md5 = '42fb37ef70e86f6310e89c23b3755680';
    await c.addFile({ fileLength: 1000, partLength: 100, fileName: 'holiday.mp4', md5 });
    await c.addFile({ fileLength: 1000, partLength: 100, fileName: 'other.mp4', md5: '42fb37ef70e86f6310e80000000000ff' });
    assert.deepEqual((await c.look('42FB37EF70E86F6310E8')).map((f) => f.fileName), ['holiday.mp4', 'other.mp4']);
    assert.deepEqual((await c.look('42fb37ef70e86f6310e8')).length, 2);
    assert.deepEqual(await c.look('42fb37ef70e86f6310e9'), []);
    assert.equal((await c.findFile(md5))?.fileName, 'holiday.mp4');
    assert.equal(await c.findFile(randomMd5()), null);
    // With a full `*` list, our tracker (it matches prefixes) says plainly that it does not know the file: no cap error.
    const more = Array.from({ length: MAX_LIST_ENTRIES }, (_, i) => addr(c.sessionId as string, randomMd5(), 10, 1, `f${i}`));
    await registerAll(tracker.port, more);
    assert.equal((await c.look('*')).length, MAX_LIST_ENTRIES);
    assert.equal(await c.findFile(randomMd5()), null);
  } finally {
    await tracker.close();
  }
});

test('against a tracker that matches names only: the `*` fallback finds the file, or says plainly that the full list may hide it', async () => {
  const target = randomMd5();
  const many = Array.from({ length: MAX_LIST_ENTRIES }, (_, i) => entry(randomMd5(), `file-${i}`));
  const full = await namesOnlyTracker((q) => aloo(q === '*' ? many : []));
  const c = client(full.port, '127.0.0.65');
  await assert.rejects(c.findFile(target), (err: unknown) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, ErrorCode.LIST_FULL);
    assert.match(err.message, new RegExp(`md5 ${target} is not in the tracker's list, but the list is full \\(999 files`));
    assert.match(err.message, /hidden by the cap/);
    return true;
  });
  assert.deepEqual(
    full.queries,
    [target.slice(0, 20), '*', many[0]!.md5.slice(0, 20)],
    'the md5 prefix first, then *, then the prefix of a listed file (which a names-only tracker does not find)',
  );

  const few = await namesOnlyTracker((q) => aloo(q === '*' ? [entry(randomMd5(), 'a'), entry(target, 'wanted.bin')] : []));
  assert.equal((await client(few.port, '127.0.0.65').findFile(target))?.fileName, 'wanted.bin');
  const none = await namesOnlyTracker((q) => aloo(q === '*' ? [entry(randomMd5(), 'a')] : []));
  assert.equal(await client(none.port, '127.0.0.65').findFile(target), null, 'a list that is not full does not hide anything');
});

test('a foreign ALOO with a name that is not UTF-8: every entry is listed, that name with U+FFFD, and the repair is logged', async () => {
  const good = randomMd5();
  const bad = randomMd5();
  // Exact bytes: the second name is 'café.txt' in Latin-1 (é = e9), as another tracker might store it.
  const reply = Buffer.concat([
    Buffer.from(`ALOO002${good}${'song.mp3'.padEnd(100)}0000001000000100`, 'latin1'),
    Buffer.from(bad, 'latin1'), Buffer.from('caf', 'latin1'), Buffer.from([0xe9]), Buffer.from('.txt'.padEnd(96) + '0000000010000004', 'latin1'),
  ]);
  const tracker = await namesOnlyTracker(() => reply);
  const { logger, lines } = memoryLogger();
  const c = client(tracker.port, '127.0.0.66', 5000, logger);
  assert.deepEqual(await c.look('*'), [
    { md5: good, fileName: 'song.mp3', fileLength: 1000, partLength: 100, parts: 10 },
    { md5: bad, fileName: 'caf\uFFFD.txt', fileLength: 10, partLength: 4, parts: 3 },
  ]);
  const warned = lines.find((l) => l['msg'] === 'tracker listed a name that is not valid UTF-8; shown with U+FFFD');
  assert.equal(warned?.['field'], 'ALOO.files[1].fileName');
  // A lookup by md5 through that reply works for both files.
  assert.equal((await c.findFile(good))?.fileName, 'song.mp3');
  assert.equal((await c.findFile(bad))?.fileLength, 10);
});

test('an ADDR the tracker refuses (md5 known with another LenPart) is BT_ADD_REFUSED naming that reason; the tracker logs why', { timeout: 30_000 }, async () => {
  const { logger, lines } = memoryLogger();
  const tracker = await startTracker({ host: '127.0.0.1', port: 0, logger });
  try {
    const md5 = randomMd5();
    await client(tracker.port, '127.0.0.67', await aliveListener('127.0.0.67')).addFile({ fileLength: 1000, partLength: 100, fileName: 'a.bin', md5 });
    const other = client(tracker.port, '127.0.0.68', await aliveListener('127.0.0.68'));
    await assert.rejects(other.addFile({ fileLength: 1000, partLength: 200, fileName: 'a.bin', md5 }), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.code, ErrorCode.ADD_REFUSED);
      assert.match(err.message, new RegExp(`md5 ${md5}, LenFile 1000, LenPart 200`));
      assert.match(err.message, /already knows this md5 with another LenFile or LenPart/);
      return true;
    });
    const refused = lines.filter((l) => l['msg'] === 'request refused, connection closed' && l['command'] === 'ADDR');
    assert.ok(refused.length >= 1);
    assert.equal(refused[0]?.['code'], ErrorCode.FILE_MISMATCH);
    assert.match(String(refused[0]?.['reason']), /LenFile 1000 \/ LenPart 200 contradict the stored 1000 \/ 100/);

    // The peer process says so too when --share meets such a file.
    const dir = sandbox.tempDir();
    const path = join(dir, 'clash.bin');
    writeRandomFile(path, 5000);
    const clash = await md5OfFile(path);
    await other.addFile({ fileLength: 5000, partLength: 1000, fileName: 'clash.bin', md5: clash });
    const peer = await spawnPeer(sandbox, tracker, 69, dir, ['--share', path]);
    const error = await peer.proc.waitForEvent('error');
    assert.equal(error['code'], ErrorCode.ADD_REFUSED);
  } finally {
    await tracker.close();
  }
});

test('refresh() is an idempotent LOGI: same session, lastSeen moves; a tracker that forgot us is reported as changed', async () => {
  let clock = 1_000;
  const tracker = await startTracker({ host: '127.0.0.1', port: 0, now: () => clock, liveness: false });
  try {
    const c = client(tracker.port, '127.0.0.70', 5000);
    const first = await c.login();
    clock = 2_000;
    assert.deepEqual(await c.refresh(), { sessionId: first, changed: false });
    assert.equal(tracker.view.peers()[0]?.lastSeen, 2_000);
  } finally {
    await tracker.close();
  }
  // A tracker that dropped us as dead (nothing listens on our port 9): the session that comes back is another.
  const dropping = await startTracker({ host: '127.0.0.1', port: 0, liveness: { idleMs: 100, failures: 1, spacingMs: 100, probeTimeoutMs: 500 } });
  try {
    const c = client(dropping.port, '127.0.0.70', 9);
    const first = await c.login();
    await until(() => dropping.view.peers().length === 0, 'the tracker drops the unreachable session');
    const result = await c.refresh();
    assert.equal(result.changed, true);
    assert.notEqual(result.sessionId, first);
  } finally {
    await dropping.close();
  }
});
