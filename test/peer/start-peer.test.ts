/**
 * The peer as a library: a tracker, a seed and three leechers in this one Node
 * process, built with `startPeer`, over real loopback sockets on distinct
 * 127.0.0.x addresses. What users of the library rely on: the downloads end
 * verified with the seed's bytes, and the event stream says what happened, in
 * order, once each.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { type PeerEvent, type PeerHandle, startPeer } from '../../src/peer/index.js';
import { Sandbox } from '../support/process.js';
import { md5OfFile, testTracker, writeRandomFile } from '../support/peer.js';
import { seededRandom } from '../support/random.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

test('startPeer: a seed and three leechers in one process; every copy verified; the event stream in order', { timeout: 120_000 }, async () => {
  const tracker = await testTracker();
  const peers: PeerHandle[] = [];
  try {
    const seedDir = sandbox.tempDir();
    const file = join(seedDir, 'library.bin');
    const size = 3 * 65536 * 4 + 1234; // 13 parts of 64 KiB, the last one short
    writeRandomFile(file, size);
    const md5 = await md5OfFile(file);
    const base = { tracker: { host: '127.0.0.1', port: tracker.port }, ip6: '::1', port: 0, partSize: 65536, pollMs: 200, log: silentLogger() };

    const seedEvents: PeerEvent[] = [];
    const seed = await startPeer({ ...base, ip4: '127.0.0.71', dir: seedDir }, (e) => seedEvents.push(e));
    peers.push(seed);
    const shared = await seed.share(file);
    assert.equal(shared.md5, md5);
    assert.equal(shared.parts, 13);
    assert.deepEqual(seedEvents.filter((e) => e.event !== 'choke').map((e) => e.event), ['ready', 'shared']);
    assert.deepEqual(seedEvents[0], { event: 'ready', ip4: '127.0.0.71', ip6: '::1', port: seed.port });

    const leechers = await Promise.all(
      [72, 73, 74].map(async (n, i) => {
        const events: PeerEvent[] = [];
        const dir = sandbox.tempDir();
        const peer = await startPeer({ ...base, ip4: `127.0.0.${n}`, dir, random: seededRandom(i + 1) }, (e) => events.push(e));
        peers.push(peer);
        return { peer, events, dir };
      }),
    );
    const outcomes = await Promise.all(leechers.map((l) => l.peer.get(md5)));
    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.type, 'complete', JSON.stringify(outcome));
      if (outcome.type !== 'complete') continue;
      assert.equal(outcome.convention, 'content');
      assert.equal(outcome.path, join(leechers[i]!.dir, 'library.bin'));
      assert.deepEqual(await readFile(outcome.path), await readFile(file));
    }
    for (const { peer, events } of leechers) {
      const names = events.filter((e) => e.event !== 'choke').map((e) => e.event);
      // ready, started, one part event per part, complete: nothing else, nothing twice.
      assert.deepEqual(names, ['ready', 'started', ...Array<string>(13).fill('part'), 'complete']);
      const parts = events.flatMap((e) => (e.event === 'part' ? [e] : []));
      assert.deepEqual(parts.map((p) => p.part).sort((a, b) => a - b), [...Array(13).keys()]);
      assert.deepEqual(parts.map((p) => p.have), [...Array(13).keys()].map((k) => k + 1), 'have counts up by one');
      for (const p of parts) assert.notEqual(p.from, `${peer.ip4}:${peer.port}`, 'never from ourselves');
      const started = events.find((e) => e.event === 'started');
      assert.deepEqual(started, { event: 'started', md5, name: 'library.bin', parts: 13, have: 0, size });
      // The snapshot agrees with the events, and the leecher now shares the file.
      const st = peer.status();
      assert.equal(st.downloads.length, 1);
      assert.equal(st.downloads[0]!.state, 'complete');
      assert.equal(st.downloads[0]!.have, 13);
      assert.equal(st.downloads[0]!.bytesDone, size);
      assert.deepEqual(st.shares.map((s) => s.md5), [md5]);
    }
    // A second get of a file already held answers at once, from the store.
    const again = await leechers[0]!.peer.get(md5);
    assert.equal(again.type, 'complete');

    // Leaving: the leechers log out (theirs are not the only copies); then the seed holds the only one and is refused.
    for (const { peer, events } of leechers) {
      const result = await peer.leave();
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.deepEqual(events.at(-1), { event: 'logout', accepted: true, partsOwned: 13 });
    }
    assert.deepEqual(await seed.logout(), { ok: false, partsDown: 0 });
    assert.deepEqual(seedEvents.at(-1), { event: 'logout', accepted: false, partsDown: 0 });
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    await tracker.close();
  }
});

test('startPeer: an md5 the tracker does not know fails within the find timeout, naming it', { timeout: 60_000 }, async () => {
  const tracker = await testTracker();
  const peer = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.75', ip6: '::1', port: 0, dir: sandbox.tempDir(), findTimeoutMs: 300, log: silentLogger() });
  try {
    const md5 = 'f'.repeat(32);
    const outcome = await peer.get(md5);
    assert.equal(outcome.type, 'failed');
    if (outcome.type === 'failed') {
      assert.equal(outcome.code, 'BT_UNKNOWN_FILE');
      assert.match(outcome.message, new RegExp(md5));
    }
    assert.equal(peer.status().downloads[0]!.state, 'failed');
  } finally {
    await peer.close();
    await tracker.close();
  }
});

test('startPeer: a download folder that is a file is a typed error before anything listens', async () => {
  const tracker = await testTracker();
  try {
    const notAFolder = join(sandbox.tempDir(), 'plain-file');
    await writeFile(notAFolder, 'x');
    await assert.rejects(
      startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.76', ip6: '::1', port: 0, dir: notAFolder, log: silentLogger() }),
      (err: Error & { code?: string }) => err.code === 'BT_NOT_A_FOLDER' && err.message.includes(notAFolder),
    );
    await assert.rejects(
      startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.76', ip6: '::1', port: 0, dir: join(notAFolder, 'below'), log: silentLogger() }),
      (err: Error & { code?: string }) => err.code === 'BT_NOT_A_FOLDER',
    );
  } finally {
    await tracker.close();
  }
});
