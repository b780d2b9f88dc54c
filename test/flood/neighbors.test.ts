import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerAddress } from '../../src/protocol/address.js';
import { NeighborSet, endpointOf, formatNeighbor } from '../../src/peer/flood/neighbors.js';

const self = { address: peerAddress('10.0.0.1', 'fd00::1'), port: 5000 };

test('configured neighbours are pinned; learned ones are evicted least recently learned first', () => {
  const s = new NeighborSet({ self, maxNeighbors: 3 });
  assert.equal(s.addConfigured('10.0.0.2', 5000), 'added');
  assert.equal(s.learn('10.0.0.3', 5000), 'added');
  assert.equal(s.learn('10.0.0.4', 5000), 'added');
  assert.equal(s.learn('10.0.0.3', 5000), 'known', 'relearning refreshes 10.0.0.3');
  assert.equal(s.learn('10.0.0.5', 5000), 'added', 'evicts 10.0.0.4, the stalest');
  assert.deepEqual(s.list().map(formatNeighbor), ['10.0.0.2:5000', '10.0.0.3:5000', '10.0.0.5:5000']);
  assert.equal(s.addConfigured('10.0.0.6', 5000), 'added', 'a configured one evicts a learned one');
  assert.equal(s.size, 3);
  assert.equal(s.list().filter((n) => n.source === 'configured').length, 2);
});

test('when configured neighbours fill the set, nothing more is learned', () => {
  const s = new NeighborSet({ maxNeighbors: 1 });
  assert.equal(s.addConfigured('10.0.0.2', 5000), 'added');
  assert.equal(s.addConfigured('10.0.0.3', 5000), 'full');
  assert.equal(s.learn('10.0.0.4', 5000), 'full');
  assert.equal(s.size, 1);
});

test('ourselves, unusable addresses and bad ports are refused; duplicates are one neighbour', () => {
  const s = new NeighborSet({ self });
  assert.equal(s.addConfigured('10.0.0.1', 5000), 'self');
  assert.equal(s.learn(peerAddress('10.0.0.1', 'fd00::9'), 5000), 'self');
  assert.equal(s.addConfigured('10.0.0.1', 5001), 'added', 'same host, other port: another peer');
  assert.equal(s.learn('0.0.0.0', 5000), 'unusable');
  assert.equal(s.learn(peerAddress('0.0.0.0', '::'), 5000), 'unusable');
  assert.equal(s.learn('example.org', 5000), 'unusable');
  assert.equal(s.learn('10.0.0.7', 0), 'unusable');
  assert.equal(s.learn('10.0.0.7', 70000), 'unusable');
  assert.equal(s.addConfigured('010.000.000.007', 5000), 'added');
  assert.equal(s.learn(peerAddress('10.0.0.7', 'fd00::7'), 5000), 'known', 'known by its IPv4 address');
  assert.equal(s.learn('::ffff:10.0.0.7', 5000), 'known');
});

test('a peer with a usable IPv4 is keyed by it and keeps its IPv6 as a fallback; IPv6-only peers work too', () => {
  assert.deepEqual(endpointOf(peerAddress('10.0.0.7', 'FD00::7')), { ip4: '10.0.0.7', ip6: 'fd00:0000:0000:0000:0000:0000:0000:0007' });
  assert.deepEqual(endpointOf(peerAddress('0.0.0.0', 'fd00::7')), { ip4: null, ip6: 'fd00:0000:0000:0000:0000:0000:0000:0007' });
  assert.deepEqual(endpointOf('[::1]'), { ip4: null, ip6: '0000:0000:0000:0000:0000:0000:0000:0001' });
  const s = new NeighborSet();
  assert.equal(s.addConfigured('fd00::7', 6000), 'added');
  assert.equal(s.learn(peerAddress('0.0.0.0', 'fd00:0:0:0:0:0:0:7'), 6000), 'known');
  assert.equal(formatNeighbor(s.list()[0]!), '[fd00:0000:0000:0000:0000:0000:0000:0007]:6000');
});

test('remove forgets a neighbour of either kind', () => {
  const s = new NeighborSet();
  s.addConfigured('10.0.0.2', 5000);
  s.learn('10.0.0.3', 5000);
  assert.equal(s.remove('10.0.0.2', 5000), true);
  assert.equal(s.remove('10.0.0.3', 5000), true);
  assert.equal(s.remove('10.0.0.3', 5000), false);
  assert.equal(s.size, 0);
});
