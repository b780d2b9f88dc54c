/** The liveness policy and the registry's liveness rules, pure: an injected clock, no sockets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_LIVENESS, LivenessPolicy, type LivenessSettings } from '../../src/tracker/liveness.js';
import type { TrackerEvent } from '../../src/tracker/events.js';
import { MemoryData, MemoryStore } from '../../src/tracker/memory-store.js';
import { Registry } from '../../src/tracker/registry.js';

const SETTINGS: LivenessSettings = { idleMs: 1000, failures: 3, spacingMs: 200, probeTimeoutMs: 100, maxProbes: 2 };

function clockAt(t: number) {
  const clock = { t, now: () => clock.t };
  return clock;
}

const ids = (entries: { id: string }[]): string[] => entries.map((e) => e.id);

test('a peer is probed only once it has been silent for idleMs', () => {
  const clock = clockAt(10_000);
  const policy = new LivenessPolicy(SETTINGS, clock.now);
  const peers = [{ id: 'A', lastSeen: 9_500 }, { id: 'B', lastSeen: 9_000 }];
  assert.deepEqual(ids(policy.due(peers)), ['B']);
  assert.deepEqual(ids(policy.due(peers)), [], 'B is in flight; A not idle yet');
  clock.t = 10_499;
  assert.deepEqual(ids(policy.due(peers)), []);
  clock.t = 10_500;
  assert.deepEqual(ids(policy.due(peers)), ['A']);
  assert.equal(policy.probesInFlight, 2);
});

test('probes in flight are bounded; the rest wait for a free slot', () => {
  const clock = clockAt(5_000);
  const policy = new LivenessPolicy(SETTINGS, clock.now);
  const peers = ['A', 'B', 'C', 'D'].map((id) => ({ id, lastSeen: 0 }));
  assert.deepEqual(ids(policy.due(peers)), ['A', 'B']);
  assert.deepEqual(ids(policy.due(peers)), []);
  assert.equal(policy.settle('A', true, 0), 'alive');
  // The prober then marks A as seen.
  peers[0] = { id: 'A', lastSeen: 5_000 };
  assert.deepEqual(ids(policy.due(peers)), ['C']);
});

test('an answered probe is alive; failures are spaced, counted, and the third drops the session', () => {
  const clock = clockAt(2_000);
  const policy = new LivenessPolicy(SETTINGS, clock.now);
  const peers = [{ id: 'A', lastSeen: 0 }];
  assert.deepEqual(ids(policy.due(peers)), ['A']);
  assert.equal(policy.settle('A', false, 0), 'failed');
  assert.equal(policy.failuresOf('A'), 1);
  assert.equal(policy.live('A', 0), false, 'a peer whose probe failed is not counted as alive');
  clock.t = 2_199;
  assert.deepEqual(ids(policy.due(peers)), [], 'spacing');
  clock.t = 2_200;
  assert.deepEqual(ids(policy.due(peers)), ['A']);
  assert.equal(policy.settle('A', false, 0), 'failed');
  clock.t = 2_400;
  assert.deepEqual(ids(policy.due(peers)), ['A']);
  assert.equal(policy.settle('A', false, 0), 'drop');
  assert.equal(policy.probesInFlight, 0);
  assert.equal(policy.failuresOf('A'), 0, 'a dropped session is forgotten');
});

test('anything seen after a failure starts the count again; so does a peer speaking while its probe runs', () => {
  const clock = clockAt(2_000);
  const policy = new LivenessPolicy(SETTINGS, clock.now);
  policy.due([{ id: 'A', lastSeen: 0 }]);
  assert.equal(policy.settle('A', false, 0), 'failed');
  policy.due([{ id: 'A', lastSeen: 0 }]);
  clock.t = 2_200;
  policy.due([{ id: 'A', lastSeen: 0 }]);
  assert.equal(policy.settle('A', false, 0), 'failed');
  assert.equal(policy.failuresOf('A'), 2);
  // A request at 2300: seen, so it is alive and the failures no longer count.
  assert.equal(policy.live('A', 2_300), true);
  clock.t = 2_400;
  assert.deepEqual(ids(policy.due([{ id: 'A', lastSeen: 2_300 }])), []);
  assert.equal(policy.failuresOf('A'), 0);
  // Silent again: three new failures are needed.
  clock.t = 3_300;
  assert.deepEqual(ids(policy.due([{ id: 'A', lastSeen: 2_300 }])), ['A']);
  // It sent a request while the probe was running: the failed probe does not count.
  assert.equal(policy.settle('A', false, 3_350), 'alive');
  assert.equal(policy.failuresOf('A'), 0);
});

test('sessions that are gone (logged out, dropped) are forgotten, also in flight', () => {
  const clock = clockAt(5_000);
  const policy = new LivenessPolicy(SETTINGS, clock.now);
  policy.due([{ id: 'A', lastSeen: 0 }, { id: 'B', lastSeen: 0 }]);
  assert.equal(policy.probesInFlight, 2);
  assert.deepEqual(ids(policy.due([{ id: 'B', lastSeen: 0 }])), []);
  assert.equal(policy.probesInFlight, 1, 'A left: its slot is free');
  assert.equal(policy.settle('A', false, undefined), 'gone');
  assert.equal(policy.probesInFlight, 1);
  assert.equal(policy.settle('B', false, undefined), 'gone');
  assert.equal(policy.probesInFlight, 0);
});

test('settings must be positive integers', () => {
  assert.throws(() => new LivenessPolicy({ ...SETTINGS, failures: 0 }, Date.now), /failures must be a positive integer/);
  assert.throws(() => new LivenessPolicy({ ...SETTINGS, idleMs: 1.5 }, Date.now), /idleMs/);
});

/**
 * Simulates a tracker with the default settings and the prober's 1 s tick: a
 * peer killed right after its last request, every probe running into its
 * connect timeout (the worst case: the host is gone, nothing answers).
 */
function simulateKilledPeer(settings: LivenessSettings, tickMs: number): number {
  const clock = clockAt(0);
  const policy = new LivenessPolicy(settings, clock.now);
  const peers = [{ id: 'dead', lastSeen: 0 }];
  let settleAt: number | null = null;
  for (clock.t = 0; clock.t < 10 * 60_000; clock.t += 1) {
    if (settleAt !== null && clock.t >= settleAt) {
      settleAt = null;
      if (policy.settle('dead', false, 0) === 'drop') return clock.t;
    }
    if (clock.t % tickMs === 0 && policy.due(peers).length > 0) settleAt = clock.t + settings.probeTimeoutMs;
  }
  throw new Error('never dropped');
}

test('with the defaults a killed peer is dropped within a minute, even when every probe times out', () => {
  const droppedAt = simulateKilledPeer(DEFAULT_LIVENESS, 1000);
  assert.ok(droppedAt <= 60_000, `dropped after ${droppedAt} ms`);
  assert.ok(droppedAt >= DEFAULT_LIVENESS.idleMs, 'not before it was idle');
});

test('property: a silent peer is dropped after exactly `failures` probes, never before idleMs + (failures-1) × spacing', () => {
  fc.assert(
    fc.property(
      fc.record({ idleMs: fc.integer({ min: 1, max: 2000 }), failures: fc.integer({ min: 1, max: 5 }), spacingMs: fc.integer({ min: 1, max: 500 }), probeTimeoutMs: fc.integer({ min: 1, max: 300 }), maxProbes: fc.constant(1) }),
      fc.integer({ min: 1, max: 50 }),
      (settings, tickMs) => {
        const droppedAt = simulateKilledPeer(settings, tickMs);
        const earliest = settings.idleMs + settings.failures * settings.probeTimeoutMs + (settings.failures - 1) * settings.spacingMs;
        const latest = earliest + settings.failures * tickMs;
        assert.ok(droppedAt >= earliest && droppedAt <= latest, `${droppedAt} not in ${earliest}..${latest}`);
      },
    ),
    { numRuns: 60 },
  );
});

// ---- The registry's side ----------------------------------------------------------

const A = { ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001' };
const B = { ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' };
const M = 'a'.repeat(32);

function registry(live?: (id: string, lastSeen: number) => boolean) {
  const clock = clockAt(1_000);
  const events: TrackerEvent[] = [];
  const data = new MemoryData();
  let n = 0;
  const r = new Registry({ store: new MemoryStore(data), now: clock.now, newId: () => (++n).toString(16).padStart(16, '0'), emit: (e) => events.push(e), live });
  return { r, clock, events, data };
}

test('every request of a session, an idempotent LOGI and an answered probe refresh its lastSeen; a refused request too', () => {
  const { r, clock } = registry();
  const a = r.login(A, 5000).sessionId;
  const seen = () => r.peers()[0]?.lastSeen;
  assert.equal(seen(), 1_000);
  const steps: [number, () => unknown][] = [
    [1_100, () => r.add(a, 8, 4, 'x', M)],
    [1_200, () => r.look(a, '*')],
    [1_300, () => r.fetch(a, M)],
    [1_400, () => r.reportPart(a, M, 0)],
    [1_500, () => assert.throws(() => r.reportPart(a, M, 9))],
    [1_600, () => r.login(A, 5000)],
    [1_700, () => r.seen(a)],
    [1_800, () => r.logout(a)],
  ];
  for (const [t, step] of steps) {
    clock.t = t;
    step();
    assert.equal(seen() ?? t, t, `after the step at ${t}`);
  }
  clock.t = 1_000;
  const b = r.login(B, 5000).sessionId;
  clock.t = 500;
  r.look(b, '*');
  assert.equal(r.lastSeenOf(b), 1_000, 'a clock stepped back never moves lastSeen back');
  assert.equal(r.seen('0'.repeat(16)), false);
});

test('drop removes the session and its ownership (AFCH no longer lists it) without the LOGO rule, and says why', () => {
  const { r, events, data } = registry();
  const a = r.login(A, 5000).sessionId;
  const b = r.login(B, 5000).sessionId;
  r.add(a, 8, 4, 'x', M);
  r.reportPart(b, M, 1);
  assert.equal(r.fetch(b, M)?.holders().length, 2);
  // a is the only holder of part 0: LOGO would refuse; a drop does not ask.
  assert.deepEqual(r.drop(a, 'probes failed'), { partsOwned: 2 });
  assert.equal(r.drop(a, 'again'), null);
  assert.deepEqual(r.fetch(b, M)?.holders().map((h) => h.address), [B]);
  assert.deepEqual(r.peers().map((p) => p.sessionId), [b]);
  assert.ok(!data.sessions.has(a) && ![...data.ownership.values()].some((o) => o.sessionId === a), 'gone from the store');
  const drop = events.find((e) => e.type === 'drop');
  assert.deepEqual(drop, { type: 'drop', at: 1_000, sessionId: a, partsOwned: 2, lastSeen: 1_000, reason: 'probes failed' });
  // Logging in again from the same address is a new session.
  assert.notEqual(r.login(A, 5000).sessionId, a);
});

test('LOGO counts only live holders: a holder failing its probes does not keep the last live one in', () => {
  const suspect = new Set<string>();
  const { r } = registry((id) => !suspect.has(id));
  const a = r.login(A, 5000).sessionId;
  const b = r.login(B, 5000).sessionId;
  r.add(a, 8, 4, 'x', M);
  r.reportPart(b, M, 0);
  r.reportPart(b, M, 1);
  suspect.add(b);
  assert.deepEqual(r.logout(a), { accepted: false, partsDown: 0 }, 'b may be dead: a holds the only live copy');
  suspect.delete(b);
  assert.deepEqual(r.logout(a), { accepted: true, partsOwned: 2 });
});
