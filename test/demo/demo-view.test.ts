/** The pure half of the demo: its command line and its status text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PeerView, bar, parseDemoArgs, statusBlock, statusLine, summary } from '../../scripts/lib/demo-view.js';

test('defaults: 24 MiB, 6 leechers, seed 1 MB/s, leechers 512 kB/s, dashboard on 8080 or a free port', () => {
  assert.deepEqual(parseDemoArgs([]), {
    size: 24 * 2 ** 20, leechers: 6, seedRate: 1_000_000, leecherRate: 512_000, stagger: 3,
    httpPort: null, exitWhenDone: false, duration: 0, statusEvery: 5,
  });
  assert.equal(parseDemoArgs(['--help']), null);
  const c = parseDemoArgs(['--size', '1MB', '--leechers', '2', '--http-port', '0', '--seed-rate', '0', '--exit-when-done', '--duration', '20']);
  assert.equal(c?.size, 1_000_000);
  assert.equal(c?.httpPort, 0);
  assert.equal(c?.seedRate, 0);
  assert.equal(c?.exitWhenDone, true);
  assert.equal(c?.duration, 20);
});

test('junk is refused with the flag named', () => {
  for (const [args, re] of [
    [['--leechers', '0'], /--leechers/],
    [['--leechers', '51'], /--leechers/],
    [['--size', '0'], /--size/],
    [['--seed-rate', 'fast'], /--seed-rate/],
    [['--http-port', '70000'], /--http-port/],
    [['--stagger', '-1'], /--stagger/],
    [['--bogus'], /bogus/],
  ] as const) {
    assert.throws(() => parseDemoArgs([...args]), re);
  }
});

test('status: bars, one line per peer, a compact line, a summary', () => {
  assert.equal(bar(0, 0, 4), '----');
  assert.equal(bar(48, 96, 10), '#####-----');
  assert.equal(bar(96, 96, 10), '##########');
  const peers: PeerView[] = [
    { name: 'seed', ip4: '127.0.0.2', role: 'seed', state: 'seeding', have: 96, parts: 96, startAt: 0, completeAt: null, took: null },
    { name: 'L1', ip4: '127.0.0.3', role: 'leecher', state: 'complete', have: 96, parts: 96, startAt: 1, completeAt: 40.5, took: 39 },
    { name: 'L2', ip4: '127.0.0.4', role: 'leecher', state: 'downloading', have: 12, parts: 96, startAt: 4, completeAt: null, took: null },
    { name: 'L3', ip4: '127.0.0.5', role: 'leecher', state: 'waiting', have: 0, parts: 0, startAt: 20, completeAt: null, took: null },
  ];
  const block = statusBlock(peers, { peers: 3, holders: 3, completeCopies: 2 }, 12, 8, false);
  assert.equal(block.length, 5);
  assert.match(block[0]!, /leechers complete 1\/3 .*3 peers, 3 holders, 2 complete copies/);
  assert.match(block[3]!, /L2 +127\.0\.0\.4 +#------- +12\/96 +downloading/);
  assert.match(block[4]!, /starts in 8 s/);
  assert.equal(statusLine(peers, null, 12), 't+12 s  seed 96/96 | L1 96/96 done | L2 12/96 | L3 -  (tracker: -)');
  const done = peers.map((p) => (p.role === 'leecher' ? { ...p, state: 'complete' as const, completeAt: 50, took: 45 } : p));
  assert.match(summary(done, 1_000_000, 'http://127.0.0.1:8080/').join('\n'), /All 3 leechers .* 1\.00 MB .* 50\.0 s[\s\S]*dashboard stays at http/);
});
