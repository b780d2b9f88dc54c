/** The tracker client against a tracker that closes without a reply, or never answers. */
import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { after, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { RemoteError } from '../../src/errors.js';
import { MessageReader, TRACKER_REQUESTS, encodeMessage } from '../../src/protocol/index.js';

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
