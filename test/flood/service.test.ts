/** The service's edges on their own: query validation, the wait, fallback addresses, unsolicited answers. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type AddressInfo, createServer } from 'node:net';
import { ArgumentError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { peerAddress } from '../../src/protocol/address.js';
import { MessageReader } from '../../src/protocol/reader.js';
import { Courier } from '../../src/peer/flood/courier.js';
import { NeighborSet } from '../../src/peer/flood/neighbors.js';
import { createFloodService } from '../../src/peer/flood/service.js';
import { Feed } from './harness.js';

function service(over: { ip4?: string; ip6?: string } = {}) {
  return createFloodService({
    self: { address: peerAddress(over.ip4 ?? '127.0.0.60', over.ip6 ?? '::1'), port: 5000 },
    sharedFiles: () => [],
    neighbors: new NeighborSet(),
    logger: silentLogger(),
  });
}

const closers: (() => void)[] = [];
after(() => closers.forEach((c) => c()));

test('query() validates its arguments with ArgumentError', () => {
  const s = service();
  closers.push(() => s.close());
  assert.throws(() => s.query(''), ArgumentError);
  assert.throws(() => s.query('x'.repeat(21)), ArgumentError);
  assert.throws(() => s.query('x', { ttl: 0 }), ArgumentError);
  assert.throws(() => s.query('x', { ttl: 100 }), ArgumentError);
  assert.throws(() => s.query('x', { ttl: 1.5 }), ArgumentError);
  assert.throws(() => s.query('x', { waitMs: -1 }), ArgumentError);
  const unspecified = service({ ip4: '0.0.0.0', ip6: '::' });
  closers.push(() => unspecified.close());
  assert.throws(() => unspecified.query('x'), /unspecified/);
});

test('with no neighbours a query ends at once with no hits; close() ends a pending one', async () => {
  const s = service();
  assert.deepEqual(await s.query('x', { waitMs: 60_000 }), []);
  s.neighbors.addConfigured('127.0.0.61', 9);
  const pending = s.query('x', { waitMs: 60_000 });
  s.close();
  assert.deepEqual(await pending, []);
});

test('an AQUE for no pending query is ignored; hits are deduplicated per query and teach neighbours', async () => {
  let pktId = '';
  const s = createFloodService({
    self: { address: peerAddress('127.0.0.60', '::1'), port: 5000 },
    sharedFiles: () => [],
    neighbors: new NeighborSet(),
    logger: silentLogger(),
    observer: (e) => {
      if (e.type === 'query') pktId = e.pktId;
    },
  });
  closers.push(() => s.close());
  const aque = { command: 'AQUE' as const, pktId: '0000000000000001', address: peerAddress('127.0.0.62', '::1'), port: 5000, md5: 'a'.repeat(32), fileName: 'x' };
  s.onAque(aque, {});
  assert.equal(s.neighbors.size, 0, 'unsolicited answers teach nothing');

  s.neighbors.addConfigured('127.0.0.61', 9); // nobody there: the send fails and is logged
  const streamed: string[] = [];
  const ac = new AbortController();
  const result = s.query('x', { waitMs: 60_000, signal: ac.signal, onHit: (h) => streamed.push(`${h.ip4}:${h.port}`) });
  assert.match(pktId, /^[0-9A-F]{16}$/);
  s.onAque({ ...aque, pktId }, {});
  s.onAque({ ...aque, pktId: pktId.toLowerCase() }, {});
  s.onAque({ ...aque, pktId, port: 5001 }, {});
  s.onAque({ ...aque, pktId, fileName: '' }, {});
  ac.abort();
  const hits = await result;
  assert.equal(hits.length, 2);
  assert.deepEqual(streamed, ['127.0.0.62:5000', '127.0.0.62:5001']);
  assert.deepEqual(s.neighbors.list().filter((n) => n.source === 'learned').map((n) => n.port), [5000, 5001]);
  s.onAque({ ...aque, pktId, port: 5002 }, {});
  assert.equal(hits.length, 2, 'nothing is collected after the wait');
});

test('the courier falls back from IPv4 to IPv6, and from an unbindable local address to none', async () => {
  const server = createServer();
  const received = new Feed<string>();
  server.on('connection', (socket) => {
    const reader = new MessageReader({ accept: ['QUER'] });
    socket.on('data', (c: Buffer) => reader.push(c).forEach((m) => received.push(`${m.command} via ${socket.remoteAddress}`)));
    socket.on('end', () => socket.end());
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '::1', () => r()));
  closers.push(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const msg = (await import('../../src/protocol/codec.js')).encodeMessage({
    command: 'QUER', pktId: '00000000000000FF', address: peerAddress('127.0.0.63', '::1'), port: 5000, ttl: 1, query: 'x',
  });
  // Nothing listens on 127.0.0.64:port: the IPv6 address takes over.
  const courier = new Courier({ localAddress: (family) => (family === 4 ? '192.0.2.1' : undefined) });
  closers.push(() => courier.close());
  const d = await courier.send(msg, [
    { host: '127.0.0.64', port, family: 4 },
    { host: '::1', port, family: 6 },
  ]);
  assert.deepEqual(d, { ok: true, endpoint: { host: '::1', port, family: 6 } });
  await received.waitFor((s) => s === 'QUER via ::1', 'QUER over IPv6');
  // A local address that is not ours (192.0.2.1): sent unbound instead.
  const bound = new Courier({ localAddress: () => '192.0.2.1' });
  closers.push(() => bound.close());
  assert.equal((await bound.send(msg, [{ host: '::1', port, family: 6 }])).ok, true);
  await received.waitForCount(() => true, 2, 'second QUER');
  const none = await courier.send(msg, []);
  assert.deepEqual(none, { ok: false, error: 'no usable address' });
});
