/**
 * The downloader's FCHU period follows the poll policy: a swarm whose answers
 * bring nothing new is asked less and less often (down to --poll-max), while a
 * starving or changing download keeps asking at --poll-interval. Counted at a
 * real tracker (its own request counter), with periods short enough that the
 * difference is many requests, not milliseconds.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { startPeer } from '../../src/peer/index.js';
import { nextPollInterval } from '../../src/peer/poll-policy.js';
import { Sandbox } from '../support/process.js';
import { testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

test('the poll interval doubles while answers bring nothing new, up to the maximum, and resets on news or starvation', () => {
  const options = { minMs: 100, maxMs: 800, growth: 2, jitter: 0, enoughOwners: 8, smallSwarm: 32, smallSwarmShare: 1 };
  const quiet = { newHolders: 0, newParts: 0, usefulOwners: 1, gained: 0, listed: 1 };
  const seq: number[] = [];
  let ms = 100;
  for (let i = 0; i < 5; i++) seq.push((ms = nextPollInterval(ms, quiet, false, options)));
  assert.deepEqual(seq, [200, 400, 800, 800, 800]);
  assert.equal(nextPollInterval(800, { ...quiet, newParts: 1 }, false, options), 100, 'a part nobody we knew had');
  assert.equal(nextPollInterval(800, { ...quiet, newHolders: 1 }, false, options), 100, 'a new owner while we know few');
  assert.equal(nextPollInterval(800, quiet, true, options), 100, 'starving');
});

test('a download whose only owner never changes asks the tracker less often than every --poll-interval', { timeout: 60_000 }, async () => {
  const tracker = await testTracker();
  const dir = sandbox.tempDir();
  const file = join(dir, 'slow.bin');
  writeRandomFile(file, 8 * 65536);
  const seed = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.111', ip6: '::1', port: 0, dir, partSize: 65536, upRate: 16_384, log: silentLogger() });
  const leecher = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.112', ip6: '::1', port: 0, dir: sandbox.tempDir(), pollMs: 100, pollMaxMs: 1600, log: silentLogger() });
  try {
    const { md5 } = await seed.share(file);
    let fchus = 0;
    const off = tracker.addObserver({ request: (r) => { if (r.command === 'FCHU') fchus++; } });
    const started = performance.now();
    const outcome = await leecher.get(md5);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(outcome.type, 'complete');
    off();
    // At a fixed 100 ms the leecher would have asked about 10 per second; the policy backs off to 1.6 s.
    assert.ok(seconds > 10, `the download took ${seconds.toFixed(1)} s (the seed sends 16 kB/s)`);
    assert.ok(fchus < 10 * seconds * 0.5, `${fchus} FCHUs in ${seconds.toFixed(1)} s`);
  } finally {
    await leecher.close();
    await seed.close();
    await tracker.close();
  }
});
