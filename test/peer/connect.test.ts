/**
 * Which local address a connection is bound to: the peer announces one IPv4 and
 * one IPv6 address and must connect from the one of the same family, or other
 * peers (and the tracker) see a sender they do not know.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localAddressFor } from '../../src/peer/connect.js';

test('IPv6 literals in any spelling bind to our IPv6 address, IPv4 literals and host names to our IPv4 one', () => {
  const local = { ip4: '127.0.0.5', ip6: '::1' };
  for (const host of ['::1', 'fd99::2', '0000:0000:0000:0000:0000:0000:0000:0001', 'FD99::2', '::ffff:10.0.0.1']) assert.equal(localAddressFor(host, local), '::1', host);
  for (const host of ['127.0.0.1', '010.001.002.003', 'localhost', 'tracker.example']) assert.equal(localAddressFor(host, local), '127.0.0.5', host);
  assert.equal(localAddressFor('::1', { ip4: '127.0.0.5' }), undefined, 'no IPv6 address of ours: the system picks');
});
