/** SwarmIdentity: remote IPv6 -> the owner's IPv4 key; departures from every holder list. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SAMPLED_AT, SwarmIdentity, createBandwidthPolicy } from '../../src/peer/bandwidth/index.js';

const h = (ip4: string, ip6: string, port = 5000) => ({ address: { ip4, ip6 }, port });

test('an IPv6 announced by one peer resolves to its IPv4 key, in any spelling', () => {
  const id = new SwarmIdentity();
  id.learn('a'.repeat(32), [h('172.16.99.2', 'fd99:0000:0000:0000:0000:0000:0000:0002'), h('172.16.99.3', 'fd99:0000:0000:0000:0000:0000:0000:0003')]);
  assert.equal(id.resolve('fd99::2'), '172.16.99.2');
  assert.equal(id.resolve('FD99:0:0:0:0:0:0:3'), '172.16.99.3');
  assert.equal(id.resolve('::ffff:172.16.99.2'), '172.16.99.2');
  assert.equal(id.resolve('172.16.99.9'), '172.16.99.9');
  assert.equal(id.resolve('fd99::9'), 'fd99::9', 'unknown IPv6 stays itself');
});

test('an IPv6 shared by several peers (one host) is ambiguous and is not aliased', () => {
  const id = new SwarmIdentity();
  id.learn('b'.repeat(32), [h('127.0.0.2', '0000:0000:0000:0000:0000:0000:0000:0001'), h('127.0.0.3', '0000:0000:0000:0000:0000:0000:0000:0001')]);
  assert.equal(id.resolve('::1'), '::1');
});

test('a peer gone from every holder list is reported once; one still listed for another file is not', () => {
  const id = new SwarmIdentity();
  const f1 = '1'.repeat(32);
  const f2 = '2'.repeat(32);
  assert.deepEqual(id.learn(f1, [h('10.0.0.2', 'fd00::2'), h('10.0.0.3', 'fd00::3')]), []);
  assert.deepEqual(id.learn(f2, [h('10.0.0.3', 'fd00::3')]), []);
  assert.deepEqual(id.learn(f1, []), ['10.0.0.2']);
  assert.equal(id.resolve('fd00::2'), 'fd00::2', 'alias dropped with the peer');
  assert.equal(id.resolve('fd00::3'), '10.0.0.3');
  assert.deepEqual(id.learn(f2, []), ['10.0.0.3']);
  assert.deepEqual(id.learn(f2, []), []);
});

test('a list as long as a sample (SAMPLED_AT) reports nobody gone; a shorter, complete one does', () => {
  const id = new SwarmIdentity();
  const md5 = '3'.repeat(32);
  const many = (from: number): ReturnType<typeof h>[] => Array.from({ length: SAMPLED_AT }, (_, i) => h(`10.2.${Math.floor((from + i) / 250)}.${((from + i) % 250) + 1}`, `fd02::${(from + i).toString(16)}`));
  assert.deepEqual(id.learn(md5, many(0)), []);
  // the tracker's next sample is other holders: those left out have not left
  assert.deepEqual(id.learn(md5, many(SAMPLED_AT)), []);
  assert.equal(id.known().length, 2 * SAMPLED_AT, 'both samples remembered');
  // past what is remembered from samples, a sample starts afresh, still reporting nobody gone
  const fresh = new SwarmIdentity();
  for (let from = 0; from <= 4096; from += SAMPLED_AT) assert.deepEqual(fresh.learn(md5, many(from)), [], `sample from ${from}`);
  assert.ok(fresh.known().length <= 4096);
  // a complete list (shorter than a sample) is the truth: everyone else is gone
  const gone = id.learn(md5, [h('10.2.0.1', 'fd02::0')]);
  assert.equal(gone.length, 2 * SAMPLED_AT - 1);
  assert.ok(!gone.includes('10.2.0.1'));
});

test('the policy counts an IPv6 remote under the IPv4 key and forgets departed peers', () => {
  const bw = createBandwidthPolicy({ upRate: 0, choker: { timers: { setTimeout: () => 0, clearTimeout: () => undefined } } });
  const md5 = 'c'.repeat(32);
  bw.learnHolders(md5, [h('10.1.0.2', 'fd01:0000:0000:0000:0000:0000:0000:0002')]);
  bw.traffic.downloaded('10.1.0.2', 1000);
  bw.traffic.uploaded('fd01::2', 500);
  const st = bw.status();
  assert.deepEqual(st.peers.map((p) => [p.remote, p.downloaded, p.uploaded]), [['10.1.0.2', 1000, 500]]);
  assert.equal(st.uploaded, 500);
  assert.equal(st.downloaded, 1000);
  assert.deepEqual(bw.learnHolders(md5, []), ['10.1.0.2']);
  assert.deepEqual(bw.status().peers, []);
  assert.equal(bw.status().uploaded, 500, 'totals keep forgotten peers\' bytes');
});
