/** Helpers for peer integration tests: an in-process tracker, random files, md5s, peer processes. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import assert from 'node:assert/strict';
import { TRACKER_REPLIES, encodeMessage } from '../../src/protocol/index.js';
import { type RunningTracker, startTracker } from '../../src/tracker/index.js';
import { exchange } from './net.js';
import type { CliProcess, Sandbox } from './process.js';

export async function testTracker(host = '127.0.0.1'): Promise<RunningTracker> {
  return startTracker({ host, port: 0, dbPath: ':memory:' });
}

/** One helper for tests, benchmarks and the demo (it returns the file's md5). */
export { writeRandomFile } from '../../scripts/lib/processes.js';

export function md5OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('md5');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Spawns `bugtorrent peer --json` on 127.0.0.<n> / ::1 with a free port and waits for `ready`. */
export async function spawnPeer(
  sandbox: Sandbox,
  tracker: RunningTracker,
  n: number,
  dir: string,
  extra: string[],
): Promise<{ proc: CliProcess; ip4: string; port: number }> {
  const ip4 = `127.0.0.${n}`;
  const proc = sandbox.spawn([
    'peer', '--tracker', `127.0.0.1:${tracker.port}`, '--ip4', ip4, '--ip6', '::1', '--port', '0', '--dir', dir,
    '--json', '--poll-interval', '0.5', '--stall-timeout', '3', '--logout-retry', '0.3', ...extra,
  ]);
  const ready = await proc.waitForEvent('ready');
  return { proc, ip4, port: ready['port'] as number };
}

/**
 * Logs `ip4`:`port` in at the tracker (from `ip4`) and makes it a full owner of
 * the file (ADDR), as a peer would: for owners the test plays itself.
 */
export async function registerOwner(
  trackerPort: number,
  ip4: string,
  port: number,
  file: { md5: string; fileLength: number; partLength: number; fileName: string },
): Promise<void> {
  const login = await exchange('127.0.0.1', trackerPort, encodeMessage({ command: 'LOGI', address: { ip4, ip6: '::1' }, port }), { accept: TRACKER_REPLIES, localAddress: ip4 });
  assert.equal(login.message?.command, 'ALGI');
  const sessionId = (login.message as { sessionId: string }).sessionId;
  const added = await exchange(
    '127.0.0.1',
    trackerPort,
    encodeMessage({ command: 'ADDR', sessionId, fileLength: file.fileLength, partLength: file.partLength, fileName: file.fileName, md5: file.md5 }),
    { accept: TRACKER_REPLIES, localAddress: ip4 },
  );
  assert.equal(added.message?.command, 'AADR');
}
