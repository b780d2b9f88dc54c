/** A leecher killed with SIGKILL mid-download and started again keeps what it had. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Sandbox } from '../support/process.js';
import { md5OfFile, spawnPeer, testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

test('a leecher killed with kill -9 and restarted finishes without refetching what it had', { timeout: 60_000 }, async () => {
  const tracker = await testTracker();
  try {
    const seedDir = sandbox.tempDir();
    const file = join(seedDir, 'resume me.bin');
    writeRandomFile(file, 8 * 1024 * 1024 + 4321);
    const expected = await md5OfFile(file);
    const seeder = await spawnPeer(sandbox, tracker, 32, seedDir, ['--share', file, '--up-rate', '2MB']);
    await seeder.proc.waitForEvent('shared');

    const dir = sandbox.tempDir();
    const first = await spawnPeer(sandbox, tracker, 33, dir, ['--get', expected, '--exit-when-done']);
    await first.proc.waitFor('stdout', () => first.proc.stdoutLines.filter((e) => e['event'] === 'part').length >= 8);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    const had = new Set(first.proc.stdoutLines.filter((e) => e['event'] === 'part').map((e) => e['part'] as number));
    assert.ok(had.size >= 8);
    assert.ok(!first.proc.stdoutLines.some((e) => e['event'] === 'complete'), 'killed before the end');
    assert.ok(readdirSync(dir).some((n) => n.endsWith('.bt-state')), 'state kept beside the partial file');

    const second = await spawnPeer(sandbox, tracker, 33, dir, ['--get', expected, '--exit-when-done']);
    const started = await second.proc.waitForEvent('started');
    assert.ok((started['have'] as number) >= had.size, `resumed with ${started['have']} parts, had ${had.size}`);
    const complete = await second.proc.waitForEvent('complete', () => true, 40_000);
    assert.equal(await md5OfFile(complete['path'] as string), expected);
    const refetched = second.proc.stdoutLines.filter((e) => e['event'] === 'part' && had.has(e['part'] as number));
    assert.deepEqual(refetched, [], 'parts held before the kill were not fetched again');
    const total = second.proc.stdoutLines.filter((e) => e['event'] === 'part').length + (started['have'] as number);
    assert.equal(total, 33);
    assert.equal((await second.proc.exited).code, 0);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no partial or state file left');
  } finally {
    await tracker.close();
  }
});
