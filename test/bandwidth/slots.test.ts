/**
 * Upload slots and rate over real sockets: real peer processes on distinct
 * 127.0.0.x addresses, low rates. The assertions read the seed's own `peers` and
 * `choke` events (byte counts with timestamps), with generous bounds: no speed
 * is asserted, only limits that hold whatever the machine's load.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Sandbox } from '../support/process.js';
import { md5OfFile, registerOwner, spawnPeer, testTracker, writeRandomFile } from '../support/peer.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface PeersEvent {
  t: number;
  uploaded: number;
  uploadSlots: number;
  upLimit: number;
  unchoked: string[];
  servingPeers: number;
  peers: { remote: string; uploaded: number; choked: boolean; serving: number; waiting: number }[];
}

describe('upload slots and rate over real sockets', { concurrency: 2 }, () => {
  test('the seed serves at most slots + 1 peers at once and stays within its rate', { timeout: 170_000 }, async () => {
    const tracker = await testTracker();
    try {
      const seedDir = sandbox.tempDir();
      const file = join(seedDir, 'slots.bin');
      writeRandomFile(file, 1536 * 1024 + 999);
      const expected = await md5OfFile(file);
      const slots = 2;
      const rate = 400_000;
      const seed = await spawnPeer(sandbox, tracker, 41, seedDir, [
        '--share', file, '--part-size', '65536', '--up-rate', String(rate), '--upload-slots', String(slots),
        '--peers-interval', '0.3', '--http-port', '0',
      ]);
      await seed.proc.waitForEvent('shared');
      const metricsEvent = await seed.proc.waitForEvent('metrics');
      const leechers = await Promise.all(
        [42, 43, 44, 45].map((n) => spawnPeer(sandbox, tracker, n, sandbox.tempDir(), ['--get', expected, '--up-rate', '200KB'])),
      );
      const completes = await Promise.all(leechers.map((l) => l.proc.waitForEvent('complete', () => true, 150_000)));
      for (const c of completes) assert.equal(await md5OfFile(c['path'] as string), expected);
      // one more snapshot after the last part went out
      const lastT = (seed.proc.stdoutLines.filter((e) => e['event'] === 'peers').pop()?.['t'] as number | undefined) ?? 0;
      await seed.proc.waitForEvent('peers', (e) => (e['t'] as number) > lastT, 30_000);

      const snaps = seed.proc.stdoutLines.filter((e) => e['event'] === 'peers') as unknown as PeersEvent[];
      assert.ok(snaps.length >= 3, `expected several peers events, got ${snaps.length}`);
      const burst = 4096 + Math.ceil((rate * 20) / 1000);
      let maxServing = 0;
      for (const s of snaps) {
        assert.equal(s.uploadSlots, slots);
        assert.equal(s.upLimit, rate);
        assert.ok(s.unchoked.length <= slots + 1, `unchoked ${s.unchoked.join(',')} at t=${s.t}`);
        const serving = s.peers.filter((p) => p.serving > 0).length;
        assert.ok(serving <= slots + 1 && s.servingPeers <= slots + 1, `serving ${serving} peers at t=${s.t}`);
        maxServing = Math.max(maxServing, serving);
      }
      // The token bucket's guarantee, between any two snapshots: at most burst + rate x
      // the time between them. Both figures of a snapshot are read together by the seed,
      // on the clock its bucket runs on, so a busy machine (late timers, a slow event
      // loop) only ever makes the bytes fewer; 1 ms of slack covers t's rounding.
      for (let i = 0; i < snaps.length; i++) {
        for (let j = i + 1; j < snaps.length; j++) {
          const [a, b] = [snaps[i]!, snaps[j]!];
          const allowed = burst + rate * (b.t - a.t + 0.001);
          assert.ok(b.uploaded - a.uploaded <= allowed, `uploaded ${b.uploaded - a.uploaded} bytes between t=${a.t} and t=${b.t} s at ${rate} B/s (at most ${allowed})`);
        }
      }
      const total = snaps[snaps.length - 1]!.uploaded;
      assert.ok(total >= 1536 * 1024, `the seed uploaded at least one copy (${total} bytes)`);
      for (const c of seed.proc.stdoutLines.filter((e) => e['event'] === 'choke')) {
        assert.ok((c['regular'] as string[]).length <= slots, `round ${String(c['round'])}: ${(c['regular'] as string[]).join(',')}`);
      }
      // Prometheus metrics from the same counters.
      const m = await httpGet(metricsEvent['port'] as number, '/metrics');
      assert.equal(m.status, 200);
      const up = /^bugtorrent_peer_uploaded_bytes_total (\d+)/m.exec(m.body);
      assert.ok(up && Number(up[1]) >= total, 'uploaded bytes in /metrics');
      assert.match(m.body, /bugtorrent_peer_remote_peers\{state="unchoked"\} \d+/);
      assert.match(m.body, /bugtorrent_peer_parts_done \d+/);
    } finally {
      await tracker.close();
    }
  });

  test('a choked downloader does not count the owner as faulty and still completes', { timeout: 170_000 }, async () => {
    const tracker = await testTracker();
    try {
      const seedDir = sandbox.tempDir();
      const file = join(seedDir, 'choked.bin');
      writeRandomFile(file, 640 * 1024);
      const expected = await md5OfFile(file);
      // One regular slot + the optimistic one, three free riders asking at once: one is choked.
      // The leechers start first, so their first requests reach the seed within one poll
      // (0.5 s) of each other however long each process takes to start; at 200 KB/s the two
      // served take over 6 s, longer than a choked request is held (2 s) before its close.
      // --stall-timeout 20: longer than the longest hold (4 x 2 s), so a held request always
      // ends in the seed's close, never in our timeout.
      // So that the leechers find the file at once (a --get gives up on a file the tracker
      // does not know after 30 s, and the seed may take that long to start on a loaded
      // machine), a stand-in owner registers it first: it closes every request unanswered.
      const standIn = createServer((socket) => socket.destroy());
      await new Promise<void>((r) => standIn.listen(0, '127.0.0.59', () => r()));
      sandbox.defer(() => new Promise<void>((r) => standIn.close(() => r())));
      await registerOwner(tracker.port, '127.0.0.59', (standIn.address() as AddressInfo).port, { md5: expected, fileLength: 640 * 1024, partLength: 65536, fileName: 'choked.bin' });
      const leechers = await Promise.all(
        [52, 53, 54].map((n) =>
          spawnPeer(sandbox, tracker, n, sandbox.tempDir(), ['--get', expected, '--no-upload', '--exit-when-done', '--stall-timeout', '20']),
        ),
      );
      const seed = await spawnPeer(sandbox, tracker, 51, seedDir, ['--share', file, '--part-size', '65536', '--up-rate', '200KB', '--upload-slots', '1']);
      await seed.proc.waitForEvent('shared');
      const completes = await Promise.all(leechers.map((l) => l.proc.waitForEvent('complete', () => true, 150_000)));
      for (const c of completes) assert.equal(await md5OfFile(c['path'] as string), expected);
      const seedKey = `${seed.ip4}:${seed.port}`;
      const logs = leechers.flatMap((l) => l.proc.stderrLines);
      const choked = logs.filter((l) => l['msg'] === 'choked by owner; asking others first');
      // The seed chokes some of them; the free riders, listed as owners once they hold parts, choke everyone.
      assert.ok(choked.some((l) => l['owner'] === seedKey), 'some leecher was choked by the seed');
      const faults = logs.filter((l) => l['msg'] === 'part fetch failed; retrying elsewhere' && l['owner'] === seedKey);
      assert.deepEqual(faults.map((l) => l['err']), [], 'no fetch from the seed counted as a fault');
      for (const l of leechers) assert.equal((await l.proc.exited).code, 0);
    } finally {
      await tracker.close();
    }
  });

  test('work-conserving: the seed refuses a request only while every place is served or kept for a claimant ahead', { timeout: 60_000 }, async () => {
    const tracker = await testTracker();
    try {
      const seedDir = sandbox.tempDir();
      const file = join(seedDir, 'full.bin');
      writeRandomFile(file, 1024 * 1024);
      const expected = await md5OfFile(file);
      // one slot + the optimistic one = two places; four leechers that only the seed can serve
      const seed = await spawnPeer(sandbox, tracker, 61, seedDir, ['--share', file, '--part-size', '65536', '--up-rate', '400KB', '--upload-slots', '1', '--log-level', 'debug']);
      await seed.proc.waitForEvent('shared');
      const leechers = await Promise.all(
        [62, 63, 64, 65].map((n) => spawnPeer(sandbox, tracker, n, sandbox.tempDir(), ['--get', expected, '--no-upload', '--exit-when-done'])),
      );
      const completes = await Promise.all(leechers.map((l) => l.proc.waitForEvent('complete', () => true, 50_000)));
      for (const c of completes) assert.equal(await md5OfFile(c['path'] as string), expected);
      const refusals = seed.proc.stderrLines.filter((l) => l['msg'] === 'request refused: no free place');
      assert.ok(refusals.length > 0, 'requests were refused (more askers than places)');
      for (const r of refusals) {
        assert.equal(r['places'], 2);
        assert.equal((r['serving'] as number) + (r['reserved'] as number), 2, `refused ${String(r['remote'])} with ${String(r['serving'])} of 2 places served and ${String(r['reserved'])} kept for claimants`);
      }
      assert.ok(refusals.some((r) => r['serving'] === 2), 'most refusals find every place served');
      // Each refused leecher read the seed's immediate close as "choked" and asked again: no fault, and all finished.
      // (A leecher that finished and left can still be listed: connecting to it fails, and that is a fault.)
      const seedKey = `${seed.ip4}:${seed.port}`;
      for (const l of leechers) {
        const faults = l.proc.stderrLines.filter((x) => x['msg'] === 'part fetch failed; retrying elsewhere' && x['owner'] === seedKey);
        assert.deepEqual(faults.map((x) => x['err']), []);
      }
    } finally {
      await tracker.close();
    }
  });
});
