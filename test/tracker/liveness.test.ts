/**
 * Ghosts, over real sockets: bugtorrent peer processes killed with SIGKILL are
 * probed by the tracker (TCP connect to their listed port), dropped, gone from
 * AFCH, and no longer count as holders for LOGO; also when the ghost was stored
 * by an earlier tracker run on the same SQLite file. Short configured times;
 * the assertions are on outcomes, never on how long things took.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startDashboard } from '../../src/dashboard/index.js';
import { silentLogger } from '../../src/log.js';
import { TrackerClient } from '../../src/peer/tracker-client.js';
import { type RunningTracker, type TrackerEvent, startTracker } from '../../src/tracker/index.js';
import { getJson } from '../dashboard/helpers.js';
import { md5OfFile, spawnPeer, writeRandomFile } from '../support/peer.js';
import { acceptingServer } from '../support/net.js';
import { Sandbox } from '../support/process.js';
import { callFor, logi, logo, memoryLogger, until } from './helpers.js';

const sandbox = new Sandbox();
const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.close();
  await sandbox.cleanup();
});

const SHORT = { idleMs: 500, failures: 2, spacingMs: 200, probeTimeoutMs: 500 };
const PARTS = 4;
const PART = 64 * 1024;

/**
 * A session for the test itself, on its own address with a listener that
 * accepts (so the tracker's probes find it alive): reads AFCH like any client.
 */
async function observer(tracker: RunningTracker, ip4: string): Promise<{ client: TrackerClient; port: number }> {
  const { server, port } = await acceptingServer(ip4);
  servers.push(server);
  const client = new TrackerClient({ host: '127.0.0.1', port: tracker.port, self: { ip4, ip6: '::1' }, selfPort: port, local: { ip4 }, log: silentLogger() });
  return { client, port };
}

/** A seeder and a leecher that completes: two holders of the file. */
async function swarm(tracker: RunningTracker, seedIp: number, leechIp: number) {
  const seedDir = sandbox.tempDir();
  const file = join(seedDir, 'ghost.bin');
  writeRandomFile(file, PARTS * PART);
  const md5 = await md5OfFile(file);
  const seeder = await spawnPeer(sandbox, tracker, seedIp, seedDir, ['--share', file, '--part-size', String(PART)]);
  await seeder.proc.waitForEvent('shared');
  const leecher = await spawnPeer(sandbox, tracker, leechIp, sandbox.tempDir(), ['--get', md5]);
  await leecher.proc.waitForEvent('complete', () => true, 30_000);
  return { md5, seeder, leecher };
}

function sessionOf(tracker: RunningTracker, ip4: string, port: number): string {
  const p = tracker.view.peers().find((x) => x.address.ip4 === ip4 && x.port === port);
  assert.ok(p, `no session for ${ip4}:${port}`);
  return p.sessionId;
}

test('a peer killed with SIGKILL is dropped: gone from AFCH and the dashboard, no holder for LOGO; a live silent peer stays', { timeout: 90_000 }, async () => {
  const events: TrackerEvent[] = [];
  const { logger, lines } = memoryLogger();
  const tracker = await startTracker({ host: '127.0.0.1', port: 0, logger, liveness: SHORT, observers: [{ event: (e) => events.push(e) }] });
  const dashboard = await startDashboard({ view: tracker.view, port: 0, logger: silentLogger(), defaultMetrics: false });
  tracker.addObserver(dashboard.observer);
  try {
    const { md5, seeder, leecher } = await swarm(tracker, 41, 42);
    const watch = await observer(tracker, '127.0.0.43');
    await until(() => tracker.view.holders(md5).length === 2, 'both peers hold the file');
    const seederSession = sessionOf(tracker, seeder.ip4, seeder.port);
    const ghost = sessionOf(tracker, leecher.ip4, leecher.port);

    await leecher.proc.kill('SIGKILL');
    await until(() => events.some((e) => e.type === 'drop' && e.sessionId === ghost), 'the killed peer is dropped', 60_000);

    const afch = await watch.client.holders(md5, PARTS);
    assert.deepEqual(afch.map((h) => `${h.address.ip4}:${h.port}`), [`${seeder.ip4}:${seeder.port}`], 'AFCH lists only the live seeder');
    const drop = events.find((e) => e.type === 'drop' && e.sessionId === ghost);
    assert.ok(drop?.type === 'drop');
    assert.equal(drop.partsOwned, PARTS);
    assert.match(drop.reason, /2 probes in a row got no TCP connection to 127\.0\.0\.42:/);
    const logged = lines.find((l) => l['msg'] === 'peer dropped: not alive');
    assert.equal(logged?.['peer'], `${leecher.ip4}:${leecher.port}`);

    // The seeder answers probes: still there, and last seen later than when the ghost died.
    const seederView = tracker.view.peers().find((p) => p.sessionId === seederSession);
    assert.ok(seederView, 'the live seeder is kept');
    assert.ok(seederView.lastSeen >= drop.lastSeen);
    // LOGO of the last live holder is refused: the dead peer no longer counts as holding the file.
    const reply = await callFor('NLOG', '127.0.0.1', tracker.port, logo(seederSession));
    assert.equal(reply.partsDown, 0);

    // The dashboard's view: each peer's lastSeen; the drop in the event feed, with its reason.
    const { peers } = await getJson<{ peers: { port: number; since: number; lastSeen: number }[] }>(dashboard.port, '/api/peers');
    assert.deepEqual(peers.map((p) => p.port).sort(), [seeder.port, watch.port].sort());
    for (const p of peers) assert.ok(Number.isSafeInteger(p.lastSeen) && p.lastSeen >= p.since, JSON.stringify(p));
    const feed = await getJson<{ events: { type: string; reason?: string; peer?: string }[] }>(dashboard.port, '/api/events');
    const dropped = feed.events.find((e) => e.type === 'drop');
    assert.equal(dropped?.peer, `${leecher.ip4}:${leecher.port}`);
    assert.match(dropped?.reason ?? '', /no TCP connection/);
  } finally {
    await dashboard.close();
    await tracker.close();
  }
});

test('ghosts stored by an earlier tracker run are probed and dropped after a restart on the same SQLite file', { timeout: 90_000 }, async () => {
  const db = join(sandbox.tempDir(), 'tracker.db');
  // Run 1 without liveness: the killed peer stays a ghost, as before liveness existed.
  const first = await startTracker({ host: '127.0.0.1', port: 0, dbPath: db, liveness: false });
  let ghost: string;
  let seederSession: string;
  let md5: string;
  let seederAt: string;
  try {
    const s = await swarm(first, 44, 45);
    md5 = s.md5;
    seederAt = `${s.seeder.ip4}:${s.seeder.port}`;
    await until(() => first.view.holders(md5).length === 2, 'both peers hold the file');
    seederSession = sessionOf(first, s.seeder.ip4, s.seeder.port);
    ghost = sessionOf(first, s.leecher.ip4, s.leecher.port);
    await s.leecher.proc.kill('SIGKILL');
    assert.equal(first.view.holders(md5).length, 2, 'without liveness the dead peer is still listed');
  } finally {
    await first.close();
  }

  // Run 2 on the same file, liveness on: the stored ghost has been silent since, so it is probed and dropped.
  const events: TrackerEvent[] = [];
  const second = await startTracker({ host: '127.0.0.1', port: 0, dbPath: db, liveness: SHORT, observers: [{ event: (e) => events.push(e) }] });
  try {
    assert.ok(second.view.peers().some((p) => p.sessionId === ghost), 'the ghost was loaded from the file');
    await until(() => events.some((e) => e.type === 'drop' && e.sessionId === ghost), 'the stored ghost is dropped', 60_000);
    const watch = await observer(second, '127.0.0.46');
    const afch = await watch.client.holders(md5, PARTS);
    assert.deepEqual(afch.map((h) => `${h.address.ip4}:${h.port}`), [seederAt]);
    assert.equal((await callFor('NLOG', '127.0.0.1', second.port, logo(seederSession))).partsDown, 0);
    assert.ok(!events.some((e) => e.type === 'drop' && e.sessionId === seederSession), 'the live seeder answered its probes');
  } finally {
    await second.close();
  }

  // Run 3: the drop was stored too.
  const third = await startTracker({ host: '127.0.0.1', port: 0, dbPath: db, liveness: false });
  try {
    const ids = third.view.peers().map((p) => p.sessionId);
    assert.ok(ids.includes(seederSession) && !ids.includes(ghost), JSON.stringify(ids));
  } finally {
    await third.close();
  }
});

test('without liveness a peer that never answers keeps its session; with it, the same peer is dropped; settings are validated', async () => {
  await assert.rejects(startTracker({ port: 0, liveness: { failures: 0 } }), /failures must be a positive integer/);
  const events: TrackerEvent[] = [];
  const off = await startTracker({ host: '127.0.0.1', port: 0, liveness: false, observers: [{ event: (e) => events.push(e) }] });
  const on = await startTracker({ host: '127.0.0.1', port: 0, liveness: SHORT });
  try {
    // Port 9 on 127.0.0.47: nothing listens there.
    const request = logi({ ip4: '127.0.0.47', ip6: '::1' }, 9);
    const kept = (await callFor('ALGI', '127.0.0.1', off.port, request)).sessionId;
    await callFor('ALGI', '127.0.0.1', on.port, request);
    await until(() => on.view.peers().length === 0, 'the tracker with liveness drops the unreachable peer', 30_000);
    assert.deepEqual(off.view.peers().map((p) => p.sessionId), [kept]);
    assert.ok(!events.some((e) => e.type === 'drop'));
  } finally {
    await off.close();
    await on.close();
  }
});
