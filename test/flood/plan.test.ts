import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerAddress } from '../../src/protocol/address.js';
import { DuplicateWindow } from '../../src/peer/flood/dedup.js';
import { KeyedTokenBucket } from '../../src/peer/flood/limiter.js';
import { NeighborSet, formatNeighbor } from '../../src/peer/flood/neighbors.js';
import {
  type Quer,
  type QuerInput,
  checkAque,
  checkQuer,
  decideQuer,
  describeHit,
  endpointsOf,
  forwardTargets,
  hitEvent,
  hitKey,
  hitOf,
  originatorKey,
} from '../../src/peer/flood/plan.js';

const self = { address: peerAddress('10.0.0.1', 'fd00::1'), port: 5000 };
const origin = { address: peerAddress('10.0.0.9', 'fd00::9'), port: 5009 };

function quer(over: Partial<Quer> = {}): Quer {
  return { command: 'QUER', pktId: '0123456789ABCDEF', address: origin.address, port: origin.port, ttl: 4, query: 'song', ...over };
}

function neighbors(...hosts: [string, number][]): NeighborSet {
  const s = new NeighborSet({ self });
  for (const [h, p] of hosts) s.addConfigured(h, p);
  return s;
}

function input(over: Partial<QuerInput> = {}): QuerInput {
  return {
    self,
    remote: { address: '10.0.0.2', port: 40000 },
    neighbors: neighbors(['10.0.0.2', 5000], ['10.0.0.3', 5000], ['10.0.0.9', 5009]).list(),
    files: [
      { md5: 'a'.repeat(32), fileName: 'Song One.mp3' },
      { md5: 'b'.repeat(32), fileName: 'notes.txt' },
      { md5: 'c'.repeat(32), fileName: 'another SONG' },
    ],
    now: 0,
    seen: new DuplicateWindow(),
    perOriginator: new KeyedTokenBucket({ burst: 10, perSecond: 1 }),
    ...over,
  };
}

test('serve: answer the matching files at the originator, forward with TTL − 1 to everyone but sender and originator', () => {
  const d = decideQuer(quer(), input());
  assert.equal(d.action, 'serve');
  if (d.action !== 'serve') return;
  assert.deepEqual(d.answers.map((f) => f.fileName), ['Song One.mp3', 'another SONG']);
  assert.equal(d.skipped, 0);
  assert.deepEqual(d.replyTo, [
    { host: '10.0.0.9', port: 5009, family: 4 },
    { host: 'fd00:0000:0000:0000:0000:0000:0000:0009', port: 5009, family: 6 },
  ]);
  assert.equal(d.forwardTtl, 3);
  assert.deepEqual(d.forwardTo.map(formatNeighbor), ['10.0.0.3:5000']);
});

test('TTL 1 is answered but not forwarded; a peer with no match still forwards', () => {
  const d1 = decideQuer(quer({ ttl: 1 }), input());
  assert.ok(d1.action === 'serve' && d1.forwardTtl === 0 && d1.forwardTo.length === 0 && d1.answers.length === 2);
  const d2 = decideQuer(quer({ query: 'zzz' }), input());
  assert.ok(d2.action === 'serve' && d2.answers.length === 0 && d2.forwardTo.length === 1);
  const all = decideQuer(quer({ pktId: '1111111111111111', query: '*' }), input());
  assert.ok(all.action === 'serve' && all.answers.length === 3);
});

test('answers are capped at maxAnswers; the rest are counted as skipped', () => {
  const d = decideQuer(quer({ query: '*' }), input({ maxAnswers: 1 }));
  assert.ok(d.action === 'serve');
  assert.equal(d.answers.length, 1);
  assert.equal(d.skipped, 2);
});

test('nonsense is refused: TTL 0 or above 99, empty query, unspecified originator', () => {
  assert.match(checkQuer(quer({ ttl: 0 })) ?? '', /TTL 0/);
  assert.match(checkQuer(quer({ ttl: 100 })) ?? '', /TTL 100/);
  assert.equal(checkQuer(quer({ ttl: 99 })), null);
  assert.match(checkQuer(quer({ query: '   ' })) ?? '', /empty/);
  assert.match(checkQuer(quer({ address: peerAddress('0.0.0.0', '::') })) ?? '', /unspecified/);
  assert.equal(checkQuer(quer({ address: peerAddress('0.0.0.0', 'fd00::9') })), null, 'IPv6 alone will do');
  const d = decideQuer(quer({ ttl: 0 }), input());
  assert.equal(d.action, 'refuse');
});

test('our own query is dropped; duplicates are dropped without costing a token', () => {
  assert.deepEqual(decideQuer(quer({ address: self.address, port: self.port }), input()), { action: 'drop', reason: 'own query' });
  const seen = new DuplicateWindow();
  const perOriginator = new KeyedTokenBucket({ burst: 1, perSecond: 0 });
  assert.equal(decideQuer(quer(), input({ seen, perOriginator })).action, 'serve');
  assert.deepEqual(decideQuer(quer(), input({ seen, perOriginator })), { action: 'drop', reason: 'duplicate' });
  assert.deepEqual(decideQuer(quer({ pktId: '2222222222222222' }), input({ seen, perOriginator })), { action: 'drop', reason: 'rate-limited' });
  assert.equal(seen.has('2222222222222222', 0), false, 'a rate-limited query is not recorded');
  assert.equal(decideQuer(quer({ pktId: '3333333333333333', address: peerAddress('10.0.0.8', '::8') }), input({ seen, perOriginator })).action, 'serve', 'other originators have their own bucket');
  assert.deepEqual(decideQuer(quer(), input({ seen, perOriginator, now: 300_000 })), { action: 'drop', reason: 'rate-limited' }, 'out of the window, then limited');
});

test('the overall bucket caps all originators together', () => {
  const overall = new KeyedTokenBucket({ burst: 1, perSecond: 0 });
  assert.equal(decideQuer(quer({ pktId: '4444444444444444' }), input({ overall })).action, 'serve');
  assert.deepEqual(decideQuer(quer({ pktId: '5555555555555555' }), input({ overall })), { action: 'drop', reason: 'overloaded' });
});

test('the sender is left out only when it names exactly one neighbour', () => {
  const ctx = { self, originator: origin };
  const set = neighbors(['10.0.0.2', 5000], ['10.0.0.2', 5001], ['10.0.0.3', 5000], ['::1', 5000]).list();
  assert.deepEqual(forwardTargets(set, { ...ctx, remote: { address: '10.0.0.3' } }).map(formatNeighbor), ['10.0.0.2:5000', '10.0.0.2:5001', '[0000:0000:0000:0000:0000:0000:0000:0001]:5000']);
  assert.deepEqual(forwardTargets(set, { ...ctx, remote: { address: '::ffff:10.0.0.3' } }).length, 3, 'IPv4-mapped sender');
  assert.equal(forwardTargets(set, { ...ctx, remote: { address: '10.0.0.2' } }).length, 4, 'two neighbours on that host: keep both');
  assert.equal(forwardTargets(set, { ...ctx, remote: { address: '::1' } }).length, 3);
  assert.equal(forwardTargets(set, { ...ctx, remote: {} }).length, 4);
});

test('the originator is recognised by its IPv4 and port, or its IPv6 and port when one side has no IPv4', () => {
  const set = neighbors(['10.0.0.9', 5009], ['10.0.0.9', 5010], ['fd00::9', 5009], ['fd00::8', 5009]).list();
  assert.deepEqual(forwardTargets(set, { self, originator: origin, remote: {} }).map(formatNeighbor), [
    '10.0.0.9:5010',
    '[fd00:0000:0000:0000:0000:0000:0000:0008]:5009',
  ]);
  const v6only = { address: peerAddress('0.0.0.0', 'fd00::9'), port: 5009 };
  assert.deepEqual(forwardTargets(set, { self, originator: v6only, remote: {} }).map(formatNeighbor), [
    '10.0.0.9:5009',
    '10.0.0.9:5010',
    '[fd00:0000:0000:0000:0000:0000:0000:0008]:5009',
  ]);
});

test('endpoints: IPv4 first, IPv6 as the fallback, unspecified ones left out; limiter key', () => {
  assert.deepEqual(endpointsOf(peerAddress('0.0.0.0', '::1'), 7), [{ host: '0000:0000:0000:0000:0000:0000:0000:0001', port: 7, family: 6 }]);
  assert.deepEqual(endpointsOf(peerAddress('0.0.0.0', '::'), 7), []);
  assert.equal(originatorKey(peerAddress('10.0.0.9', '::9')), '10.0.0.9');
  assert.equal(originatorKey(peerAddress('0.0.0.0', '::9')), '0000:0000:0000:0000:0000:0000:0000:0009');
});

test('AQUE checks, hits and the --json hit event', () => {
  const aque = { command: 'AQUE' as const, pktId: 'abcdef0123456789', address: origin.address, port: 5009, md5: 'd'.repeat(32), fileName: 'x.bin' };
  assert.equal(checkAque(aque), null);
  assert.match(checkAque({ ...aque, fileName: '' }) ?? '', /empty/);
  assert.match(checkAque({ ...aque, address: peerAddress('0.0.0.0', '::') }) ?? '', /unspecified/);
  const hit = hitOf(aque);
  assert.equal(hitKey(hit), hitKey(hitOf({ ...aque, pktId: 'ABCDEF0123456789' })));
  assert.notEqual(hitKey(hit), hitKey(hitOf({ ...aque, port: 5010 })));
  assert.deepEqual(hitEvent(hit), {
    event: 'hit',
    md5: 'd'.repeat(32),
    name: 'x.bin',
    ip4: '10.0.0.9',
    ip6: 'fd00::9',
    port: 5009,
  });
  assert.equal(describeHit(hit), `x.bin  ${'d'.repeat(32)}  10.0.0.9|fd00::9 5009`);
});
