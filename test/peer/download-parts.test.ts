/**
 * The download's pure parts with an injected clock and randomness: who may be
 * asked (back-off escalation, choked without escalation, bans), availability
 * kept up to date as bitmaps change (always equal to a recount), and what the
 * schedule hands the picker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { peerAddress } from '../../src/protocol/address.js';
import { emptyBitmap, setPart } from '../../src/protocol/bitfield.js';
import { CHOKED_RETRY_MS, CHOKES_PER_DOUBLING, FIRST_BACKOFF_MS, MAX_RESTING_OWNERS, MAX_SHARER_ADDRESSES, MIN_PROBES, OwnerSet, PROBES_CAPPED_AFTER, SWARM_CHOKES_PER_DOUBLING } from '../../src/peer/download/owners.js';
import { type Flight, ONE_EACH_UNTIL, Schedule } from '../../src/peer/download/schedule.js';
import { Availability, availability } from '../../src/peer/picker.js';
import type { FetchHandle } from '../../src/peer/fetch.js';
import { seededRandom } from '../support/random.js';

const PARTS = 10;
const bitmapOf = (parts: number[], count = PARTS): Buffer => {
  const b = emptyBitmap(count);
  for (const p of parts) setPart(b, p);
  return b;
};
const holder = (n: number, parts: number[]) => ({ address: peerAddress(`127.0.0.${n}`, '::1'), port: 5000, bitmap: bitmapOf(parts) });

function setup(now = { t: 0 }) {
  const schedule = new Schedule({ parts: PARTS, maxInFlight: 3, randomFirst: 0, endgameCopies: 2, random: seededRandom(7) });
  const owners = new OwnerSet(
    { now: () => now.t, random: () => 0.5, maxPerOwner: 2, maxBackoffMs: 4000, isSelf: (a) => a.ip4 === '127.0.0.1' },
    (o, before, after) => schedule.bitmapChanged(o, before, after),
  );
  return { schedule, owners, now };
}

test('faults back off 0.5 s, 1 s, 2 s, … up to the cap; a good part resets the count', () => {
  const { owners, now } = setup();
  owners.update([holder(2, [0, 1])], PARTS);
  const o = owners.get('127.0.0.2:5000')!;
  assert.equal(owners.available(o), true);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => owners.faulted(o)), [FIRST_BACKOFF_MS, 1000, 2000, 4000, 4000]);
  assert.equal(owners.available(o), false);
  assert.equal(owners.nextWake(), 4000);
  now.t = 4000;
  assert.equal(owners.available(o), true);
  owners.succeeded(o);
  assert.equal(owners.faulted(o), FIRST_BACKOFF_MS, 'the next fault starts over');
  assert.equal(o.parts, 1);
});

test('being choked is no fault: a short wait, lengthened only by long runs of chokes, reset by a good part', () => {
  const { owners } = setup();
  owners.update([holder(2, [0])], PARTS);
  const o = owners.get('127.0.0.2:5000')!;
  const waits = Array.from({ length: 3 * CHOKES_PER_DOUBLING }, () => owners.choked(o));
  const w = 1.5 * CHOKED_RETRY_MS;
  assert.deepEqual(waits, [...Array<number>(CHOKES_PER_DOUBLING).fill(w), ...Array<number>(CHOKES_PER_DOUBLING).fill(2 * w), ...Array<number>(CHOKES_PER_DOUBLING).fill(4 * w)]);
  assert.equal(o.failures, 0, 'never a fault');
  assert.equal(o.choked, 3 * CHOKES_PER_DOUBLING);
  owners.succeeded(o);
  assert.equal(owners.choked(o), w, 'a good part starts over');
});

test("the download's own run of chokes, from any owners, lengthens every wait; a part kept from anyone resets it", () => {
  const { owners } = setup();
  const n = 2 * SWARM_CHOKES_PER_DOUBLING + 2;
  owners.update(Array.from({ length: n }, (_, i) => holder(i + 2, [0])), PARTS);
  const all = [...owners.values()];
  // each owner chokes us once: no owner's own run is long, the download's is
  const waits = all.map((o) => owners.choked(o));
  const w = 1.5 * CHOKED_RETRY_MS;
  assert.deepEqual(waits.slice(0, SWARM_CHOKES_PER_DOUBLING), Array<number>(SWARM_CHOKES_PER_DOUBLING).fill(w));
  assert.deepEqual(waits.slice(SWARM_CHOKES_PER_DOUBLING, 2 * SWARM_CHOKES_PER_DOUBLING), Array<number>(SWARM_CHOKES_PER_DOUBLING).fill(2 * w));
  assert.equal(waits[2 * SWARM_CHOKES_PER_DOUBLING], 4 * w);
  owners.succeeded(all[0]!);
  assert.equal(owners.choked(all[1]!), w, 'a part kept from another owner starts the run over');
});

test("an owner gone from the tracker's list keeps its back-off when it is listed again (a bounded table)", () => {
  const { owners, now } = setup();
  owners.update([holder(2, [0]), holder(3, [0])], PARTS);
  const o = owners.get('127.0.0.2:5000')!;
  for (let i = 0; i < CHOKES_PER_DOUBLING; i++) owners.choked(o);
  const until = o.backoffUntil;
  assert.ok(until > 0);
  owners.update([holder(3, [0])], PARTS);
  assert.equal(owners.get('127.0.0.2:5000'), undefined, 'an idle owner gone from the list leaves');
  owners.update([holder(2, [0]), holder(3, [0])], PARTS);
  const again = owners.get('127.0.0.2:5000')!;
  assert.equal(owners.available(again), false, 'not asked at once');
  assert.equal(again.backoffUntil, until);
  assert.equal(owners.choked(again), 2 * 1.5 * CHOKED_RETRY_MS, 'its run of chokes goes on');
  // at most MAX_RESTING_OWNERS are remembered, the oldest forgotten first
  now.t = 1;
  const many = Array.from({ length: MAX_RESTING_OWNERS + 1 }, (_, i) => ({ address: peerAddress(`10.0.${i >> 8}.${i & 255}`, '::1'), port: 5000, bitmap: bitmapOf([0]) }));
  owners.update(many, PARTS);
  for (const x of owners.values()) owners.choked(x);
  owners.update([], PARTS);
  owners.update(many, PARTS);
  assert.equal(owners.get('10.0.0.0:5000')!.chokedInARow, 0, 'the oldest resting owner was forgotten');
  assert.equal(owners.get(`10.0.${MAX_RESTING_OWNERS >> 8}.${MAX_RESTING_OWNERS & 255}:5000`)!.chokedInARow, 1);
});

test('a banned owner is never available, its parts stop counting, and it stays banned when it leaves the list', () => {
  const { owners, schedule } = setup();
  owners.update([holder(2, [0, 1]), holder(3, [1])], PARTS);
  assert.deepEqual([...schedule.availability.counts.slice(0, 3)], [1, 2, 0]);
  owners.ban('127.0.0.2:5000', 'sent wrong bytes for part 0');
  const o = owners.get('127.0.0.2:5000')!;
  assert.equal(owners.available(o), false);
  assert.deepEqual([...schedule.availability.counts.slice(0, 3)], [0, 1, 0]);
  owners.update([holder(3, [1])], PARTS);
  owners.update([holder(2, [0, 1, 2]), holder(3, [1])], PARTS);
  assert.deepEqual(owners.banned(), [{ key: '127.0.0.2:5000', reason: 'sent wrong bytes for part 0' }]);
  assert.deepEqual([...schedule.availability.counts.slice(0, 3)], [0, 1, 0], 'its new bitmap does not count either');
});

test('ourselves in the list is never an owner; idle owners gone from the list leave', () => {
  const { owners, schedule } = setup();
  owners.update([holder(1, [0]), holder(2, [0]), holder(3, [0])], PARTS);
  assert.equal(owners.size, 2);
  owners.update([holder(3, [0])], PARTS);
  assert.deepEqual([...owners.values()].map((o) => o.key), ['127.0.0.3:5000']);
  assert.equal(schedule.availability.counts[0], 1);
});

test("the md5's content+owner convention is tried with complete holders only (the sharer is listed with every part), the first MAX_SHARER_ADDRESSES", () => {
  const { owners } = setup();
  const full = [...Array(PARTS).keys()];
  owners.update([holder(2, [0]), holder(3, full), holder(4, [1, 2])], PARTS);
  owners.update([holder(5, full)], PARTS);
  assert.deepEqual(owners.addresses().map((a) => a.ip4), ['127.0.0.3', '127.0.0.5'], 'partial holders cannot be the sharer; complete ones are kept after they leave the list');
  assert.equal(owners.sharerKnown, true);
  const many = Array.from({ length: MAX_SHARER_ADDRESSES + 10 }, (_, i) => ({ address: peerAddress(`10.1.${i >> 8}.${i & 255}`, '::1'), port: 5000, bitmap: bitmapOf(full) }));
  owners.update(many, PARTS);
  const kept = owners.addresses();
  assert.equal(kept.length, MAX_SHARER_ADDRESSES, 'a bound, however many complete holders a big swarm lists');
  assert.deepEqual(kept.slice(0, 2).map((a) => a.ip4), ['127.0.0.3', '127.0.0.5'], 'the first seen stay (the sharer is listed from the start)');
});

test('availability kept up to date equals a recount, whatever the sequence of lists', () => {
  const list = fc.array(fc.tuple(fc.integer({ min: 2, max: 6 }), fc.subarray([...Array(PARTS).keys()])), { maxLength: 5 });
  fc.assert(
    fc.property(fc.array(list, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 2, max: 6 }), { maxLength: 2 }), (lists, bans) => {
      const { owners, schedule } = setup();
      for (const [i, l] of lists.entries()) {
        const unique = new Map(l.map(([n, parts]) => [n, holder(n, parts)]));
        owners.update([...unique.values()], PARTS);
        if (i === 0) for (const b of bans) owners.ban(`127.0.0.${b}:5000`, 'test');
      }
      const views = [...owners.values()].filter((o) => o.listed && o.banned === null).map((o) => ({ key: o.key, bitmap: o.bitmap, load: 0, available: true }));
      assert.deepEqual([...schedule.availability.counts], [...availability(PARTS, views)]);
    }),
  );
});

test('Availability.change counts each part once per owner', () => {
  const a = new Availability(PARTS);
  a.change(null, bitmapOf([0, 1]));
  a.change(bitmapOf([0, 1]), bitmapOf([1, 2]));
  a.change(null, bitmapOf([2]));
  assert.deepEqual([...a.counts.slice(0, 4)], [0, 1, 2, 0]);
  a.change(bitmapOf([2]), null);
  assert.deepEqual([...a.counts.slice(0, 4)], [0, 1, 1, 0]);
});

const handle = (): FetchHandle & { cancelled: boolean } => {
  const h = { done: new Promise<Buffer[]>(() => undefined), cancelled: false, cancel: () => { h.cancelled = true; } };
  return h;
};

test('the schedule asks the least-loaded owner, respects the caps, and cancels the losers of an endgame part', () => {
  const { owners, schedule } = setup();
  owners.update([holder(2, [0, 1, 2]), holder(3, [0, 1, 2])], PARTS);
  const have = bitmapOf([3, 4, 5, 6, 7, 8, 9]);
  const flights = [];
  for (let pick = schedule.next(have, owners, 0); pick; pick = schedule.next(have, owners, 0)) {
    const f = { part: pick.part, owner: owners.get(pick.owner)!, handle: handle(), cancelled: false };
    schedule.add(f);
    flights.push(f);
  }
  assert.equal(schedule.count, 3, 'maxInFlight');
  assert.equal(schedule.full, true);
  const loads = [...owners.values()].map((o) => o.load).sort();
  assert.deepEqual(loads, [1, 2], 'spread over both owners, at most maxPerOwner each');
  assert.equal(new Set(flights.map((f) => f.part)).size, 3, 'three different parts first');
  // The first copy of a part wins: the others for it are cancelled.
  const [a] = flights;
  schedule.remove(flights[2]!);
  const again = schedule.next(have, owners, 0)!;
  assert.ok(again, 'endgame: a second request for a part in flight');
  const dup = { part: again.part, owner: owners.get(again.owner)!, handle: handle(), cancelled: false };
  schedule.add(dup);
  const winner = dup.part === a!.part ? a! : flights.find((f) => f.part === dup.part)!;
  schedule.cancelOthers(dup.part, winner === dup ? dup : winner);
  const losers = [dup, ...flights].filter((f) => f.part === dup.part && f !== winner);
  assert.ok(losers.length >= 1);
  for (const l of losers) assert.equal(l.cancelled, true);
  assert.equal(winner.cancelled, false);
});

test('alone with seeds, equally rare parts are asked in order; once someone else is downloading, at random again', () => {
  const all = Array.from({ length: PARTS }, (_, p) => p);
  const noop: FetchHandle = { done: new Promise<Buffer[]>(() => undefined), cancel: () => undefined };
  const firstPicks = (seed: number, holders: ReturnType<typeof holder>[]): number[] => {
    // oneEachUntil 0: three parts of two seeds at once (the newcomer's one-part-per-owner rule is tested below)
    const schedule = new Schedule({ parts: PARTS, maxInFlight: 3, randomFirst: 0, endgameCopies: 2, random: seededRandom(seed), inOrderAlone: true, oneEachUntil: 0 });
    const owners = new OwnerSet(
      { now: () => 0, random: () => 0.5, maxPerOwner: 3, maxBackoffMs: 4000, isSelf: () => false },
      (o, before, after) => schedule.bitmapChanged(o, before, after),
    );
    owners.update(holders, PARTS);
    const picked: number[] = [];
    for (let pick = schedule.next(emptyBitmap(PARTS), owners, 0); pick; pick = schedule.next(emptyBitmap(PARTS), owners, 0)) {
      picked.push(pick.part);
      schedule.add({ part: pick.part, owner: owners.get(pick.owner)!, handle: noop, cancelled: false });
    }
    return picked;
  };
  // Two seeds, nobody else: in order, whatever the random source says.
  for (let seed = 1; seed <= 20; seed++) assert.deepEqual(firstPicks(seed, [holder(2, all), holder(3, all)]), [0, 1, 2]);
  // A third peer holds part 1 only (it is downloading too): rarest first, ties at random, as before.
  const orders = new Set<string>();
  for (let seed = 1; seed <= 20; seed++) {
    const picks = firstPicks(seed, [holder(2, all), holder(4, [1])]);
    assert.notEqual(picks[0], 1, 'the part two peers hold is not among the rarest');
    orders.add(picks.join(','));
  }
  assert.ok(orders.size > 1, `ties should be broken at random, got only ${[...orders]}`);
  // Without the option the schedule is unchanged (the simulator builds it so).
  const plain = new Set<string>();
  for (let seed = 1; seed <= 20; seed++) {
    const schedule = new Schedule({ parts: PARTS, maxInFlight: 1, randomFirst: 0, endgameCopies: 2, random: seededRandom(seed) });
    const owners = new OwnerSet({ now: () => 0, random: () => 0.5, maxPerOwner: 3, maxBackoffMs: 4000, isSelf: () => false }, (o, b, a) => schedule.bitmapChanged(o, b, a));
    owners.update([holder(2, all)], PARTS);
    plain.add(String(schedule.next(emptyBitmap(PARTS), owners, 0)!.part));
  }
  assert.ok(plain.size > 1, 'random ties without inOrderAlone');
});

test('a newcomer asks each owner for one part at a time until it holds ONE_EACH_UNTIL parts, then up to maxPerOwner', () => {
  const P = 40; // enough parts that no endgame copy comes into it
  const all = Array.from({ length: P }, (_, p) => p);
  const seedOf = (n: number) => ({ address: peerAddress(`127.0.0.${n}`, '::1'), port: 5000, bitmap: bitmapOf(all, P) });
  const noop: FetchHandle = { done: new Promise<Buffer[]>(() => undefined), cancel: () => undefined };
  const schedule = new Schedule({ parts: P, maxInFlight: 8, randomFirst: 0, endgameCopies: 2, random: seededRandom(3) });
  const owners = new OwnerSet({ now: () => 0, random: () => 0.5, maxPerOwner: 3, maxBackoffMs: 4000, isSelf: () => false }, (o, b, a) => schedule.bitmapChanged(o, b, a));
  owners.update([seedOf(2), seedOf(3)], P);
  const askAll = (have: Uint8Array): Map<string, number> => {
    const asked = new Map<string, number>();
    for (let pick = schedule.next(have, owners, 0); pick; pick = schedule.next(have, owners, 0)) {
      const flight = { part: pick.part, owner: owners.get(pick.owner)!, handle: noop, cancelled: false };
      schedule.add(flight);
      asked.set(pick.owner, (asked.get(pick.owner) ?? 0) + 1);
      flights.push(flight);
    }
    return asked;
  };
  const flights: Flight[] = [];
  const have = emptyBitmap(P);
  // Holding nothing: one part of each seed, so each seed's uplink goes to one part of ours.
  assert.deepEqual([...askAll(have).values()], [1, 1]);
  // Still one each while we hold fewer than ONE_EACH_UNTIL parts.
  for (let p = 0; p < ONE_EACH_UNTIL - 1; p++) setPart(have, P - 1 - p);
  assert.equal(schedule.next(have, owners, 0), null, 'each seed already has one part of ours under way');
  // From ONE_EACH_UNTIL parts on, the usual limit: up to maxPerOwner (3) of each.
  setPart(have, P - ONE_EACH_UNTIL);
  assert.deepEqual([...askAll(have).values()], [2, 2], 'two more of each seed, three in all');
  for (const f of flights) schedule.remove(f);
  assert.equal(schedule.count, 0);
});

test('in a long run of chokes, few requests at once go to owners not giving us parts; owners that do are not limited', () => {
  const all = Array.from({ length: PARTS }, (_, p) => p);
  const noop: FetchHandle = { done: new Promise<Buffer[]>(() => undefined), cancel: () => undefined };
  const now = { t: 0 };
  const slots = 8;
  // oneEachUntil 0: the newcomer's one part per owner (tested above) would hide maxPerOwner here
  const schedule = new Schedule({ parts: PARTS, maxInFlight: slots, randomFirst: 0, endgameCopies: 2, random: seededRandom(3), oneEachUntil: 0 });
  const owners = new OwnerSet({ now: () => now.t, random: () => 0.5, maxPerOwner: 2, maxBackoffMs: 4000, isSelf: () => false }, (o, b, a) => schedule.bitmapChanged(o, b, a));
  owners.update(Array.from({ length: 10 }, (_, i) => holder(i + 2, all)), PARTS);
  const giver = owners.get('127.0.0.2:5000')!;
  const refuser = owners.get('127.0.0.3:5000')!;
  const fill = (): Map<string, number> => {
    const to = new Map<string, number>();
    for (let pick = schedule.next(emptyBitmap(PARTS), owners, now.t); pick; pick = schedule.next(emptyBitmap(PARTS), owners, now.t)) {
      schedule.add({ part: pick.part, owner: owners.get(pick.owner)!, handle: noop, cancelled: false });
      to.set(pick.owner, (to.get(pick.owner) ?? 0) + 1);
    }
    return to;
  };
  owners.succeeded(giver);
  const chokes = (n: number): void => {
    for (let i = 0; i < n; i++) owners.choked(refuser);
    now.t += 1_000_000; // every wait over: only the cap holds requests back
  };
  chokes(PROBES_CAPPED_AFTER - 1);
  assert.equal(owners.probeRoom(slots), slots, 'a run shorter than PROBES_CAPPED_AFTER: every slot');
  chokes(1);
  assert.equal(owners.probeRoom(slots), slots / 2);
  const to = fill();
  assert.equal(to.get(giver.key), 2, 'the owner that gave us a part gets its maxPerOwner');
  const probes = [...to].filter(([k]) => k !== giver.key).reduce((n, [, c]) => n + c, 0);
  assert.equal(probes, slots / 2, 'the others: half the slots');
  assert.equal(owners.probeRoom(slots), 0);
  chokes(4 * SWARM_CHOKES_PER_DOUBLING);
  assert.equal(owners.probeRoom(slots) + probes, MIN_PROBES, 'never below MIN_PROBES however long the run');
  owners.succeeded(refuser);
  assert.equal(owners.probeRoom(slots), slots, 'a part kept ends the run');
});

test("a part whose flights all ended is no longer in flight, and the next part asked starts clean (the schedule reuses a part's emptied tables)", () => {
  const P = 4;
  const all = Array.from({ length: P }, (_, p) => p);
  const cancelled: number[] = [];
  const handle = (part: number): FetchHandle => ({ done: new Promise<Buffer[]>(() => undefined), cancel: () => void cancelled.push(part) });
  const schedule = new Schedule({ parts: P, maxInFlight: 4, randomFirst: 0, endgameCopies: 2, random: seededRandom(5), oneEachUntil: 0 });
  const owners = new OwnerSet({ now: () => 0, random: () => 0.5, maxPerOwner: 4, maxBackoffMs: 4000, isSelf: () => false }, (o, b, a) => schedule.bitmapChanged(o, b, a));
  owners.update([2, 3].map((n) => ({ address: peerAddress(`127.0.0.${n}`, '::1'), port: 5000, bitmap: bitmapOf(all, P) })), P);
  const [a, b] = [...owners.values()];
  const fly = (part: number, owner = a!): Flight => {
    const f = { part, owner, handle: handle(part), cancelled: false };
    schedule.add(f);
    return f;
  };
  const first = [fly(0), fly(0, b!), fly(1)];
  for (const f of first) schedule.remove(f);
  assert.equal(schedule.count, 0);
  const later = [fly(2), fly(2, b!)];
  // parts 0 and 1 may be asked again, part 2 is in flight: picks until full never name it
  const have = emptyBitmap(P);
  const picked: number[] = [];
  for (let pick = schedule.next(have, owners, 0); pick; pick = schedule.next(have, owners, 0)) {
    picked.push(pick.part);
    assert.equal(pick.endgame, false, `part ${pick.part} is fresh, not an endgame copy`);
    fly(pick.part, owners.get(pick.owner)!);
  }
  assert.equal(schedule.count, 4);
  assert.ok(!picked.includes(2), `picked ${picked}`);
  // two picks among parts 0, 1 and 3: at least one of the parts whose flights ended
  assert.ok(picked.some((p) => p < 2), `picked ${picked}`);
  // the first copy of part 2 wins: only part 2's other flight is cancelled, none of the ended ones
  schedule.cancelOthers(2, later[0]!);
  assert.deepEqual(cancelled, [2]);
});
