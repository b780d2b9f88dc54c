import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { ArgumentError, ErrorCode } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { peerAddress } from '../../src/protocol/address.js';
import { addFloodOptions, parseFloodOptions, parseNeighbor, parseQueryWait, parseTtl } from '../../src/cli/peer/flood-flags.js';
import { createConfiguredFlood } from '../../src/peer/flood/configured.js';

const isArgumentError = (pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof ArgumentError, `expected an ArgumentError, got ${String(err)}`);
  assert.equal(err.code, ErrorCode.BAD_ARGUMENT);
  assert.match(err.message, pattern);
  return true;
};

test('--neighbor takes HOST:PORT with an IP literal; the port defaults to 5000', () => {
  assert.deepEqual(parseNeighbor('127.0.0.2:5001'), { host: '127.0.0.2', port: 5001 });
  assert.deepEqual(parseNeighbor('127.0.0.2'), { host: '127.0.0.2', port: 5000 });
  assert.deepEqual(parseNeighbor('[::1]:6000'), { host: '0000:0000:0000:0000:0000:0000:0000:0001', port: 6000 });
  assert.deepEqual(parseNeighbor('010.000.000.001:7'), { host: '10.0.0.1', port: 7 });
  assert.throws(() => parseNeighbor('127.0.0.2:0'), isArgumentError(/--neighbor "127.0.0.2:0"/));
  assert.throws(() => parseNeighbor('127.0.0.2:65536'), isArgumentError(/1..65535/));
  assert.throws(() => parseNeighbor('localhost:5000'), isArgumentError(/IPv4 or IPv6 address/));
  assert.throws(() => parseNeighbor('0.0.0.0:5000'), isArgumentError(/not a name, not 0.0.0.0/));
  assert.throws(() => parseNeighbor('1.2.3.4:x'), isArgumentError(/HOST:PORT/));
  assert.throws(() => parseNeighbor(''), ArgumentError);
});

test('--ttl is 1..99 and --quer-wait is 0..3600 seconds', () => {
  assert.equal(parseTtl(undefined), 4);
  assert.equal(parseTtl('1'), 1);
  assert.equal(parseTtl('99'), 99);
  assert.equal(parseTtl(7), 7);
  for (const bad of ['0', '100', '-1', '2.5', 'x', '', '1e1']) assert.throws(() => parseTtl(bad), isArgumentError(/--ttl/));
  assert.equal(parseQueryWait(undefined), 5000);
  assert.equal(parseQueryWait('0'), 0);
  assert.equal(parseQueryWait('2.5'), 2500);
  assert.equal(parseQueryWait(3600), 3_600_000);
  for (const bad of ['-1', '3601', 'x', '', 'Infinity', '1e3']) assert.throws(() => parseQueryWait(bad), isArgumentError(/--quer-wait/));
});

test('parseFloodOptions: neighbours deduplicated and capped, the query validated', () => {
  const s = parseFloodOptions({ neighbor: ['127.0.0.2:5001', '127.0.0.3', '127.0.0.2:5001'], quer: ' song ', ttl: '3', querWait: '1.5' });
  assert.deepEqual(s.neighbors, [{ host: '127.0.0.2', port: 5001 }, { host: '127.0.0.3', port: 5000 }]);
  assert.deepEqual(s.query, { text: 'song', ttl: 3, waitMs: 1500, getHits: false });
  assert.equal(parseFloodOptions({}).query, null);
  assert.equal(parseFloodOptions({ quer: 'song', getHits: true }).query?.getHits, true);
  assert.throws(() => parseFloodOptions({ getHits: true }), isArgumentError(/--get-hits needs --quer/));
  assert.throws(() => parseFloodOptions({ quer: '   ' }), isArgumentError(/--quer: the query is empty/));
  assert.throws(() => parseFloodOptions({ quer: 'x'.repeat(21) }), isArgumentError(/longer than 20 bytes/));
  assert.throws(() => parseFloodOptions({ quer: 'é'.repeat(11) }), isArgumentError(/20 bytes/), '22 bytes of UTF-8');
  assert.equal(parseFloodOptions({ quer: 'é'.repeat(10) }).query?.text, 'é'.repeat(10));
  assert.throws(() => parseFloodOptions({ neighbor: ['127.0.0.2', '127.0.0.3'] }, { maxNeighbors: 1 }), isArgumentError(/at most 1/));
});

test('addFloodOptions registers the options on a commander command', () => {
  const cmd = addFloodOptions(new Command('peer').exitOverride());
  cmd.parse(['--neighbor', '127.0.0.2:5001', '--neighbor', '[::1]:5002', '--quer', 'abc', '--ttl', '2', '--quer-wait', '0.5', '--get-hits'], { from: 'user' });
  const s = parseFloodOptions(cmd.opts());
  assert.equal(s.neighbors.length, 2);
  assert.deepEqual(s.query, { text: 'abc', ttl: 2, waitMs: 500, getHits: true });
  const defaults = addFloodOptions(new Command('peer').exitOverride());
  defaults.parse([], { from: 'user' });
  assert.deepEqual(parseFloodOptions(defaults.opts()), { neighbors: [], query: null, ttl: 4, waitMs: 5000 });
});

test('createConfiguredFlood pins the configured neighbours and refuses ourselves', () => {
  const self = { address: peerAddress('127.0.0.2', '::1'), port: 5001 };
  const deps = { self, sharedFiles: () => [], logger: silentLogger() };
  const service = createConfiguredFlood(parseFloodOptions({ neighbor: ['127.0.0.3:5000', '127.0.0.4:5000'] }).neighbors, deps);
  assert.deepEqual(service.neighbors.list().map((n) => [n.ip4, n.port, n.source]), [
    ['127.0.0.3', 5000, 'configured'],
    ['127.0.0.4', 5000, 'configured'],
  ]);
  assert.equal(service.learnNeighbor(peerAddress('127.0.0.5', '::1'), 5000), 'added');
  service.close();
  assert.throws(() => createConfiguredFlood(parseFloodOptions({ neighbor: ['127.0.0.2:5001'] }).neighbors, deps), isArgumentError(/this peer itself/));
});
