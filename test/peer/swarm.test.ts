/**
 * Real processes over real sockets: a tracker (in-process), one seeder whose
 * upload is rate-limited, and leechers on distinct 127.0.0.x addresses.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Sandbox } from '../support/process.js';
import { md5OfFile, spawnPeer, testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

test('one seeder and five leechers: every copy matches and leechers trade parts with each other', { timeout: 90_000 }, async () => {
  const tracker = await testTracker();
  try {
    const seedDir = sandbox.tempDir();
    const file = join(seedDir, 'random.bin');
    // 20 MiB plus a tail: the last part is short.
    const size = 20 * 1024 * 1024 + 777;
    writeRandomFile(file, size);
    const expected = await md5OfFile(file);
    // The seeder alone could serve the five copies only at 4 MB/s (26 s); leechers are unlimited,
    // so most parts must come from other leechers.
    const seeder = await spawnPeer(sandbox, tracker, 2, seedDir, ['--share', file, '--up-rate', '4MB']);
    const shared = await seeder.proc.waitForEvent('shared');
    assert.equal(shared['md5'], expected);
    assert.equal(shared['parts'], 81);

    const leechers = await Promise.all(
      [3, 4, 5, 6, 7].map((n) => spawnPeer(sandbox, tracker, n, sandbox.tempDir(), ['--get', expected, '--exit-when-done'])),
    );
    const leecherAddrs = new Set(leechers.map((l) => `127.0.0.${l.ip4.split('.')[3]}:${l.port}`));
    const completes = await Promise.all(leechers.map((l) => l.proc.waitForEvent('complete', () => true, 80_000)));
    for (const c of completes) assert.equal(await md5OfFile(c['path'] as string), expected);
    for (const l of leechers) {
      const { code } = await l.proc.exited;
      assert.equal(code, 0);
    }
    const seederAddr = `${seeder.ip4}:${seeder.port}`;
    let fromLeechers = 0;
    for (const l of leechers) {
      const parts = l.proc.stdoutLines.filter((e) => e['event'] === 'part');
      assert.equal(parts.length, 81, 'each part is reported once');
      assert.equal(new Set(parts.map((p) => p['part'])).size, 81);
      for (const p of parts) {
        const from = p['from'] as string;
        assert.ok(from === seederAddr || leecherAddrs.has(from), `part from unknown owner ${from}`);
        assert.notEqual(from, `${l.ip4}:${l.port}`, 'never from ourselves');
        if (leecherAddrs.has(from)) fromLeechers++;
      }
    }
    assert.ok(fromLeechers > 0, 'leechers obtained parts from each other');
    // The seeder sends at most 4 MB/s; five copies need 106 MB: most must have come from leechers.
    assert.ok(fromLeechers >= 81, `expected most parts from leechers, got ${fromLeechers} of ${5 * 81}`);
  } finally {
    await tracker.close();
  }
});

test('a seeder that leaves once every part has a second copy does not stop the others', { timeout: 60_000 }, async () => {
  const tracker = await testTracker();
  try {
    const seedDir = sandbox.tempDir();
    const file = join(seedDir, 'leaving.bin');
    const size = 6 * 1024 * 1024 + 12345;
    writeRandomFile(file, size);
    const expected = await md5OfFile(file);
    const seeder = await spawnPeer(sandbox, tracker, 12, seedDir, ['--share', file, '--up-rate', '3MB']);
    await seeder.proc.waitForEvent('shared');
    const leechers = await Promise.all(
      // No --exit-when-done: a finished leecher may hold the only other copy of a part.
      [13, 14, 15].map((n) => spawnPeer(sandbox, tracker, n, sandbox.tempDir(), ['--get', expected, '--up-rate', '1MB'])),
    );
    // Ask the seeder to quit at once: the tracker refuses (NLOG) until each part has another holder.
    seeder.proc.child.kill('SIGINT');
    const refused = await seeder.proc.waitForEvent('logout', (e) => e['accepted'] === false);
    assert.equal(typeof refused['partsDown'], 'number');
    await seeder.proc.waitForEvent('logout', (e) => e['accepted'] === true, 40_000);
    const { code } = await seeder.proc.exited;
    assert.equal(code, 0);
    const stillRunning = leechers.filter((l) => !l.proc.stdoutLines.some((e) => e['event'] === 'complete'));
    const completes = await Promise.all(leechers.map((l) => l.proc.waitForEvent('complete', () => true, 40_000)));
    for (const c of completes) assert.equal(await md5OfFile(c['path'] as string), expected);
    assert.ok(stillRunning.length > 0, 'some leecher finished only after the seeder had left');
  } finally {
    await tracker.close();
  }
});
