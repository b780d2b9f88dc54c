import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBandwidthPolicy } from '../../src/peer/bandwidth/index.js';
import { FakeClock, seededRandom } from './fake-clock.js';

test('policy: throttles at the given rates, choker behind admission and traffic', async () => {
  const clock = new FakeClock(0);
  const rounds: number[] = [];
  const bw = createBandwidthPolicy({
    upRate: 1_000_000,
    downRate: 0,
    choker: { now: clock.now, timers: clock, random: seededRandom(1), uploadSlots: 1, onRound: (r) => rounds.push(r.round) },
  });
  assert.equal(bw.upThrottle.rate, 1_000_000);
  assert.equal(bw.downThrottle.rate, 0);
  bw.start();
  assert.deepEqual(rounds, [1]);
  const release = await bw.admission.admit('127.0.0.5');
  assert.ok(release);
  bw.traffic.uploaded('127.0.0.5', 4096);
  bw.traffic.downloaded('127.0.0.5', 100);
  const st = bw.status();
  assert.equal(st.upRate, 1_000_000);
  assert.equal(st.noUpload, false);
  const p = st.peers.find((x) => x.remote === '127.0.0.5')!;
  assert.equal(p.uploaded, 4096);
  assert.equal(p.downloaded, 100);
  assert.equal(p.serving, 1);
  release();
  bw.stop();
  assert.equal(clock.pendingTimers(), 0);
});

test('policy: --no-upload refuses every request at once but still records downloads', async () => {
  const clock = new FakeClock(0);
  const bw = createBandwidthPolicy({ upRate: 0, noUpload: true, choker: { now: clock.now, timers: clock } });
  bw.start();
  assert.equal(await bw.admission.admit('127.0.0.5'), null);
  bw.traffic.downloaded('127.0.0.6', 10);
  assert.equal(bw.status().noUpload, true);
  assert.equal(bw.status().peers.find((x) => x.remote === '127.0.0.6')!.downloaded, 10);
  bw.stop();
});
