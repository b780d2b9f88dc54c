/**
 * The work-conserving choker's rules, round by round with an injected clock and
 * fake timers: capacity is never idle while somebody asks, a finished peer
 * seeds at once, complete peers are not interested, free riders are known by
 * their record and get only spare capacity, refusals are immediate.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeedSpread } from '../../src/peer/bandwidth/spread.js';
import { createBandwidthPolicy } from '../../src/peer/bandwidth/index.js';
import { Choker, ChokerService, PeerRecords } from '../../src/peer/choke/index.js';
import { FakeClock, seededRandom } from './fake-clock.js';

/** A bitmap of `parts` parts with the first `held` set. */
function bitmap(parts: number, held: number): Uint8Array {
  const bm = new Uint8Array(Math.ceil(parts / 8));
  for (let p = 0; p < held; p++) bm[p >> 3]! |= 0x80 >> (p & 7);
  return bm;
}

/** A bitmap with exactly `set` parts. */
function only(parts: number, set: number[]): Uint8Array {
  const bm = new Uint8Array(Math.ceil(parts / 8));
  for (const p of set) bm[p >> 3]! |= 0x80 >> (p & 7);
  return bm;
}

const none = new Set<string>();

describe('work conservation (pure Choker)', () => {
  test('every place is filled by whoever asks; slots only order the askers under contention', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 1, claimMs: 1000 }, seededRandom(1));
    choker.roundAt(clock.t);
    const serving = new Set<string>();
    // two places (one slot + optimistic): the first two askers, whoever they are
    for (const r of ['A', 'B']) {
      choker.requested(r, clock.t);
      assert.equal(choker.admit(r, clock.t, serving), true, r);
      serving.add(r);
    }
    choker.requested('C', clock.t);
    assert.equal(choker.admit('C', clock.t, serving), false, 'every place taken');
    // C gives us the most: the round gives it the regular slot (priority 0)
    choker.downloaded('C', 1e6, clock.t);
    clock.t += 10_000;
    for (const r of ['A', 'B', 'C', 'D']) choker.requested(r, clock.t);
    const round = choker.roundAt(clock.t, 'downloading');
    assert.equal(round.regular[0], 'C');
    assert.equal(choker.priority('C', clock.t), 0);
    // still two being served (A and B finish their parts); C asks, is refused, claims the next place
    assert.equal(choker.admit('C', clock.t, serving), false);
    assert.deepEqual(choker.claimants(clock.t), ['C']);
    // A's part ends: D (no slot, priority 2) asks first, but the place is C's
    serving.delete('A');
    choker.requested('D', clock.t);
    assert.equal(choker.admit('D', clock.t, serving), false, 'a better claimant waits for this place');
    assert.equal(choker.admit('C', clock.t, serving), true);
    serving.add('C');
    // a claim lapses after claimMs: then a free place goes to any asker again
    serving.delete('B');
    clock.t += 1001;
    choker.requested('D', clock.t);
    assert.equal(choker.admit('D', clock.t, serving), true, 'capacity is not kept idle for a claimant that went away');
  });

  test('slots follow measured capacity use: all places taken yet the uplink under-used for 3 s gives one more place', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 1, capacity: 100_000 }, seededRandom(1));
    choker.roundAt(clock.t);
    const serving = new Set(['A', 'B']);
    assert.equal(choker.places(), 2);
    choker.requested('C', clock.t);
    assert.equal(choker.admit('C', clock.t, serving), false);
    // A and B take only 20 kB/s each of our 100 kB/s
    for (let s = 0; s < 4; s++) {
      clock.t += 1000;
      choker.uploaded('A', 20_000, clock.t);
      choker.uploaded('B', 20_000, clock.t);
    }
    choker.requested('C', clock.t);
    assert.equal(choker.admit('C', clock.t, serving), true, 'a third place while the uplink is under-used');
    assert.equal(choker.places(), 3);
    // the capacity is in use again: a round gives the place back
    for (let s = 0; s < 4; s++) {
      clock.t += 1000;
      for (const r of ['A', 'B', 'C']) choker.uploaded(r, 34_000, clock.t);
    }
    choker.roundAt(clock.t);
    assert.equal(choker.places(), 2);
    // no capacity known (limits in the kernel, e.g. tc): the places stay fixed
    const fixed = new Choker({ uploadSlots: 1 }, seededRandom(1));
    for (let s = 0; s < 10; s++) {
      clock.t += 1000;
      fixed.requested('C', clock.t);
      fixed.admit('C', clock.t, serving);
    }
    assert.equal(fixed.places(), 2);
  });
});

describe('parts per peer', () => {
  test('partsPerPeer bounds the parts one peer is sent at once; unlimited by default', () => {
    const clock = new FakeClock(0);
    const limited = new Choker({ uploadSlots: 1, partsPerPeer: 2 }, seededRandom(1));
    limited.requested('A', clock.t);
    assert.equal(limited.admit('A', clock.t, new Map([['A', 1]])), true);
    assert.equal(limited.admit('A', clock.t, new Map([['A', 2]])), false, 'a third part waits');
    // Unlimited by default, within the places: one peer alone may use every one of them.
    const open = new Choker({ uploadSlots: 4 }, seededRandom(1));
    open.requested('A', clock.t);
    assert.equal(open.admit('A', clock.t, new Map([['A', 4]])), true, 'a fifth part: the fifth place');
    assert.equal(open.admit('A', clock.t, new Map([['A', 5]])), false, 'every place is sending one of its parts');
    assert.throws(() => new Choker({ partsPerPeer: -1 }), RangeError);
  });

  test('a further part in parallel waits while another peer waits for a place or wants parts at all; a newcomer with a free place does not wait', () => {
    const clock = new FakeClock(0);
    const c = new Choker({ uploadSlots: 1 }, seededRandom(1));
    for (const r of ['A', 'B', 'C']) c.requested(r, clock.t);
    // two places: A and B served, C refused and claims the next place
    const serving = new Map([['A', 1], ['B', 1]]);
    assert.equal(c.verdict('C', clock.t, serving), 'full');
    assert.equal(c.verdict('A', clock.t, serving), 'parallel', 'A may not take a second part while C waits');
    // C is served once B is done; nobody waits: A may use the spare capacity
    serving.delete('B');
    assert.equal(c.admit('C', clock.t, serving), true);
    // C got its part; nobody waits, but B and C asked within interestMs: one flow fills the
    // uplink, and a second one for A would halve theirs when they come back
    assert.equal(c.verdict('A', clock.t, new Map([['A', 1]])), 'parallel', 'others still want parts');
    // later only A asks: alone, A may take both places
    clock.t += c.options.interestMs + 1;
    c.requested('A', clock.t);
    assert.equal(c.verdict('A', clock.t, new Map([['A', 1]])), null, 'alone, A may take both places');
    // a newcomer is not kept out by A's parallel parts while a place (by peer) is free
    c.requested('D', clock.t);
    assert.equal(c.admit('D', clock.t, new Map([['A', 2]])), true);
  });
});

describe('interest, completeness and mode', () => {
  test('a peer the tracker lists complete is not interested any more: its slot is free at once; asking again renews it', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 2 }, seededRandom(2));
    for (const r of ['A', 'B']) choker.requested(r, clock.t, 'm');
    choker.requested('A', clock.t, 'other');
    choker.roundAt(clock.t);
    assert.deepEqual([...choker.unchoked()].sort(), ['A', 'B']);
    clock.t += 1000;
    const freed = choker.holders('m', 16, [{ remote: 'A', bitmap: bitmap(16, 16) }, { remote: 'B', bitmap: bitmap(16, 16) }], clock.t);
    assert.deepEqual(freed, ['B'], 'A still wants another file');
    assert.equal(choker.isInterested('B', clock.t), false);
    assert.equal(choker.isInterested('A', clock.t), true);
    assert.deepEqual(choker.unchoked(), ['A']);
    assert.ok(!choker.roundAt(clock.t).regular.includes('B'), 'a round does not give B a slot either');
    // B lost the file (a restart) and asks again: the newest evidence wins
    choker.requested('B', clock.t, 'm');
    assert.equal(choker.isInterested('B', clock.t), true);
    assert.equal(choker.admit('B', clock.t, none), true);
  });

  test('a peer that finishes seeds at once: the next request re-chokes with seeding rules, no 10 s wait', async () => {
    const clock = new FakeClock(0);
    let downloading = true;
    const modes: string[] = [];
    const svc = new ChokerService({
      now: clock.now, timers: clock, random: seededRandom(3), uploadSlots: 1,
      mode: () => (downloading ? 'downloading' : 'seeding'),
      onRound: (r) => modes.push(r.mode),
    });
    svc.start();
    assert.deepEqual(modes, ['downloading']);
    (await svc.admit('A'))!();
    await clock.advance(2000);
    downloading = false;
    (await svc.admit('B'))!();
    assert.deepEqual(modes, ['downloading', 'seeding'], 're-choked at the first request after finishing');
    assert.equal(svc.status().mode, 'seeding');
    svc.stop();
  });

  test('autoMode: seeding 3 s after the last byte came in (not 20 s)', () => {
    const choker = new Choker({}, seededRandom(1));
    choker.downloaded('A', 100, 1000);
    assert.equal(choker.autoMode(3999), 'downloading');
    assert.equal(choker.autoMode(4001), 'seeding');
  });
});

describe('free-rider record', () => {
  test('holds parts, was sent parts, never sent us a byte, none of our parts spread from it: a free rider after the grace time', () => {
    const records = new PeerRecords({ minHeld: 4, minGiven: 4, minRefusals: Infinity, graceMs: 10_000 });
    // we (the only source) send parts 0-3 to F and parts 4-7 to C
    for (let p = 0; p < 4; p++) records.gave('F', 'm', p, 0);
    for (let p = 4; p < 8; p++) records.gave('C', 'm', p, 0);
    records.learn('m', 32, [{ remote: 'F', bitmap: only(32, [0, 1, 2, 3]) }, { remote: 'C', bitmap: only(32, [4, 5, 6, 7]) }]);
    assert.equal(records.isFreeRider('F', 0, 9_999), false, 'not before the grace time');
    // later X holds part 5, which only C ever got from us: C served it on
    records.learn('m', 32, [
      { remote: 'F', bitmap: only(32, [0, 1, 2, 3, 4, 5]) },
      { remote: 'C', bitmap: only(32, [4, 5, 6, 7]) },
      { remote: 'X', bitmap: only(32, [5]) },
    ]);
    assert.equal(records.credited('C'), true);
    assert.equal(records.isFreeRider('C', 0, 20_000), false);
    assert.equal(records.credited('F'), false, "F holding C's parts credits C, not F");
    assert.equal(records.isFreeRider('F', 0, 20_000), true);
    assert.equal(records.isFreeRider('F', 1, 20_000), false, 'a byte from it and it is a contributor');
    // a part some holder already had when we sent it proves nothing when it is seen there
    records.learn('m', 32, [{ remote: 'Y', bitmap: only(32, [9]) }]);
    records.gave('Z', 'm', 9, 0);
    records.learn('m', 32, [{ remote: 'Y', bitmap: only(32, [9]) }, { remote: 'Z', bitmap: only(32, [9]) }]);
    assert.equal(records.credited('Z'), false);
    records.forget('F');
    assert.equal(records.isFreeRider('F', 0, 20_000), false, 'forgotten: no record');
  });

  test('a part sent to two peers credits neither when it spreads: the spread may be the other one\'s alone', () => {
    const records = new PeerRecords({ minHeld: 2, minGiven: 2, minRefusals: Infinity, graceMs: 3000 });
    // part 0 to F and C, parts 1-2 to F only, part 3 to C only
    for (const p of [0, 1, 2]) records.gave('F', 'm', p, 0);
    for (const p of [0, 3]) records.gave('C', 'm', p, 0);
    records.learn('m', 8, [{ remote: 'F', bitmap: only(8, [0, 1, 2]) }, { remote: 'C', bitmap: only(8, [0, 3]) }]);
    // X got part 0 (from C, as it happens): no evidence about F
    records.learn('m', 8, [{ remote: 'F', bitmap: only(8, [0, 1, 2]) }, { remote: 'C', bitmap: only(8, [0, 3]) }, { remote: 'X', bitmap: only(8, [0]) }]);
    assert.equal(records.credited('F'), false);
    assert.equal(records.credited('C'), false);
    assert.equal(records.isFreeRider('F', 0, 3000), true);
    // then part 3, which only C got from us, shows up at X: C spread it
    records.learn('m', 8, [{ remote: 'F', bitmap: only(8, [0, 1, 2]) }, { remote: 'C', bitmap: only(8, [0, 3]) }, { remote: 'X', bitmap: only(8, [0, 3]) }]);
    assert.equal(records.credited('C'), true);
    assert.equal(records.isFreeRider('C', 0, 3000), false);
    assert.equal(records.isFreeRider('F', 0, 3000), true);
  });

  test('a peer that refused our requests and never sent us a byte is a free rider without a part of ours; its first byte clears it', () => {
    const records = new PeerRecords({ minHeld: 2, minGiven: 2, minRefusals: 3, graceMs: 1000 });
    records.learn('m', 8, [{ remote: 'F', bitmap: only(8, [0, 1, 2, 3]) }, { remote: 'S', bitmap: only(8, [4]) }]);
    records.refused('F', 0);
    records.refused('F', 200);
    assert.equal(records.isFreeRider('F', 0, 5000), false, 'two refusals say little: its places may be full');
    records.refused('F', 500);
    assert.equal(records.isFreeRider('F', 0, 999), false, 'within the grace time of its first refusal');
    assert.equal(records.isFreeRider('F', 0, 1000), true);
    assert.equal(records.isFreeRider('F', 1, 1000), false, 'it sent us a byte: it uploads');
    // a peer that holds fewer than minHeld parts has nothing to refuse us with yet
    for (const t of [0, 100, 200, 300]) records.refused('S', t);
    assert.equal(records.isFreeRider('S', 0, 5000), false);
  });

  test('the choker hears of refusals through the traffic seam: a peer that refused every request of ours is judged, one refusal is not', () => {
    const clock = new FakeClock(0);
    const svc = new ChokerService({ uploadSlots: 1, freeRiderMinRefusals: 3, freeRiderGraceMs: 1000, now: () => clock.t });
    for (let i = 0; i < 3; i++) svc.refusedBy('F');
    svc.refusedBy('C');
    // the next holder list (the choker keeps records of the peers it knows, now these two)
    svc.holders('m', 8, [{ remote: 'F', bitmap: bitmap(8, 4) }, { remote: 'C', bitmap: bitmap(8, 4) }]);
    clock.t += 1000;
    assert.equal(svc.status().peers.find((p) => p.remote === 'F')?.freeRider, true);
    assert.equal(svc.status().peers.find((p) => p.remote === 'C')?.freeRider, false);
    svc.stop();
  });

  test('under contention a free rider comes last: contributors get the places, the free rider only an idle uplink', () => {
    const clock = new FakeClock(0);
    const choker = new Choker({ uploadSlots: 1, freeRiderGraceMs: 0 }, seededRandom(4));
    for (let p = 0; p < 4; p++) choker.gave('F', 'm', p, clock.t);
    choker.holders('m', 32, [{ remote: 'F', bitmap: bitmap(32, 4) }], clock.t);
    assert.equal(choker.priority('F', clock.t), 3);
    const serving = new Set(['A', 'B']);
    for (const r of ['F', 'C']) {
      choker.requested(r, clock.t);
      assert.equal(choker.admit(r, clock.t, serving), false);
    }
    assert.deepEqual(choker.claimants(clock.t), ['C', 'F'], 'best first');
    serving.delete('A');
    assert.equal(choker.admit('F', clock.t, serving), false, 'the free place goes to the contributor');
    assert.equal(choker.admit('C', clock.t, serving), true);
    serving.add('C');
    serving.delete('B');
    assert.equal(choker.verdict('F', clock.t, serving), 'free-rider', 'a place is free, but beside C the free rider would take half the uplink');
    serving.delete('C');
    assert.equal(choker.admit('F', clock.t, serving), true, 'nobody else is served: the idle uplink is the free rider\'s');
    choker.requested('C', clock.t);
    assert.equal(choker.admit('C', clock.t, new Set(['F'])), true, 'a contributor is served beside a free rider at once');
    assert.equal(choker.status(clock.t).find((p) => p.remote === 'F')!.freeRider, true);
  });
});

describe('held requests (the peer holds 250 ms: policy.ts REFUSAL_HOLD_MS)', () => {
  test('a held free rider is served at its deadline once the peer beside it turned out a free rider too, with no vacancy in between', async () => {
    const clock = new FakeClock(0);
    const refusals: string[] = [];
    const svc = new ChokerService({
      now: clock.now, timers: clock, random: seededRandom(11), uploadSlots: 1, admissionWaitMs: 2000,
      freeRiderGraceMs: 1000, freeRiderMinGiven: 2, freeRiderMinHeld: 2,
      onRefuse: (remote, _serving, _places, _reserved, reason) => refusals.push(`${remote} ${reason}`),
    });
    svc.start();
    // F was sent parts 0-1 at t=0, X parts 2-3 at t=500; neither sends anything back, nor spreads them
    for (const p of [0, 1]) svc.choker.gave('F', 'm', p, 0);
    clock.t = 500;
    for (const p of [2, 3]) svc.choker.gave('X', 'm', p, 500);
    svc.holders('m', 32, [{ remote: 'F', bitmap: only(32, [0, 1]) }, { remote: 'X', bitmap: only(32, [2, 3]) }]);
    const x = await svc.admit('X', { md5: 'm', part: 4 });
    assert.ok(x, 'X is served (not judged yet)');
    clock.t = 1000;
    assert.equal(svc.choker.isFreeRider('F', 1000), true);
    let outcome = 'pending' as unknown;
    void svc.admit('F', { md5: 'm', part: 5 }).then((r) => (outcome = r));
    await clock.advance(1999);
    assert.equal(outcome, 'pending', 'a place is free, but beside X (an earner until t=1500) F waits');
    await clock.advance(1);
    assert.equal(typeof outcome, 'function', 'at its deadline F is asked once more, and X is judged by then: served');
    assert.deepEqual(refusals, []);
    (outcome as unknown as () => void)();
    x();
    svc.stop();
  });

  test('a held request that still cannot be served is refused at its deadline, with the reason it has then', async () => {
    const clock = new FakeClock(0);
    const refusals: string[] = [];
    const svc = new ChokerService({
      now: clock.now, timers: clock, random: seededRandom(12), uploadSlots: 1, admissionWaitMs: 250,
      onRefuse: (remote, serving, places, _reserved, reason) => refusals.push(`${remote} ${reason} ${serving}/${places}`),
    });
    svc.start();
    const a = await svc.admit('A');
    const b = await svc.admit('B');
    assert.ok(a && b);
    let outcome = 'pending' as unknown;
    void svc.admit('C').then((r) => (outcome = r));
    await clock.advance(250);
    assert.equal(outcome, null);
    assert.deepEqual(refusals, ['C full 2/2']);
    a();
    b();
    svc.stop();
  });
});

describe('refusal at once (ChokerService default)', () => {
  test('a request that cannot be served is refused at once, no timer; the freed place is reported with its claimants', async () => {
    const clock = new FakeClock(0);
    const vacancies: string[][] = [];
    const svc = new ChokerService({ now: clock.now, timers: clock, random: seededRandom(5), uploadSlots: 1, onVacancy: (c) => vacancies.push(c) });
    svc.start();
    const a = await svc.admit('A', { md5: 'm', part: 0 });
    const b = await svc.admit('B', { md5: 'm', part: 1 });
    assert.ok(a && b);
    const timers = clock.pendingTimers();
    assert.equal(await svc.admit('C', { md5: 'm', part: 2 }), null, 'refused without waiting');
    assert.equal(clock.pendingTimers(), timers, 'nothing held');
    assert.equal(svc.refused, 1);
    a();
    assert.deepEqual(vacancies, [['C']], 'the edge can tell C to ask again now');
    assert.ok(await svc.admit('C', { md5: 'm', part: 2 }));
    b();
    svc.stop();
  });

  test('policy: complete holders from the FCHU answer free their slot; re-asking for a part already sent is never refused by seed spreading', async () => {
    const clock = new FakeClock(0);
    const bw = createBandwidthPolicy({ upRate: 0, origin: (md5) => (md5 === 'm' ? 16 : null), spreadHoldMs: 0, choker: { now: clock.now, timers: clock, random: seededRandom(6), uploadSlots: 1, admissionWaitMs: 0 } });
    bw.start();
    const r1 = await bw.admission.admit('10.0.0.5', { md5: 'm', part: 3 });
    assert.ok(r1);
    r1();
    assert.ok(bw.choker.choker.isUnchoked('10.0.0.5'));
    bw.learnHolders('m', [{ address: { ip4: '10.0.0.5', ip6: '::1' }, port: 7000, bitmap: bitmap(16, 16) }]);
    assert.equal(bw.choker.choker.isUnchoked('10.0.0.5'), false, 'complete: slot freed at once');
    // part 3 went out once; with one of the two places taken, another peer asking for it is
    // turned away while never-sent parts remain (it should ask for a part only we have)
    const other = await bw.admission.admit('10.0.0.7', { md5: 'm', part: 5 });
    assert.ok(other);
    assert.equal(await bw.admission.admit('10.0.0.6', { md5: 'm', part: 3 }), null);
    // the same peer asking for part 3 again (it lost it) is served
    const again = await bw.admission.admit('10.0.0.5', { md5: 'm', part: 3 });
    assert.ok(again, 'a peer that needs a part again is not starved');
    again();
    other();
    // nothing else being served: spreading does not keep the uplink idle
    const dup = await bw.admission.admit('10.0.0.6', { md5: 'm', part: 3 });
    assert.ok(dup, 'a duplicate part is served when places are free');
    dup();
    bw.stop();
  });

  test('SeedSpread: the first copy of each part first, but never against the peer it was sent to', () => {
    const spread = new SeedSpread(() => 4);
    spread.admitted('m', 0, 'A');
    assert.equal(spread.refuse('m', 0, 'B'), true);
    assert.equal(spread.refuse('m', 0, 'A'), false);
    assert.equal(spread.refuse('m', 1, 'B'), false);
    for (const p of [1, 2, 3]) spread.admitted('m', p, 'B');
    assert.equal(spread.refuse('m', 0, 'B'), false, 'every part went out once: no more spreading');
  });
});
