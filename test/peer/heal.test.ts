/**
 * Trust nobody: in-process peers (startPeer) on loopback next to scripted
 * uploaders that answer RETP with well-formed AREPs of the right length but
 * wrong bytes. The leecher must end with the original bytes, having banned
 * exactly the liars it caught, or, when some part has no honest copy, fail
 * clearly with nothing under the final name.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createLogger, silentLogger } from '../../src/log.js';
import { type PeerEvent, type PeerHandle, startPeer } from '../../src/peer/index.js';
import type { RunningTracker } from '../../src/tracker/index.js';
import { Sandbox } from '../support/process.js';
import { md5OfFile, testTracker } from '../support/peer.js';
import { type Liar, register, startLiar } from '../support/liar.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

const PART = 65536;
const SIZE = 24 * PART + 1000; // 25 parts, the last one short

interface Swarm {
  tracker: RunningTracker;
  content: Buffer;
  md5: string;
  seeds: PeerHandle[];
  liars: Liar[];
  close(): Promise<void>;
}

/** A tracker, `seeds` honest seeds (each sharing its own copy) and the scripted liars, on 127.0.0.<base+i>. */
async function swarm(base: number, seeds: number, scripts: ((part: number, n: number) => boolean)[], liarParts?: (i: number) => number[] | undefined): Promise<Swarm> {
  const tracker = await testTracker();
  const content = randomBytes(SIZE);
  const seedDir = sandbox.tempDir();
  const file = join(seedDir, 'original.bin');
  writeFileSync(file, content);
  const md5 = await md5OfFile(file);
  const handles: PeerHandle[] = [];
  const liars: Liar[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(handles.map((h) => h.close()));
    await Promise.all(liars.map((l) => l.close()));
    await tracker.close();
  };
  try {
    // The liars first: a liar may be the only full owner (the sharer, as far as the tracker knows).
    for (const [i, lies] of scripts.entries()) {
      const liar = await startLiar(`127.0.0.${base + seeds + i}`, content, PART, lies);
      liars.push(liar);
      await register(tracker.port, liar, { md5, fileLength: SIZE, partLength: PART }, liarParts?.(i));
    }
    for (let i = 0; i < seeds; i++) {
      const dir = sandbox.tempDir();
      const copy = join(dir, 'original.bin');
      writeFileSync(copy, content);
      const seed = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: `127.0.0.${base + i}`, ip6: '::1', port: 0, dir, partSize: PART, log: silentLogger() });
      handles.push(seed);
      await seed.share(copy);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { tracker, content, md5, seeds: handles, liars, close };
}

/** Runs a leecher on 127.0.0.<n> to the end of `md5`; returns its events, outcome, folder and final status. */
async function leech(s: Swarm, n: number) {
  const dir = sandbox.tempDir();
  const events: PeerEvent[] = [];
  const peer = await startPeer(
    // HEAL_DEBUG=1 shows the leecher's log (who was suspected, what was fetched again).
    { tracker: { host: '127.0.0.1', port: s.tracker.port }, ip4: `127.0.0.${n}`, ip6: '::1', port: 0, dir, pollMs: 300, stallMs: 3000, log: process.env['HEAL_DEBUG'] ? createLogger({ level: 'debug', format: 'json' }) : silentLogger() },
    (e) => events.push(e),
  );
  try {
    const outcome = await peer.get(s.md5);
    const status = peer.status().downloads.find((d) => d.md5 === s.md5)!;
    return { outcome, events, dir, status };
  } finally {
    await peer.close();
  }
}

type Banned = Extract<PeerEvent, { event: 'banned' }>;

/** What every healed download must show: the original bytes, and bans for the liars it caught, nobody else. */
function assertHealed(s: Swarm, r: Awaited<ReturnType<typeof leech>>): Banned[] {
  assert.equal(r.outcome.type, 'complete', JSON.stringify(r.outcome));
  const path = (r.outcome as { path: string }).path;
  assert.ok(readFileSync(path).equals(s.content), 'the file has the original bytes');
  assert.deepEqual(readdirSync(r.dir).filter((f) => f.startsWith('.')), [], 'no partial or state file left');
  const liarKeys = new Set(s.liars.map((l) => l.key));
  const banned = r.events.filter((e): e is Banned => e.event === 'banned');
  const lifted = new Set(r.events.flatMap((e) => (e.event === 'unbanned' ? [e.owner] : [])));
  for (const b of banned) {
    // Colluders may outvote an honest owner for a while; the verified file lifts that ban.
    assert.ok(liarKeys.has(b.owner) || lifted.has(b.owner), `honest ${b.owner} banned and never cleared: ${b.reason}`);
    assert.ok(b.parts.length > 0 && b.reason.length > 0);
  }
  for (const o of lifted) assert.ok(!liarKeys.has(o), `the ban of liar ${o} was lifted`);
  // A liar whose wrong bytes reached us is banned, and stays listed as banned in the status.
  const statusBanned = new Set(r.status.banned.map((b) => b.key));
  for (const l of s.liars) {
    if (l.lied.length > 0) {
      assert.ok(banned.some((b) => b.owner === l.key), `liar ${l.key} lied on parts ${l.lied.join(',')} but was not banned`);
      assert.ok(statusBanned.has(l.key), `status lists ${l.key} as banned`);
    }
  }
  for (const k of statusBanned) assert.ok(liarKeys.has(k), `status bans honest ${k}`);
  const healed = r.events.find((e) => e.event === 'healed') as Extract<PeerEvent, { event: 'healed' }> | undefined;
  if (healed) {
    for (const l of healed.liars) assert.ok(liarKeys.has(l.owner));
    const lied = new Set(s.liars.flatMap((l) => l.lied));
    for (const p of healed.wrong) assert.ok(lied.has(p), `part ${p} reported wrong but nobody lied on it`);
  }
  return banned;
}

/** One healing case: a swarm on 127.0.0.<base…>, a leecher on <base+9>, the outcome checked by assertHealed. */
function healingCase(name: string, base: number, seeds: number, scripts: ((part: number, n: number) => boolean)[], more?: (s: Swarm) => void): void {
  test(name, { timeout: 120_000 }, async () => {
    const s = await swarm(base, seeds, scripts);
    try {
      assertHealed(s, await leech(s, base + 9));
      more?.(s);
    } finally {
      await s.close();
    }
  });
}

healingCase('a liar that corrupts every third part next to an honest seed: verified, byte-identical, liar banned', 60, 1, [(part) => part % 3 === 0]);
healingCase('a liar that corrupts every part next to an honest seed: verified, liar banned', 70, 1, [() => true], (s) => assert.ok(s.liars[0]!.lied.length > 0, 'the liar was asked'));
healingCase('two liars among five owners: both caught, the three honest seeds never blamed', 80, 3, [(part) => part % 3 === 1, (part) => part % 2 === 0]);
healingCase('two colluding liars sending identical wrong bytes outvote one honest seed, but the md5 judges: verified, both banned', 90, 1, [(part) => part % 2 === 0, (part) => part % 2 === 0]);
healingCase('a liar honest for its first parts, then lying: still caught, the file verified', 100, 1, [(_part, n) => n >= 4]);

test('a liar that is the only owner of a part: a clear failure naming the part and the liar, nothing under the final name', { timeout: 90_000 }, async () => {
  const only = 7;
  // The liar owns every part (and lies on all); an honest owner holds every part but one.
  const everyButOnly = Array.from({ length: 25 }, (_, p) => p).filter((p) => p !== only);
  const s = await swarm(110, 0, [() => true, () => false], (i) => (i === 1 ? everyButOnly : undefined));
  try {
    const r = await leech(s, 119);
    assert.equal(r.outcome.type, 'failed');
    const failed = r.outcome as { code: string; message: string; path?: string };
    assert.equal(failed.code, 'BT_CORRUPT');
    assert.match(failed.message, new RegExp(`part ${only}\\b`));
    assert.ok(failed.message.includes(s.liars[0]!.key), failed.message);
    assert.deepEqual(readdirSync(r.dir).filter((f) => !f.startsWith('.')), [], 'nothing renamed to the final name');
    assert.ok(readdirSync(r.dir).includes(`.${s.md5}.corrupt`), 'the bytes are kept apart as .corrupt');
    const error = r.events.find((e) => e.event === 'error');
    assert.ok(error && error.message === failed.message, 'the same message as an event');
    assert.ok(!r.events.some((e) => e.event === 'banned' && e.owner === s.liars[1]!.key), 'the honest owner is not banned');
  } finally {
    await s.close();
  }
});
