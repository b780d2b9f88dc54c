/**
 * Flooding search over real sockets on loopback: simulated peers (harness.ts) on
 * distinct 127.0.0.x addresses with explicit neighbours. Every wait is on an
 * event (a hit, a peer's decision), never on a sleep.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { encodeMessage } from '../../src/protocol/codec.js';
import type { Hit } from '../../src/peer/flood/plan.js';
import { hitEvent } from '../../src/peer/flood/plan.js';
import { exchange } from '../support/net.js';
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

describe('flooding over real sockets', () => {
  const swarm = new Swarm();
  after(() => swarm.close());

  test('in a chain, the TTL decides exactly which peers answer', async () => {
    const chain: SimPeer[] = [];
    for (let i = 1; i <= 4; i++) chain.push(await swarm.add({ name: `P${i}`, files: [{ md5: md5Of(i), fileName: `Song-${i}.MP3` }] }));
    // Both directions: the sender and the originator must be left out when forwarding.
    chain.forEach((p, i) => {
      if (i > 0) p.knows(chain[i - 1]!);
      if (i + 1 < chain.length) p.knows(chain[i + 1]!);
    });

    for (const ttl of [1, 2, 4]) {
      // A fresh originator each time: an originator learns the peers that answered as new neighbours.
      const origin = await swarm.add({ name: `O${ttl}`, files: [{ md5: md5Of(99), fileName: 'song-origin.mp3' }] });
      origin.knows(chain[0]!);
      chain[0]!.knows(origin);
      const last = chain[ttl - 1]!;
      const { pktId, hits } = await search(origin, 'song', ttl, async (id) => {
        await hitsFor(origin, id, ttl);
        await querAt(last, id);
      });
      const answering = hits.map((h) => h.port).sort();
      assert.deepEqual(answering, chain.slice(0, ttl).map((p) => p.port).sort(), `TTL ${ttl}`);
      for (const [i, p] of chain.entries()) {
        const seen = p.quers().filter((e) => e.pktId === pktId);
        if (i < ttl) {
          assert.equal(seen.length, 1, `${p.name} handles the TTL ${ttl} query once`);
          const e = seen[0]!;
          assert.equal(e.ttl, ttl - i, `${p.name} receives TTL ${ttl - i}`);
          assert.equal(e.answers, 1);
          const next = chain[i + 1];
          assert.deepEqual(e.forwardTo, e.ttl > 1 && next ? [next.endpoint] : [], `${p.name} forwards only onward`);
        } else {
          assert.equal(seen.length, 0, `${p.name} is beyond TTL ${ttl}`);
        }
      }
      const h1 = hits.find((h) => h.port === chain[0]!.port)!;
      assert.deepEqual(hitEvent(h1), {
        event: 'hit',
        md5: md5Of(1),
        name: 'Song-1.MP3',
        ip4: chain[0]!.ip4,
        ip6: '::1',
        port: chain[0]!.port,
      });
      assert.equal(origin.quers().filter((e) => e.pktId === pktId).length, 0, 'the originator is never sent its own query');
      const learned = origin.neighbors.list().filter((n) => n.source === 'learned').map((n) => n.port).sort();
      assert.deepEqual(learned, chain.slice(1, ttl).map((p) => p.port).sort(), 'answering peers become neighbours');
      chain[0]!.neighbors.remove(origin.ip4, origin.port);
    }
  });

  test('a unidirectional ring: the query comes back to the first peer, which drops it; each peer answers once', async () => {
    const origin = await swarm.add({ name: 'O' });
    const ring: SimPeer[] = [];
    for (let i = 0; i < 4; i++) ring.push(await swarm.add({ name: `R${i}`, files: [{ md5: md5Of(10 + i), fileName: `ring ${i}.txt` }] }));
    origin.knows(ring[0]!);
    ring.forEach((p, i) => p.knows(ring[(i + 1) % ring.length]!));

    const streamed: Hit[] = [];
    const ac = new AbortController();
    const result = origin.service.query('RING', { ttl: 10, waitMs: 120_000, signal: ac.signal, onHit: (h) => streamed.push(h) });
    const pktId = (origin.events.items.filter((e) => e.type === 'query').at(-1) as { pktId: string }).pktId;
    await hitsFor(origin, pktId, 4);
    await querAt(ring[0]!, pktId, 'duplicate');
    ac.abort();
    const hits = await result;

    assert.equal(hits.length, 4);
    assert.deepEqual(hits.map((h) => h.port).sort(), ring.map((p) => p.port).sort());
    assert.deepEqual(streamed, hits);
    for (const p of ring) assert.equal(p.quers('served').filter((e) => e.pktId === pktId).length, 1, `${p.name} answers once`);
    assert.equal(querCount(ring, pktId), 5, 'four served and one duplicate');
  });

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

  test('a peer that matches nothing forwards the query but does not answer', async () => {
    const origin = await swarm.add({ name: 'O' });
    const silent = await swarm.add({ name: 'S', files: [{ md5: md5Of(30), fileName: 'holiday.jpg' }] });
    const far = await swarm.add({ name: 'F', files: [{ md5: md5Of(31), fileName: 'report.pdf' }, { md5: md5Of(32), fileName: 'Annual REPORT 2025.pdf' }] });
    origin.knows(silent);
    silent.knows(far);

    const { pktId, hits } = await search(origin, '  report ', 4, async (id) => {
      await hitsFor(origin, id, 2);
      await querAt(far, id);
    });
    assert.deepEqual(hits.map((h) => h.name).sort(), ['Annual REPORT 2025.pdf', 'report.pdf']);
    assert.ok(hits.every((h) => h.port === far.port));
    const s = silent.quers().filter((e) => e.pktId === pktId);
    assert.equal(s.length, 1);
    assert.equal(s[0]!.answers, 0);
    assert.deepEqual(s[0]!.forwardTo, [far.endpoint]);
    assert.equal(silent.events.items.filter((e) => e.type === 'sent' && e.command === 'AQUE' && e.pktId === pktId).length, 0);
  });

  test('a malformed QUER or AQUE closes its connection with a log line; nonsense is refused', async () => {
    const origin = await swarm.add({ name: 'O' });
    const peer = await swarm.add({ name: 'M', files: [{ md5: md5Of(40), fileName: 'x' }] });
    const pktId = 'ABCDEF0123456789';
    const quer = encodeMessage({ command: 'QUER', pktId, address: origin.address, port: origin.port, ttl: 3, query: 'x' });
    const badQuer = Buffer.from(quer.toString('latin1').replace(pktId, 'NOT-HEX-PKTID!!!'), 'latin1');
    const r1 = await exchange(peer.ip4, peer.port, badQuer);
    assert.equal(r1.closedByServer, true);
    assert.equal(r1.raw.length, 0);
    const l1 = await peer.logs.waitFor((l) => l['msg'] === 'closing connection: malformed message' && l['code'] === 'BT_BAD_HEX', 'bad-hex log');
    assert.match(String(l1['reason']), /pktId/);

    const aque = encodeMessage({ command: 'AQUE', pktId, address: origin.address, port: origin.port, md5: md5Of(41), fileName: 'y' });
    const badAque = Buffer.from(aque.toString('latin1').replace(md5Of(41), 'g'.repeat(32)), 'latin1');
    const r2 = await exchange(peer.ip4, peer.port, badAque);
    assert.equal(r2.closedByServer, true);
    await peer.logs.waitFor((l) => l['msg'] === 'closing connection: malformed message' && /md5/.test(String(l['reason'])), 'bad-md5 log');

    // Well-formed but meaningless: TTL 0, and an AQUE from an unspecified address.
    await sendRaw(peer.ip4, peer.port, encodeMessage({ command: 'QUER', pktId, address: origin.address, port: origin.port, ttl: 0, query: 'x' }));
    const refused = await peer.logs.waitFor((l) => l['msg'] === 'QUER refused', 'QUER refused log');
    assert.match(String(refused['reason']), /TTL 0/);
    await sendRaw(peer.ip4, peer.port, encodeMessage({ command: 'AQUE', pktId, address: { ip4: '0.0.0.0', ip6: '::' }, port: 5000, md5: md5Of(1), fileName: 'z' }));
    await peer.logs.waitFor((l) => l['msg'] === 'AQUE refused', 'AQUE refused log');
    assert.equal(peer.quers('served').length, 0, 'nothing was served');
    assert.equal(peer.events.items.filter((e) => e.type === 'sent').length, 0, 'nothing was sent');
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
