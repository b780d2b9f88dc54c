/** The tracker client against a tracker that closes without a reply, or never answers. */
import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { after, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { RemoteError } from '../../src/errors.js';
import { MessageReader, TRACKER_REQUESTS, encodeMessage } from '../../src/protocol/index.js';
import { startTracker } from '../../src/tracker/index.js';

interface FakeConnection {
  /** Where the connection came from, as the tracker sees it. */
  readonly remote: string;
  /** Every request that arrived on it. */
  readonly commands: string[];
}

const servers: Server[] = [];
const sockets = new Set<Socket>();
// Every server closed and every connection it still holds destroyed, before the file ends.
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/**
 * A tracker that answers on the connection and leaves it open (so a client that
 * sent a second request on it would be seen doing so); `close` ends it without a reply.
 */
async function fakeTracker(
  onRequest: (command: string, reply: (b: Buffer) => void, close: () => void) => void,
): Promise<{ port: number; connections: FakeConnection[] }> {
  const connections: FakeConnection[] = [];
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const connection: FakeConnection = { remote: socket.remoteAddress ?? '?', commands: [] };
    connections.push(connection);
    const reader = new MessageReader({ accept: TRACKER_REQUESTS });
    socket.on('error', () => undefined);
    socket.on('data', (c) => {
      for (const m of reader.push(c)) {
        connection.commands.push(m.command);
        onRequest(m.command, (b) => socket.write(b), () => socket.destroy());
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, connections };
}

function client(port: number, timeoutMs = 2000): TrackerClient {
  return new TrackerClient({
    host: '127.0.0.1', port, self: { ip4: '127.0.0.71', ip6: '::1' }, selfPort: 5000, local: { ip4: '127.0.0.71' }, log: silentLogger(), timeoutMs,
  });
}

test('a close without a reply is a typed BT_NO_REPLY error; ALGI 0000000000000000 is BT_LOGIN_FAILED', async () => {
  const closing = await fakeTracker((_c, _reply, close) => close());
  await assert.rejects(client(closing.port).login(), (err: unknown) => err instanceof RemoteError && err.code === 'BT_NO_REPLY');
  const refusing = await fakeTracker((_c, reply) => reply(encodeMessage({ command: 'ALGI', sessionId: '0000000000000000' })));
  await assert.rejects(client(refusing.port).login(), (err: unknown) => err instanceof RemoteError && err.code === 'BT_LOGIN_FAILED');
});

test('silence is BT_TIMEOUT; nobody listening is BT_CONNECTION', async () => {
  const silent = await fakeTracker(() => undefined);
  await assert.rejects(client(silent.port, 300).login(), (err: unknown) => err instanceof RemoteError && err.code === 'BT_TIMEOUT');
  await assert.rejects(client(1, 300).login(), (err: unknown) => err instanceof RemoteError && err.code === 'BT_CONNECTION');
});

test('one request per connection, bound to our address; a forgotten session triggers one re-login', async () => {
  let logins = 0;
  let looks = 0;
  const { port, connections } = await fakeTracker((command, reply, close) => {
    if (command === 'LOGI') {
      logins++;
      reply(encodeMessage({ command: 'ALGI', sessionId: 'ABCDEF0123456789' }));
    } else if (command === 'LOOK') {
      looks++;
      // The first LOOK finds the tracker restarted: close without reply.
      if (looks === 1) close();
      else reply(encodeMessage({ command: 'ALOO', files: [{ md5: 'f'.repeat(32), fileName: 'x', fileLength: 10, partLength: 4 }] }));
    }
  });
  const c = client(port);
  await c.login();
  const files = await c.look('*');
  assert.deepEqual(files, [{ md5: 'f'.repeat(32), fileName: 'x', fileLength: 10, partLength: 4, parts: 3 }]);
  assert.equal(logins, 2);
  // LOGI, LOOK (closed: session forgotten), LOGI, LOOK: four connections, one request each,
  // although the tracker left every answered connection open for more.
  assert.deepEqual(connections.map((c) => c.commands), [['LOGI'], ['LOOK'], ['LOGI'], ['LOOK']]);
  // Each from the local address the client was configured with, not the default source.
  assert.deepEqual(connections.map((c) => c.remote), ['127.0.0.71', '127.0.0.71', '127.0.0.71', '127.0.0.71']);
});

/**
 * A tracker of another implementation: one request per connection, read with
 * one recv. `quirk` 'first' answers the first request of a pipelined write and
 * closes; 'exact' refuses (closes unanswered) any read that is not exactly one
 * request, as the course's Python tracker does.
 */
async function oneRequestTracker(quirk: 'first' | 'exact'): Promise<{ port: number; connections: FakeConnection[] }> {
  const connections: FakeConnection[] = [];
  let held = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const connection: FakeConnection = { remote: socket.remoteAddress ?? '?', commands: [] };
    connections.push(connection);
    socket.once('data', (bytes) => {
      const requests = new MessageReader({ accept: TRACKER_REQUESTS }).push(bytes);
      connection.commands.push(...requests.map((m) => m.command));
      const first = requests[0];
      if (!first || (quirk === 'exact' && requests.length !== 1)) return void socket.destroy();
      const reply = first.command === 'LOGI' ? encodeMessage({ command: 'ALGI', sessionId: 'ABCDEF0123456789' }) : encodeMessage({ command: 'APAD', partsHeld: ++held });
      socket.end(reply);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, connections };
}

test('reports of several parts: one connection for the lot at our tracker, every part reported alone at one that reads one request per connection', async () => {
  const md5 = 'a'.repeat(32);
  const tracker = await startTracker({ host: '127.0.0.1', port: 0, logger: silentLogger() });
  try {
    const seeder = client(tracker.port);
    await seeder.login();
    await seeder.addFile({ fileLength: 40 * 100, partLength: 100, fileName: 'forty.bin', md5 });
    const downloader = new TrackerClient({
      host: '127.0.0.1', port: tracker.port, self: { ip4: '127.0.0.72', ip6: '::1' }, selfPort: 5000, local: { ip4: '127.0.0.72' }, log: silentLogger(),
    });
    await downloader.login();
    const parts = Array.from({ length: 40 }, (_, i) => i);
    assert.deepEqual(await downloader.reportParts(md5, parts), parts.map((i) => i + 1), 'APAD after each part: parts held so far');
    assert.equal(downloader.pipelining, 'yes');
    const holder = (await downloader.holders(md5, 40)).find((h) => h.address.ip4 === '127.0.0.72');
    assert.ok(holder && holder.bitmap.every((b) => b === 0xff), 'the tracker lists every reported part');
  } finally {
    await tracker.close();
  }

  for (const quirk of ['first', 'exact'] as const) {
    const foreign = await oneRequestTracker(quirk);
    const c = client(foreign.port);
    await c.login();
    const results = await c.reportParts(md5, [0, 1, 2, 3, 4]);
    assert.ok(results.every((r) => typeof r === 'number'), `${quirk}: every part reported: ${results.join(', ')}`);
    assert.equal(c.pipelining, 'no', quirk);
    assert.deepEqual(await c.reportParts(md5, [5, 6]), [6, 7], 'the tracker counted each part once');
    const rpads = foreign.connections.slice(1).map((k) => k.commands.length);
    // One batch tried (the quirk answered its first report or none), then one report per connection.
    assert.deepEqual(rpads, quirk === 'first' ? [5, 1, 1, 1, 1, 1, 1] : [5, 1, 1, 1, 1, 1, 1, 1], quirk);
  }
});

test('a batch cut short because the tracker lost our session is no reason to stop pipelining', async () => {
  let sessions = 0;
  let held = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new MessageReader({ accept: TRACKER_REQUESTS });
    socket.on('data', (bytes) => {
      const replies: Buffer[] = [];
      for (const m of reader.push(bytes)) {
        if (m.command === 'LOGI') replies.push(encodeMessage({ command: 'ALGI', sessionId: `${++sessions}`.padStart(16, '0') }));
        // The tracker restarted after the first login: it knows only the second session.
        else if (m.command === 'RPAD' && m.sessionId === '0000000000000002') replies.push(encodeMessage({ command: 'APAD', partsHeld: ++held }));
        else break;
      }
      socket.end(Buffer.concat(replies));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const c = client((server.address() as { port: number }).port);
  await c.login();
  assert.deepEqual(await c.reportParts('b'.repeat(32), [0, 1, 2]), [1, 2, 3]);
  assert.equal(c.pipelining, 'unknown', 'the report alone needed a new session: the batch failed for that');
  assert.deepEqual(await c.reportParts('b'.repeat(32), [3, 4, 5]), [4, 5, 6]);
  assert.equal(c.pipelining, 'yes');
});

test('a batch of reports to a tracker that goes silent costs one wait, not one per part', async () => {
  const { port, connections } = await fakeTracker((command, reply) => {
    if (command === 'LOGI') reply(encodeMessage({ command: 'ALGI', sessionId: 'ABCDEF0123456789' }));
  });
  const c = client(port, 300);
  await c.login();
  const results = await c.reportParts('c'.repeat(32), [0, 1, 2, 3, 4]);
  assert.ok(results.every((r) => r instanceof RemoteError && r.code === 'BT_TIMEOUT'), results.map(String).join('; '));
  assert.deepEqual(connections.map((k) => k.commands.length), [1, 5], 'the login, then the one batch');
  assert.equal(c.pipelining, 'unknown');
});
