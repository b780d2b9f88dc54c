/**
 * A download into a folder that runs out of space, for real: the leecher runs in
 * a private mount namespace (unshare, as root) whose download folder is a 1 MiB
 * tmpfs, fetching a 3 MiB file. It must stop with a typed error (no stack
 * trace, no unhandled rejection), keep its state, log out, and exit 1; once the
 * tmpfs is made larger, the same command resumes from the parts it kept and
 * ends verified. The tracker and the seed run in this process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { startPeer } from '../../src/peer/index.js';
import { CLI, Sandbox } from '../support/process.js';
import { md5OfFile, testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

test('a full disk stops the download cleanly with BT_DISK_FULL; with space back, it resumes and ends verified', { timeout: 120_000 }, async () => {
  const tracker = await testTracker();
  const seedDir = sandbox.tempDir();
  const file = join(seedDir, 'big.bin');
  writeRandomFile(file, 3 * 1024 * 1024 + 17);
  const md5 = await md5OfFile(file);
  const seed = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.101', ip6: '::1', port: 0, dir: seedDir, partSize: 65536, log: silentLogger() });
  try {
    await seed.share(file);
    const mnt = sandbox.tempDir('bugtorrent-tmpfs-');
    const peer = `'${process.execPath}' '${CLI}' peer --tracker 127.0.0.1:${tracker.port} --ip4 127.0.0.102 --ip6 ::1 --port 0 --dir '${mnt}' --json --poll-interval 0.2 --get ${md5} --exit-when-done`;
    // Two runs in one mount namespace: the first on 1 MiB, then (after a line on stdin) on 8 MiB.
    const script = `mount -t tmpfs -o size=1m tmpfs '${mnt}' || exit 99; ${peer}; echo "FIRST:$?"; read go; mount -o remount,size=8m '${mnt}'; ${peer}; echo "SECOND:$?"; umount '${mnt}'`;
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const events: Record<string, unknown>[] = [];
    const marks: string[] = [];
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let wake: (() => void) | null = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (/^(FIRST|SECOND):/.test(line)) marks.push(line);
      else events.push(JSON.parse(line) as Record<string, unknown>);
      wake?.();
    });
    const until = async (ok: () => boolean): Promise<void> => {
      while (!ok()) {
        if (child.exitCode !== null) throw new Error(`exited early; events ${JSON.stringify(events)} stderr ${stderr}`);
        await new Promise<void>((r) => { wake = r; setTimeout(r, 500); });
      }
    };
    await until(() => marks.length === 1);
    assert.equal(marks[0], 'FIRST:1', `the first run exits 1\n${stderr}`);
    const failure = events.find((e) => e['event'] === 'error');
    assert.ok(failure, JSON.stringify(events));
    assert.equal(failure['code'], 'BT_DISK_FULL');
    assert.match(failure['message'] as string, /no space left on the device \(ENOSPC\)/);
    assert.equal(failure['md5'], md5);
    const firstRun = events.splice(0);
    const kept = firstRun.filter((e) => e['event'] === 'part').length;
    assert.ok(kept > 0 && kept < 49, `some parts were kept before the disk filled (${kept})`);
    assert.ok(firstRun.some((e) => e['event'] === 'logout'), 'it logged out');
    assert.doesNotMatch(stderr, /UnhandledPromiseRejection|\n\s+at /, 'no stack trace, no unhandled rejection');

    child.stdin.write('go\n');
    await until(() => marks.length === 2);
    assert.equal(marks[1], 'SECOND:0', stderr);
    const started = events.find((e) => e['event'] === 'started');
    assert.equal(started?.['have'], kept, 'the second run starts from the parts the first one kept');
    assert.equal(events.filter((e) => e['event'] === 'part').length, 49 - kept, 'and fetches only the rest');
    assert.ok(events.some((e) => e['event'] === 'complete'));
    await new Promise((r) => child.once('exit', r));
  } finally {
    await seed.close();
    await tracker.close();
  }
});
