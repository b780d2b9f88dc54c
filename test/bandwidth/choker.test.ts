import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Choker, ChokerService, pickWeighted, rank, RateMeter, type Candidate } from '../../src/peer/choke/index.js';
import { FakeClock, seededRandom } from './fake-clock.js';

const KB = 1000;

/**
 * One simulated second at a time for `seconds`: each entry of `down`/`up` is
 * bytes/s from/to that peer, and every peer in `asking` requests a part each second.
 */
function traffic(
  choker: Choker,
  clock: FakeClock,
  seconds: number,
  t: { down?: Record<string, number>; up?: Record<string, number>; asking?: string[] },
): void {
  for (let s = 0; s < seconds; s++) {
    for (const r of t.asking ?? []) choker.requested(r, clock.t);
    for (const [r, b] of Object.entries(t.down ?? {})) choker.downloaded(r, b, clock.t);
    for (const [r, b] of Object.entries(t.up ?? {})) choker.uploaded(r, b, clock.t);
    clock.t += 1000;
  }
}

function sorted(a: Iterable<string>): string[] {
  return [...a].sort();
}

describe('RateMeter', () => {
  test('a steady rate reads as itself over the window; old bytes fall out', () => {
    const m = new RateMeter(20_000);
    for (let t = 0; t < 30_000; t += 100) m.add(1000, t); // 10 kB/s
    const r = m.rate(30_000, 20_000);
    assert.ok(Math.abs(r - 10_000) < 600, `rate ${r}`);
    assert.equal(m.total, 300_000);
    assert.equal(m.sum(60_000, 20_000), 0);
    assert.equal(m.rate(60_000, 20_000), 0);
  });

  test('a newcomer is measured over its own life, but at least one bin', () => {
    const m = new RateMeter(20_000);
    m.add(5000, 10_000);
    assert.equal(m.rate(10_100, 20_000, 10_000), 5000);
    assert.equal(m.rate(12_000, 20_000, 10_000), 2500);
  });
});

describe('ranking (pure)', () => {
  const c = (remote: string, down: number, up: number, snubbed = false, newcomer = false): Candidate => ({
    remote, downloadRate: down, uploadRate: up, snubbed, newcomer,
  });

  test('downloading: by download rate, snubbers last, ties by upload rate', () => {
    const order = rank([c('a', 10, 0), c('b', 30, 0), c('s', 0, 99, true), c('z1', 0, 5), c('z2', 0, 7)], 'downloading', seededRandom(1));
    assert.deepEqual(order.map((x) => x.remote), ['b', 'a', 'z2', 'z1', 's']);
  });

  test('seeding: round robin by upload rate only, least served first', () => {
    const order = rank([c('a', 99, 10), c('b', 0, 30), c('s', 0, 20, true)], 'seeding', seededRandom(1));
    assert.deepEqual(order.map((x) => x.remote), ['a', 's', 'b']);
  });

  test('pickWeighted with a scripted random: newcomers count 3 times', () => {
    const cands = [c('old1', 0, 0), c('new', 0, 0, false, true), c('old2', 0, 0)];
    // weights 1,3,1 of 5: [0,0.2) old1, [0.2,0.8) new, [0.8,1) old2
    assert.equal(pickWeighted(cands, 3, () => 0.1)?.remote, 'old1');
    assert.equal(pickWeighted(cands, 3, () => 0.25)?.remote, 'new');
    assert.equal(pickWeighted(cands, 3, () => 0.79)?.remote, 'new');
    assert.equal(pickWeighted(cands, 3, () => 0.85)?.remote, 'old2');
    assert.equal(pickWeighted([], 3, () => 0.5), null);
  });
});

describe('Choker rounds (fake clock, seeded random)', () => {
  test('downloading: the four peers that gave us most are unchoked, and follow the traffic', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({}, seededRandom(42));
    const asking = ['A', 'B', 'C', 'D', 'E', 'F'];
    traffic(choker, clock, 10, { asking, down: { A: 100 * KB, B: 80 * KB, C: 60 * KB, D: 40 * KB, E: 20 * KB } });
    const r1 = choker.roundAt(clock.t);
    assert.equal(r1.mode, 'downloading');
    assert.deepEqual(r1.regular, ['A', 'B', 'C', 'D']);
    assert.ok(r1.optimistic === 'E' || r1.optimistic === 'F');

    // F starts giving us the most, D stops: after 20 s, F is in and D is out
    traffic(choker, clock, 20, { asking, down: { A: 100 * KB, B: 80 * KB, C: 60 * KB, E: 20 * KB, F: 200 * KB } });
    const r2 = choker.roundAt(clock.t);
    assert.deepEqual(r2.regular, ['F', 'A', 'B', 'C']);
    assert.notEqual(r2.optimistic, 'F');
    assert.ok(r2.unchokedNow.includes('F') || r1.optimistic === 'F');
    assert.ok(!choker.isUnchoked('D') || r2.optimistic === 'D');
  });

  test('a peer that stopped asking is not interested and gets no slot, however much it gave', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 2 }, seededRandom(1));
    traffic(choker, clock, 5, { asking: ['A', 'B', 'C'], down: { A: 500 * KB, B: 10 * KB, C: 5 * KB } });
    traffic(choker, clock, 25, { asking: ['B', 'C'], down: { A: 500 * KB, B: 10 * KB, C: 5 * KB } });
    const r = choker.roundAt(clock.t);
    assert.deepEqual(r.regular, ['B', 'C']);
    assert.equal(r.optimistic, null);
    assert.equal(choker.isUnchoked('A'), false);
  });

  test('the optimistic slot moves every 3 rounds (30 s), to another peer, and only then', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({}, seededRandom(7));
    const top = { A: 100 * KB, B: 90 * KB, C: 80 * KB, D: 70 * KB };
    const asking = ['A', 'B', 'C', 'D', 'P', 'Q', 'R', 'S', 'T'];
    const optimistic: (string | null)[] = [];
    const rotated: boolean[] = [];
    for (let round = 1; round <= 9; round++) {
      traffic(choker, clock, 10, { asking, down: top });
      const r = choker.roundAt(clock.t);
      assert.deepEqual(sorted(r.regular), ['A', 'B', 'C', 'D'], `round ${round}`);
      optimistic.push(r.optimistic);
      rotated.push(r.rotated);
    }
    assert.deepEqual(rotated, [true, false, false, true, false, false, true, false, false]);
    for (const o of optimistic) assert.ok(o !== null && 'PQRST'.includes(o));
    for (const g of [0, 3, 6]) {
      assert.equal(optimistic[g + 1], optimistic[g]);
      assert.equal(optimistic[g + 2], optimistic[g]);
    }
    assert.notEqual(optimistic[3], optimistic[2]);
    assert.notEqual(optimistic[6], optimistic[5]);
  });

  test('the optimistic slot is refilled at once when its peer wins a regular slot', () => {
    const clock = new FakeClock(0);
    // scripted random: tie-break draws then the optimistic draw; 0 picks the first candidate
    const choker = new Choker({ uploadSlots: 1 }, () => 0);
    traffic(choker, clock, 10, { asking: ['A', 'B', 'C'], down: { A: 50 * KB } });
    const r1 = choker.roundAt(clock.t);
    assert.deepEqual(r1.regular, ['A']);
    const first = r1.optimistic!;
    // the optimistic peer now gives us the most
    traffic(choker, clock, 20, { asking: ['A', 'B', 'C'], down: { A: 50 * KB, [first]: 100 * KB } });
    const r2 = choker.roundAt(clock.t);
    assert.deepEqual(r2.regular, [first]);
    assert.ok(r2.optimistic !== null && r2.optimistic !== first);
    assert.equal(r2.rotated, false);
  });

  test('newcomers are about 3× as likely to get the optimistic slot (over 3000 seeds)', () => {
    let newcomerWins = 0;
    const runs = 3000;
    for (let seed = 1; seed <= runs; seed++) {
      const clock = new FakeClock(0);
      const choker = new Choker({ uploadSlots: 1 }, seededRandom(seed));
      // O1..O3 traded with us long ago (not newcomers, no recent rate); N never did
      for (const o of ['O1', 'O2', 'O3']) {
        choker.uploaded(o, 1000, clock.t);
        choker.downloaded(o, 1000, clock.t);
      }
      clock.t += 30_000;
      traffic(choker, clock, 5, { asking: ['R', 'O1', 'O2', 'O3', 'N'], down: { R: 10 * KB } });
      const r = choker.roundAt(clock.t);
      assert.deepEqual(r.regular, ['R']);
      if (r.optimistic === 'N') newcomerWins++;
    }
    // weights 3 : 1 : 1 : 1, so N should win half of the draws (uniform would be 1/4)
    const share = newcomerWins / runs;
    assert.ok(share > 0.45 && share < 0.55, `newcomer share ${share}`);
  });

  test('a free rider (holds parts, never served them) gets neither a regular slot nor the optimistic one while others want it', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 1 }, seededRandom(7));
    // we sent F five parts; the tracker lists F with 8 parts; nothing ever came back, nothing spread from it
    for (let part = 0; part < 5; part++) choker.gave('F', 'm', part, clock.t);
    clock.t += 11_000;
    choker.holders('m', 64, [{ remote: 'F', bitmap: Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0]) }], clock.t);
    assert.equal(choker.isFreeRider('F', clock.t), true);
    traffic(choker, clock, 5, { asking: ['R', 'T', 'F'], down: { R: 10 * KB, T: 1 * KB } });
    for (let i = 0; i < 10; i++) {
      const r = choker.roundAt(clock.t, 'downloading');
      assert.deepEqual(r.regular, ['R']);
      assert.equal(r.optimistic, 'T');
      clock.t += 10_000;
      traffic(choker, clock, 1, { asking: ['R', 'T', 'F'], down: { R: 10 * KB, T: 1 * KB } });
    }
    choker.forget('R');
    assert.equal(choker.claimVacancy('F', clock.t), false, 'no regular slot for a free rider');
    // nobody else wants the optimistic slot: then the free rider gets it
    choker.forget('T');
    assert.equal(choker.roundAt(clock.t, 'seeding').optimistic, 'F');
  });

  test('seeding: the peers we uploaded least to are unchoked (auto-detected: nothing comes in)', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({}, seededRandom(3));
    traffic(choker, clock, 15, {
      asking: ['A', 'B', 'C', 'D', 'E', 'F'],
      up: { A: 50 * KB, B: 10 * KB, C: 90 * KB, D: 5 * KB, E: 70 * KB },
    });
    const r = choker.roundAt(clock.t);
    assert.equal(r.mode, 'seeding');
    assert.deepEqual(r.regular, ['F', 'D', 'B', 'A']);
    // an explicit mode wins over auto-detection
    assert.equal(choker.roundAt(clock.t, 'downloading').mode, 'downloading');
  });

  test('anti-snubbing: a peer silent for 60 s ranks below one that is not, even if we upload to it more', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 1 }, seededRandom(5));
    // S gave us data at first, then nothing for 65 s while we keep uploading to it
    traffic(choker, clock, 5, { asking: ['S', 'G', 'X'], down: { S: 100 * KB, X: 1 * KB } });
    traffic(choker, clock, 40, { asking: ['S', 'G', 'X'], up: { S: 100 * KB }, down: { X: 1 * KB } });
    traffic(choker, clock, 25, { asking: ['S', 'G', 'X'], up: { S: 100 * KB, G: 1 * KB } });
    // nothing came in for 25 s (auto mode would say seeding): force downloading
    const r = choker.roundAt(clock.t, 'downloading');
    const byRemote = new Map(choker.status(clock.t).map((p) => [p.remote, p]));
    assert.equal(byRemote.get('S')!.snubbed, true);
    assert.equal(byRemote.get('G')!.snubbed, true, 'G never sent anything in 70 s');
    assert.equal(byRemote.get('X')!.snubbed, false, 'X sent something 25 s ago');
    assert.deepEqual(r.regular, ['X']);
  });

  test('a newcomer is not snubbed before it has been around for 60 s', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({}, seededRandom(5));
    traffic(choker, clock, 59, { asking: ['N'] });
    assert.equal(choker.status(clock.t)[0]!.snubbed, false);
    traffic(choker, clock, 2, { asking: ['N'] });
    assert.equal(choker.status(clock.t)[0]!.snubbed, true);
  });

  test('claimVacancy: empty slots go to askers between rounds, first regular then optimistic', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 2 }, seededRandom(1));
    choker.roundAt(clock.t); // nobody interested yet: all slots empty
    for (const r of ['A', 'B', 'C', 'D']) choker.requested(r, clock.t);
    assert.equal(choker.claimVacancy('A', clock.t), true);
    assert.equal(choker.claimVacancy('B', clock.t), true);
    assert.equal(choker.claimVacancy('C', clock.t), true);
    assert.equal(choker.optimisticPeer, 'C');
    assert.equal(choker.claimVacancy('D', clock.t), false);
    assert.equal(choker.claimVacancy('Z', clock.t), false, 'a peer that never asked is not interested');
    // A lost interest: its slot goes to D
    clock.t += 25_000;
    for (const r of ['B', 'C', 'D']) choker.requested(r, clock.t);
    assert.equal(choker.claimVacancy('D', clock.t), true);
    assert.deepEqual(sorted(choker.unchoked()), ['B', 'C', 'D']);
  });

  test('a slot holder idle for 5 s (no request, nothing sent to it) yields its slot; a busy or fed one keeps it', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 2 }, seededRandom(1));
    choker.roundAt(clock.t);
    for (const r of ['A', 'B', 'C']) {
      choker.requested(r, clock.t);
      assert.equal(choker.claimVacancy(r, clock.t), true);
    }
    clock.t += 4000;
    choker.requested('D', clock.t);
    assert.equal(choker.claimVacancy('D', clock.t), false, 'holders idle for 4 s keep their slots');
    clock.t += 1500;
    choker.uploaded('A', 4096, clock.t); // A is still being sent its part
    choker.requested('D', clock.t);
    // B is being served (busy), C is idle: C's optimistic slot goes to D
    assert.equal(choker.claimVacancy('D', clock.t, (r) => r === 'B'), true);
    assert.deepEqual(sorted(choker.unchoked()), ['A', 'B', 'D']);
    assert.equal(choker.optimisticPeer, 'D');
  });

  test('status: bytes each way, rates, flags', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 1 }, seededRandom(1));
    traffic(choker, clock, 10, { asking: ['A', 'B'], down: { A: 10 * KB }, up: { A: 4 * KB, B: 2 * KB } });
    choker.requested('C', clock.t);
    choker.roundAt(clock.t);
    const s = new Map(choker.status(clock.t).map((p) => [p.remote, p]));
    const a = s.get('A')!;
    assert.equal(a.downloaded, 100 * KB);
    assert.equal(a.uploaded, 40 * KB);
    assert.ok(Math.abs(a.downloadRate - 10 * KB) < 1 * KB, `down rate ${a.downloadRate}`);
    assert.ok(Math.abs(a.uploadRate - 4 * KB) < 0.5 * KB, `up rate ${a.uploadRate}`);
    assert.equal(a.choked, false);
    assert.equal(a.optimistic, false);
    assert.equal(a.interested, true);
    assert.equal(a.newcomer, false);
    assert.equal(s.get('C')!.newcomer, true);
    const opt = [s.get('B')!, s.get('C')!].filter((p) => p.optimistic);
    assert.equal(opt.length, 1);
    assert.equal(opt[0]!.choked, false);
  });

  test('idle peers are forgotten after 5 minutes, unchoked ones are kept', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({}, seededRandom(1));
    choker.downloaded('gone', 10, clock.t);
    clock.t += 301_000;
    choker.roundAt(clock.t);
    assert.equal(choker.status(clock.t).length, 0);
  });

  test('bad options are refused', () => {
    assert.throws(() => new Choker({ uploadSlots: -1 }), RangeError);
    assert.throws(() => new Choker({ uploadSlots: 1.5 }), RangeError);
    assert.throws(() => new Choker({ optimisticEveryRounds: 0 }), RangeError);
  });
});

describe('ChokerService (UploadAdmission + TrafficRecorder, fake timers)', () => {
  function service(clock: FakeClock, extra: ConstructorParameters<typeof ChokerService>[0] = {}): ChokerService {
    // admissionWaitMs 2000: these tests prove the held-request mode (the default refuses at once, see below)
    return new ChokerService({ now: clock.now, random: seededRandom(9), timers: clock, admissionWaitMs: 2000, ...extra });
  }

  test('held mode: every place taken, a request waits 2 s, then gets null; a slot holder not being served blocks nobody', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 2 });
    svc.start();
    // three places (two regular slots and the optimistic one), all being served
    const releases = [];
    for (const r of ['A', 'B', 'C']) {
      const release = await svc.admit(r);
      assert.equal(typeof release, 'function', r);
      releases.push(release!);
    }
    let outcome: unknown = 'pending';
    void svc.admit('D').then((r) => (outcome = r));
    await clock.advance(1999);
    assert.equal(outcome, 'pending');
    await clock.advance(1);
    assert.equal(outcome, null);
    assert.equal(svc.status().peers.find((p) => p.remote === 'D')!.interested, true);
    assert.equal(svc.refused, 1);
    for (const r of releases) r();
    // A, B, C hold the slots but nobody is being served: D is served at once (work-conserving)
    assert.equal(typeof (await svc.admit('D')), 'function');
    assert.equal(typeof (await svc.admit('A')), 'function', 'a slot holder is admitted too');
    svc.stop();
  });

  test('a waiter gets in at the next round if it ranks', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1, slotIdleMs: 60_000 });
    svc.start(); // round 1 at t=0, next at t=10 000
    const a = await svc.admit('A');
    const b = await svc.admit('B'); // optimistic
    assert.ok(a && b);
    await clock.advance(9000);
    // their parts went out (had they not, C would wait for one to end: at most slots + 1 are served at once)
    a();
    b();
    // C gave us a lot meanwhile and asks just before the round
    svc.downloaded('C', 500 * KB);
    let outcome: unknown = 'pending';
    void svc.admit('C').then((r) => (outcome = r));
    await clock.advance(1000); // the round fires
    assert.equal(typeof outcome, 'function');
    assert.equal(svc.status().round, 2);
    assert.deepEqual(svc.choker.unchoked()[0], 'C');
    svc.stop();
  });

  test('a slot freed between rounds lets the first waiter in', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1 });
    svc.start();
    const a = await svc.admit('A');
    const b = await svc.admit('B');
    assert.ok(a && b);
    const order: string[] = [];
    void svc.admit('C').then((r) => r && order.push('C'));
    void svc.admit('D').then((r) => r && order.push('D'));
    await clock.advance(500);
    assert.equal(svc.status().peers.find((p) => p.remote === 'C')!.waiting, 1);
    svc.forget('A'); // A left the swarm
    await clock.advance(1);
    assert.deepEqual(order, ['C']);
    await clock.advance(2000);
    assert.deepEqual(order, ['C'], 'D timed out');
  });

  test('at most slots + 1 peers are served at once: a peer choked mid-part delays the newly unchoked one', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1, slotIdleMs: 60_000 });
    svc.start();
    const a = await svc.admit('A');
    const b = await svc.admit('B');
    assert.ok(a && b);
    await clock.advance(9000);
    svc.downloaded('C', 500 * KB);
    let outcome: unknown = 'pending';
    void svc.admit('C').then((r) => (outcome = r));
    await clock.advance(1000); // round 2: C ranks first and is unchoked, but A and B are still mid-part
    assert.ok(svc.choker.isUnchoked('C'));
    assert.equal(outcome, 'pending');
    assert.equal(svc.status().peers.filter((p) => p.serving > 0).length, 2);
    a(); // A's part ends: C takes its place
    await clock.advance(1);
    assert.equal(typeof outcome, 'function');
    svc.stop();
  });

  test('an unchoked peer that lost interest frees its slot when a waiter asks', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1, interestMs: 5000 });
    svc.start();
    (await svc.admit('A'))!(); // served, released
    (await svc.admit('B'))!();
    await clock.advance(6000); // A and B stop asking
    assert.ok(await svc.admit('C'), 'C takes a slot left by a peer no longer interested');
    svc.stop();
  });

  test('a slot holder that stopped asking leaves its place to an asker at once, not after an idle time', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1, slotIdleMs: 60_000 });
    svc.start();
    (await svc.admit('A'))!();
    (await svc.admit('B'))!();
    await clock.advance(1000);
    assert.deepEqual(sorted(svc.choker.unchoked()), ['A', 'B']);
    const c = await svc.admit('C');
    assert.equal(typeof c, 'function', 'A and B hold the slots but are not being served');
    c!();
    svc.stop();
  });

  test('a holder being served keeps its slot however long the part takes', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1, slotIdleMs: 1000 });
    svc.start();
    const a = await svc.admit('A');
    const b = await svc.admit('B');
    await clock.advance(10_000 - 1); // just before the next round
    assert.equal(await Promise.race([svc.admit('C'), new Promise((r) => setTimeout(() => r('waiting'), 20))]), 'waiting');
    a!();
    b!();
    svc.stop();
  });

  test('traffic is recorded, release counts serving, status shows it', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock);
    svc.start();
    const release = (await svc.admit('A'))!;
    svc.uploaded('A', 4096);
    svc.downloaded('A', 8192);
    let a = svc.status().peers.find((p) => p.remote === 'A')!;
    assert.equal(a.serving, 1);
    assert.equal(a.uploaded, 4096);
    assert.equal(a.downloaded, 8192);
    assert.equal(a.choked, false);
    release();
    release(); // idempotent
    a = svc.status().peers.find((p) => p.remote === 'A')!;
    assert.equal(a.serving, 0);
    const st = svc.status();
    assert.equal(st.uploadSlots, 4);
    assert.deepEqual(st.unchoked, ['A']);
    svc.stop();
  });

  test('rounds run every 10 s and report through onRound; stop clears timers and refuses waiters', async () => {
    const clock = new FakeClock(0);
    const rounds: number[] = [];
    const svc = service(clock, { uploadSlots: 1, onRound: (r) => rounds.push(r.round) });
    svc.start();
    svc.start(); // idempotent
    await clock.advance(35_000);
    assert.deepEqual(rounds, [1, 2, 3, 4]);
    assert.ok(await svc.admit('A'));
    assert.ok(await svc.admit('B'));
    const waiting = svc.admit('C');
    svc.stop();
    assert.equal(await waiting, null);
    assert.equal(await svc.admit('A'), null, 'after stop nobody is admitted');
    assert.equal(clock.pendingTimers(), 0);
  });

  test('mode() override: seeding ranks by upload rate (least served first) even while bytes come in', async () => {
    const clock = new FakeClock(0);
    const svc = service(clock, { uploadSlots: 1, mode: () => 'seeding' });
    for (const r of ['A', 'B', 'C']) void svc.admit(r);
    svc.downloaded('A', 1e6);
    svc.uploaded('B', 1e6);
    const r = svc.rechoke();
    assert.equal(r.mode, 'seeding');
    assert.equal(r.regular.length, 1);
    assert.notEqual(r.regular[0], 'B', 'B was served the most');
    svc.stop();
  });
});

test('claims expire after claimMs whatever order the clock gave them (a clock that goes back included)', () => {
  const c = new Choker({ uploadSlots: 1, claimMs: 1000 }, seededRandom(1));
  const full = new Set(['a', 'b']);
  c.requested('x', 5000);
  assert.equal(c.admit('x', 5000, full), false);
  c.requested('y', 1000);
  assert.equal(c.admit('y', 1000, full), false);
  // y's claim (1000) is over at 2100, x's (5000) is not
  assert.deepEqual(c.claimants(2100), ['x']);
  // in clock order, the expired ones go first and the rest stay
  const d = new Choker({ uploadSlots: 1, claimMs: 1000 }, seededRandom(1));
  for (const [r, t] of [['p', 0], ['q', 500], ['r', 900]] as const) {
    d.requested(r, t);
    assert.equal(d.admit(r, t, full), false);
  }
  assert.deepEqual(d.claimants(1600).sort(), ['r']);
});

test('a claimant with a slot is ahead of one without: the free place is kept for it', () => {
  const c = new Choker({ uploadSlots: 1, claimMs: 1000 }, seededRandom(1));
  c.requested('s', 0);
  assert.equal(c.claimVacancy('s', 0), true); // s holds the regular slot
  // every place taken: s is refused and claims the next one
  assert.equal(c.admit('s', 10, new Set(['a', 'b'])), false);
  // one place frees: o (no slot) may not take it while s's claim stands
  c.requested('o', 20);
  assert.equal(c.admit('o', 20, new Set(['a'])), false);
  assert.equal(c.admit('s', 30, new Set(['a'])), true);
});

test('a bounded table: a swarm of askers keeps at most maxRemotes states, the slot holders and the busiest stay', () => {
  const clock = new FakeClock(0);
  const choker = new Choker({ uploadSlots: 2, maxRemotes: 8 }, seededRandom(3));
  // A and B give us bytes and ask: they win the regular slots
  traffic(choker, clock, 3, { down: { A: 50 * KB, B: 40 * KB }, asking: ['A', 'B'] });
  choker.roundAt(clock.t, 'downloading');
  assert.deepEqual(sorted(choker.unchoked().filter((r) => r === 'A' || r === 'B')), ['A', 'B']);
  // then 100 remotes each ask once (refused askers of a busy uploader)
  for (let i = 0; i < 100; i++) {
    clock.t += 10;
    choker.requested(`R${i}`, clock.t);
  }
  const kept = choker.status(clock.t).map((p) => p.remote);
  assert.equal(kept.length, 8);
  for (const r of ['A', 'B']) assert.ok(kept.includes(r), `${r} holds a slot: kept`);
  assert.ok(kept.includes('R99') && !kept.includes('R0'), 'the newest askers stay, the idlest went');
  assert.equal(choker.status(clock.t).find((p) => p.remote === 'A')!.downloaded, 150 * KB, 'what a kept remote gave us is kept');
  // a forgotten remote that asks again starts afresh, and is served while a place is free
  choker.requested('R0', clock.t);
  assert.equal(choker.admit('R0', clock.t, new Set(['A'])), true);
  assert.equal(choker.status(clock.t).length, 8);
});
