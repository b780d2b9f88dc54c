/**
 * Flooding over real sockets with an injected clock: in-process peers (harness.ts:
 * the real PeerListener and FloodService, the clock moved by hand) on distinct
 * 127.0.0.x addresses. The chain, the one-way ring, the silent forwarder,
 * malformed messages and a download of a hit run over real `bugtorrent peer`
 * processes in network.test.ts. Every wait is on an event, never on a sleep.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { encodeMessage } from '../../src/protocol/codec.js';
import type { Hit } from '../../src/peer/flood/plan.js';
import { type SimPeer, Swarm, sendRaw } from './harness.js';

const md5Of = (n: number): string => n.toString(16).padStart(32, '0');

/** Starts a query from `origin`, waits for `until`, then ends the wait and returns the pktId and hits. */
async function search(
  origin: SimPeer,
  text: string,
  ttl: number,
  until: (pktId: string) => Promise<unknown>,
): Promise<{ pktId: string; hits: Hit[] }> {
  const ac = new AbortController();
  const result = origin.service.query(text, { ttl, waitMs: 120_000, signal: ac.signal });
  const started = origin.events.items.filter((e) => e.type === 'query').at(-1);
  assert.ok(started && started.type === 'query');
  const pktId = started.pktId;
  try {
    await until(pktId);
  } finally {
    ac.abort();
  }
  return { pktId, hits: await result };
}

function hitsFor(origin: SimPeer, pktId: string, count: number): Promise<unknown> {
  return origin.events.waitForCount((e) => e.type === 'hit' && e.hit.pktId === pktId, count, `hits at ${origin.name}`);
}

function querAt(peer: SimPeer, pktId: string, outcome = 'served'): Promise<unknown> {
  return peer.events.waitFor((e) => e.type === 'quer' && e.pktId === pktId && e.outcome === outcome, `${outcome} QUER at ${peer.name}`);
}

function querCount(peers: SimPeer[], pktId: string): number {
  return peers.reduce((n, p) => n + p.quers().filter((e) => e.pktId === pktId).length, 0);
}

describe('flooding in-process, real listener, injected clock', () => {
  const swarm = new Swarm();
  after(() => swarm.close());

  test('a bidirectional ring: duplicates are dropped, every peer answers exactly once', async () => {
    const origin = await swarm.add({ name: 'O' });
    const ring: SimPeer[] = [];
    for (let i = 0; i < 4; i++) ring.push(await swarm.add({ name: `B${i}`, files: [{ md5: md5Of(20 + i), fileName: `loop-${i}` }] }));
    origin.knows(ring[0]!);
    ring[0]!.knows(origin);
    ring.forEach((p, i) => p.knows(ring[(i + 1) % 4]!, ring[(i + 3) % 4]!));

    const { pktId, hits } = await search(origin, 'loop', 10, async (id) => {
      await hitsFor(origin, id, 4);
      // B0 forwards to B1 and B3, both forward to B2, B2 forwards one copy on: six QUERs, two of them duplicates.
      await swarm.events.waitUntil(() => querCount(ring, id) >= 6, 'six QUERs handled in the ring');
    });
    assert.equal(hits.length, 4);
    for (const p of ring) assert.equal(p.quers('served').filter((e) => e.pktId === pktId).length, 1, `${p.name} answers once`);
    assert.equal(ring.reduce((n, p) => n + p.quers('duplicate').filter((e) => e.pktId === pktId).length, 0), 2);
    assert.equal(querCount(ring, pktId), 6);
  });

  test('the duplicate window: the same Pktid is dropped within 300 s and accepted after', async () => {
    const origin = await swarm.add({ name: 'O' });
    const peer = await swarm.add({ name: 'D', files: [{ md5: md5Of(50), fileName: 'dup' }] });
    const next = await swarm.add({ name: 'N' });
    peer.knows(next);
    const pktId = '00112233445566AA';
    const quer = encodeMessage({ command: 'QUER', pktId, address: origin.address, port: origin.port, ttl: 3, query: 'dup' });
    const outcomes = async (n: number): Promise<string[]> =>
      (await peer.events.waitForCount((e) => e.type === 'quer', n, 'QUER decisions')).map((e) => (e as { outcome: string }).outcome);

    await sendRaw(peer.ip4, peer.port, quer, origin.ip4);
    assert.deepEqual(await outcomes(1), ['served']);
    await querAt(next, pktId);
    // AQUE went to the originator, which has no such query pending.
    await origin.events.waitFor((e) => e.type === 'aque' && e.outcome === 'unsolicited', 'AQUE at the originator');

    await sendRaw(peer.ip4, peer.port, quer, origin.ip4);
    assert.deepEqual(await outcomes(2), ['served', 'duplicate']);
    peer.clock.advance(299_999);
    await sendRaw(peer.ip4, peer.port, quer, origin.ip4);
    assert.deepEqual(await outcomes(3), ['served', 'duplicate', 'duplicate']);
    peer.clock.advance(1);
    await sendRaw(peer.ip4, peer.port, quer, origin.ip4);
    assert.deepEqual(await outcomes(4), ['served', 'duplicate', 'duplicate', 'served']);
    // The next peer's clock did not move: it got the packet twice (once per served copy) and dropped the second.
    await querAt(next, pktId, 'duplicate');
    assert.deepEqual(next.quers().map((e) => e.outcome), ['served', 'duplicate']);
    assert.deepEqual(peer.quers().map((e) => e.forwardTo.length), [1, 0, 0, 1]);
  });

  test('the rate limit: the N+1th query from one originator is dropped and not forwarded', async () => {
    const origin = await swarm.add({ name: 'O' });
    const other = await swarm.add({ name: 'O2' });
    const peer = await swarm.add({ name: 'L', limits: { perOriginatorBurst: 3, perOriginatorPerSecond: 1 } });
    const next = await swarm.add({ name: 'N' });
    peer.knows(next);
    const q = (from: SimPeer, i: number): Buffer =>
      encodeMessage({ command: 'QUER', pktId: `AAAA00000000000${i}`, address: from.address, port: from.port, ttl: 2, query: 'anything' });

    for (let i = 1; i <= 4; i++) {
      await sendRaw(peer.ip4, peer.port, q(origin, i), origin.ip4);
      await peer.events.waitForCount((e) => e.type === 'quer', i, `decision ${i}`);
    }
    assert.deepEqual(peer.quers().map((e) => e.outcome), ['served', 'served', 'served', 'rate-limited']);
    assert.deepEqual(peer.quers()[3]!.forwardTo, []);
    await peer.logs.waitFor((l) => l['msg'] === 'QUER dropped' && l['reason'] === 'rate-limited', 'rate-limit log');

    // Another originator is not affected.
    await sendRaw(peer.ip4, peer.port, q(other, 5), other.ip4);
    await querAt(next, 'AAAA000000000005');
    await next.events.waitForCount((e) => e.type === 'quer', 4, 'forwards at N');
    assert.deepEqual(next.quers().map((e) => e.pktId).sort(), ['AAAA000000000001', 'AAAA000000000002', 'AAAA000000000003', 'AAAA000000000005']);

    // One second later the originator has one token again.
    peer.clock.advance(1000);
    await sendRaw(peer.ip4, peer.port, q(origin, 6), origin.ip4);
    await sendRaw(peer.ip4, peer.port, q(origin, 7), origin.ip4);
    await peer.events.waitForCount((e) => e.type === 'quer', 7, 'decisions 6 and 7');
    assert.deepEqual(peer.quers().slice(4).map((e) => e.outcome), ['served', 'served', 'rate-limited']);
  });
});
