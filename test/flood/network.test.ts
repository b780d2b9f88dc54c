/**
 * Flooding search over real processes: a `bugtorrent tracker` child and
 * `bugtorrent peer` children on distinct 127.0.1.x addresses, neighbours given
 * with --neighbor. What each peer decided is read from its JSON log lines
 * ("QUER served" / "QUER dropped" with the Pktid), what the originator found from
 * its --json events (query, hit, query-done). Every wait is on a line, never a sleep.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { peerAddress } from '../../src/protocol/address.js';
import { encodeMessage } from '../../src/protocol/codec.js';
import { MessageReader } from '../../src/protocol/reader.js';
import type { MessageOf } from '../../src/protocol/messages.js';
import { exchange } from '../support/net.js';
import { Sandbox } from '../support/process.js';
import { type FloodPeer, floodLogs, place, reserve, spawnTracker, startPeer, waitFloodLog, waitHits, writeFile } from './processes.js';
import { Feed, sendRaw } from './harness.js';

const md5 = (path: string): string => createHash('md5').update(readFileSync(path)).digest('hex');

const sandbox = new Sandbox();
let tracker = '';
before(async () => {
  tracker = (await spawnTracker(sandbox)).endpoint;
});
after(() => sandbox.cleanup());

/** Listens on `ip4`, port 0; resolves with the port. */
function listenAny(server: Server, ip4: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, ip4, () => resolve((server.address() as { port: number }).port));
  });
}

/** Destroys the connections the server still holds and waits until it is closed. */
function closeServer(server: Server, held: Set<Socket>): Promise<void> {
  for (const s of held) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The Pktid of the originator's --quer (its `query` event). */
async function pktIdOf(origin: FloodPeer): Promise<string> {
  return (await origin.proc.waitForEvent('query'))['pktId'] as string;
}

// The tests share the tracker but nothing else. Two at a time: all five at once started
// some 16 processes together (on a loaded two-core machine a peer then printed nothing
// for over 60 s), one at a time took longer than the file's 180 s under load.
describe('flooding search between bugtorrent peer processes', { timeout: 180_000, concurrency: 2 }, () => {
  test('in a chain, the TTL decides exactly which peers answer', async () => {
    const at = await Promise.all([1, 2, 3, 4].map((n) => reserve(sandbox, n)));
    const chain = await Promise.all(
      at.map((a, i) => {
        const file = writeFile(a.dir, `Song-${i + 1}.mp3`, 1000 + i);
        // Both directions: a peer must not send the query back to the one it came from.
        const neighbors = [at[i - 1], at[i + 1]].filter((x) => x !== undefined).map((x) => x.endpoint);
        return startPeer(sandbox, tracker, a, { neighbors, share: [file] });
      }),
    );
    const ttls = [1, 2, 4];
    const origins = await Promise.all(
      ttls.map(async (ttl, i) =>
        startPeer(sandbox, tracker, place(sandbox, 11 + i), {
          neighbors: [chain[0]!.endpoint],
          extra: ['--quer', 'song', '--ttl', String(ttl), '--quer-wait', '60'],
        }),
      ),
    );
    for (const [k, ttl] of ttls.entries()) {
      const origin = origins[k]!;
      const pktId = await pktIdOf(origin);
      const hits = await waitHits(origin, ttl);
      // The last peer reached answers and, its TTL spent, forwards to nobody: after that line nothing more can happen.
      await waitFloodLog(chain[ttl - 1]!, 'QUER served', pktId, (l) => l['ttl'] === 1);
      assert.deepEqual(
        hits.map((h) => h['port']).sort(),
        chain.slice(0, ttl).map((p) => p.port).sort(),
        `TTL ${ttl}: exactly the first ${ttl} peers answer`,
      );
      for (const [i, p] of chain.entries()) {
        const served = floodLogs(p, 'QUER served', pktId);
        if (i >= ttl) {
          assert.equal(served.length + floodLogs(p, 'QUER dropped', pktId).length, 0, `C${i + 1} is beyond TTL ${ttl}`);
          continue;
        }
        assert.equal(served.length, 1, `C${i + 1} serves the TTL ${ttl} query once`);
        assert.equal(served[0]!['ttl'], ttl - i);
        assert.equal(served[0]!['answers'], 1);
        const next = chain[i + 1];
        assert.deepEqual(served[0]!['forwardTo'], ttl - i > 1 && next ? [next.endpoint] : [], `C${i + 1} forwards only onward`);
      }
      const h1 = hits.find((h) => h['port'] === chain[0]!.port)!;
      assert.deepEqual(
        { ...h1, pktId: undefined },
        { event: 'hit', md5: md5(`${chain[0]!.dir}/Song-1.mp3`), name: 'Song-1.mp3', ip4: chain[0]!.ip4, ip6: '::1', port: chain[0]!.port, pktId: undefined },
      );
      assert.equal(h1['pktId'], pktId);
    }
  });

  test('in a one-way ring every peer answers once, though the query comes back to the first', async () => {
    const at = await Promise.all([21, 22, 23, 24].map((n) => reserve(sandbox, n)));
    const ring = await Promise.all(
      at.map((a, i) => startPeer(sandbox, tracker, a, { neighbors: [at[(i + 1) % 4]!.endpoint], share: [writeFile(a.dir, `ring ${i}.txt`, 500)] })),
    );
    const origin = await startPeer(sandbox, tracker, place(sandbox, 25), {
      neighbors: [ring[0]!.endpoint],
      extra: ['--quer', 'RING', '--ttl', '10', '--quer-wait', '60'],
    });
    const pktId = await pktIdOf(origin);
    const hits = await waitHits(origin, 4);
    // R0 -> R1 -> R2 -> R3 -> R0: the copy coming round is a duplicate, and is not forwarded again.
    await waitFloodLog(ring[0]!, 'QUER dropped', pktId, (l) => l['reason'] === 'duplicate');
    assert.deepEqual(hits.map((h) => h['port']).sort(), ring.map((p) => p.port).sort());
    for (const [i, p] of ring.entries()) {
      assert.equal(floodLogs(p, 'QUER served', pktId).length, 1, `R${i} answers once`);
      assert.equal(floodLogs(p, 'QUER dropped', pktId).length, i === 0 ? 1 : 0);
    }
  });

  test('a peer that matches nothing forwards but does not answer; the hit two hops away is downloaded and verified', async () => {
    // Each peer names only peers already running: no stand-ins needed.
    const [atS, atF, atO, atG] = [31, 32, 33, 34].map((n) => place(sandbox, n));
    const report = writeFile(atF!.dir, 'Annual Report.pdf', 700_000);
    const far = await startPeer(sandbox, tracker, atF!, { share: [report] });
    const silent = await startPeer(sandbox, tracker, atS!, { neighbors: [far.endpoint], share: [writeFile(atS!.dir, 'holiday.jpg', 3000)] });
    const origin = await startPeer(sandbox, tracker, atO!, {
      neighbors: [silent.endpoint],
      extra: ['--quer', 'report', '--get-hits', '--exit-when-done', '--quer-wait', '15'],
    });
    const pktId = await pktIdOf(origin);
    const [hit] = await waitHits(origin, 1);
    assert.equal(hit!['md5'], md5(report));
    assert.equal(hit!['name'], 'Annual Report.pdf');
    assert.equal(hit!['port'], far.port);
    const complete = await origin.proc.waitForEvent('complete', (e) => e['md5'] === md5(report));
    assert.equal(md5(complete['path'] as string), md5(report));
    const done = await origin.proc.waitForEvent('query-done');
    assert.deepEqual([done['hits'], done['files']], [1, 1]);
    assert.equal((await origin.proc.exited).code, 0);
    const s = floodLogs(silent, 'QUER served', pktId);
    assert.equal(s.length, 1);
    assert.equal(s[0]!['answers'], 0, 'the silent peer answers nothing');
    assert.deepEqual(s[0]!['forwardTo'], [far.endpoint]);
    assert.equal(floodLogs(far, 'QUER served', pktId)[0]!['answers'], 1);
    // The answering peer became a neighbour of the originator.
    assert.ok(origin.proc.stderrLines.some((l) => l['msg'] === 'neighbour learned' && l['via'] === 'AQUE' && l['neighbor'] === far.endpoint));

    // Neighbours are learned from FCHU answers too: a plain --get learns the holders.
    const getter = await startPeer(sandbox, tracker, atG!, { extra: ['--get', md5(report), '--exit-when-done'] });
    await getter.proc.waitForEvent('complete');
    const learned = await getter.proc.waitFor('stderr', (l) => l['msg'] === 'neighbour learned' && l['via'] === 'FCHU');
    assert.ok([far.endpoint, origin.endpoint].includes(learned['neighbor'] as string));
  });

  test('--get-hits: a hit the tracker does not know is a clear BT_UNKNOWN_FILE error', async () => {
    // The test is the only neighbour: it answers the QUER with an AQUE for a file nobody registered.
    const fake = place(sandbox, 41);
    const held = new Set<Socket>();
    const quers = new Feed<MessageOf<'QUER'>>();
    const server: Server = createServer((socket) => {
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      const reader = new MessageReader({ accept: ['QUER'] });
      socket.on('data', (c: Buffer) => {
        for (const m of reader.push(c)) quers.push(m as MessageOf<'QUER'>);
      });
      socket.on('end', () => socket.end());
      socket.on('error', () => undefined);
    });
    const fakePort = await listenAny(server, fake.ip4);
    try {
      const origin = await startPeer(sandbox, tracker, place(sandbox, 42), {
        neighbors: [`${fake.ip4}:${fakePort}`],
        extra: ['--quer', 'ghost', '--get-hits', '--exit-when-done', '--quer-wait', '15'],
      });
      const q = await quers.waitFor(() => true, 'the QUER', 60_000);
      const ghost = 'f'.repeat(32);
      const aque = encodeMessage({ command: 'AQUE', pktId: q.pktId, address: peerAddress(fake.ip4, '::1'), port: fakePort, md5: ghost, fileName: 'ghost.bin' });
      await sendRaw(origin.ip4, origin.port, aque, fake.ip4);
      await origin.proc.waitForEvent('hit', (e) => e['md5'] === ghost);
      const err = await origin.proc.waitForEvent('error');
      assert.equal(err['code'], 'BT_UNKNOWN_FILE');
      assert.equal(err['md5'], ghost);
      assert.match(err['message'] as string, /ghost\.bin/);
      assert.equal((await origin.proc.exited).code, 1);
    } finally {
      await closeServer(server, held);
    }
  });

  test('a malformed QUER or AQUE is closed and logged; a replayed Pktid gets no second answer', async () => {
    const atPeer = place(sandbox, 51);
    const peer = await startPeer(sandbox, tracker, atPeer, { share: [writeFile(atPeer.dir, 'target.txt', 100)] });
    // The test plays the originator: it collects AQUEs on its own address.
    const me = place(sandbox, 52);
    const held = new Set<Socket>();
    const aques = new Feed<MessageOf<'AQUE'>>();
    const server: Server = createServer((socket) => {
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      const reader = new MessageReader({ accept: ['AQUE'] });
      socket.on('data', (c: Buffer) => {
        for (const m of reader.push(c)) aques.push(m as MessageOf<'AQUE'>);
      });
      socket.on('end', () => socket.end());
      socket.on('error', () => undefined);
    });
    const mePort = await listenAny(server, me.ip4);
    try {
      const pktId = '0123456789ABCDEF';
      const quer = encodeMessage({ command: 'QUER', pktId, address: peerAddress(me.ip4, '::1'), port: mePort, ttl: 2, query: 'target' });

      const badQuer = Buffer.from(quer.toString('latin1').replace(pktId, 'NOT-HEX-PKTID!!!'), 'latin1');
      const r1 = await exchange(peer.ip4, peer.port, badQuer, { localAddress: me.ip4 });
      assert.deepEqual([r1.closedByServer, r1.raw.length], [true, 0]);
      const l1 = await peer.proc.waitFor('stderr', (l) => l['msg'] === 'request refused; closing without reply' && l['code'] === 'BT_BAD_HEX');
      assert.match(String(l1['reason']), /pktId/i);

      const aque = encodeMessage({ command: 'AQUE', pktId, address: peerAddress(me.ip4, '::1'), port: mePort, md5: 'abcdef0123456789'.repeat(2), fileName: 'y' });
      const badAque = Buffer.from(aque.toString('latin1').replace('abcdef0123456789'.repeat(2), 'g'.repeat(32)), 'latin1');
      const r2 = await exchange(peer.ip4, peer.port, badAque, { localAddress: me.ip4 });
      assert.deepEqual([r2.closedByServer, r2.raw.length], [true, 0]);
      await peer.proc.waitFor('stderr', (l) => l['msg'] === 'request refused; closing without reply' && /md5/i.test(String(l['reason'])));

      // The peer is unharmed: a good QUER is answered once; the same Pktid again is dropped unanswered.
      await sendRaw(peer.ip4, peer.port, quer, me.ip4);
      const [answer] = await aques.waitForCount((a) => a.pktId === pktId, 1, 'the AQUE', 60_000);
      assert.equal(answer!.fileName, 'target.txt');
      assert.equal(answer!.port, peer.port);
      await sendRaw(peer.ip4, peer.port, quer, me.ip4);
      await waitFloodLog(peer, 'QUER dropped', pktId, (l) => l['reason'] === 'duplicate');
      assert.equal(floodLogs(peer, 'QUER served', pktId).length, 1);
      assert.equal(aques.items.length, 1, 'no second answer');
    } finally {
      await closeServer(server, held);
    }
  });
});
