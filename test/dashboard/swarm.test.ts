import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { hasPart } from '../../src/protocol/bitfield.js';
import { summarise } from '../../src/dashboard/summary.js';
import { type Owner, Swarm, type SwarmFile } from '../../src/dashboard/swarm.js';
import type { TrackerEvent } from '../../src/tracker/events.js';
import { FakeView } from './helpers.js';

const MD5 = 'a'.repeat(32);
const [S1, S2, S3] = ['1'.repeat(16), '2'.repeat(16), '3'.repeat(16)];
const ADDR = { ip4: '127.0.0.1', ip6: '0000:0000:0000:0000:0000:0000:0000:0001' };

function setup(now: { t: number }) {
  const swarm = new Swarm(new FakeView(), { now: () => now.t, binMs: 1000 });
  const ev = (e: TrackerEvent): void => swarm.event(e);
  for (const s of [S1, S2, S3]) ev({ type: 'login', at: now.t, sessionId: s, address: ADDR, port: 1 });
  ev({ type: 'add', at: now.t, sessionId: S1, md5: MD5, fileName: 'f', fileLength: 4000, partLength: 1000, parts: 4 });
  const part = (s: string, p: number): void => ev({ type: 'part', at: now.t, sessionId: s, md5: MD5, part: p, partsHeld: 0 });
  return { swarm, ev, part, file: () => swarm.files.get(MD5)! };
}

describe('the dashboard swarm index', () => {
  test('a reported part credits, equally, the peers that held it just before', () => {
    const now = { t: 10_000 };
    const { swarm, part } = setup(now);
    part(S2, 0);
    assert.deepEqual(swarm.served(S1), { parts: 1, bytes: 1000 });
    part(S3, 0); // S1 and S2 held part 0
    assert.deepEqual(swarm.served(S1), { parts: 1.5, bytes: 1500 });
    assert.deepEqual(swarm.served(S2), { parts: 0.5, bytes: 500 });
    part(S3, 0); // a repeated report changes nothing
    assert.deepEqual(swarm.served(S2), { parts: 0.5, bytes: 500 });
    assert.equal(swarm.served(S3), undefined);
  });

  test('holders, full holders, complete copies and logout', () => {
    const now = { t: 10_000 };
    const { swarm, ev, part, file } = setup(now);
    for (let p = 0; p < 4; p++) part(S2, p);
    part(S3, 1);
    assert.equal(file().fullHolders, 2);
    assert.deepEqual([...file().counts], [2, 3, 2, 2]);
    assert.deepEqual(swarm.holdersOf(file()), { holders: 3, completeCopies: 2 });
    assert.equal(swarm.partsRegistered(), 9);
    ev({ type: 'logout', at: now.t, sessionId: S2, partsOwned: 4 });
    assert.equal(file().fullHolders, 1);
    assert.deepEqual([...file().counts], [1, 2, 1, 1]);
    assert.equal(swarm.served(S2), undefined);
    assert.deepEqual(swarm.takeDirtyFiles(10).map((f) => f.md5), [MD5]);
    assert.deepEqual(swarm.takeDirtyFiles(10), []);
  });

  test('the served estimate, kept lazily, equals crediting every earlier holder at each report', () => {
    // The naive model: at each report of part p, each peer holding p gets 1/k.
    const sessions = [S1, S2, S3, '4'.repeat(16)];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('part' as const), s: fc.integer({ min: 0, max: 3 }), p: fc.integer({ min: 0, max: 11 }) }),
      fc.record({ kind: fc.constant('add' as const), s: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('logout' as const), s: fc.integer({ min: 0, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const swarm = new Swarm(new FakeView(), { now: () => 0 });
        const held = new Map<string, Set<number>>();
        const served = new Map<string, number>();
        const parts = 12;
        swarm.event({ type: 'add', at: 0, sessionId: S1, md5: MD5, fileName: 'f', fileLength: parts * 10, partLength: 10, parts });
        held.set(S1, new Set(Array.from({ length: parts }, (_, i) => i)));
        for (const o of ops) {
          const sid = sessions[o.s]!;
          if (o.kind === 'part') {
            swarm.event({ type: 'part', at: 0, sessionId: sid, md5: MD5, part: o.p, partsHeld: 0 });
            if (held.get(sid)?.has(o.p)) continue;
            const before = [...held].filter(([, h]) => h.has(o.p)).map(([s]) => s);
            for (const s of before) served.set(s, (served.get(s) ?? 0) + 1 / before.length);
            if (!held.has(sid)) held.set(sid, new Set());
            held.get(sid)!.add(o.p);
          } else if (o.kind === 'add') {
            swarm.event({ type: 'add', at: 0, sessionId: sid, md5: MD5, fileName: 'f', fileLength: parts * 10, partLength: 10, parts });
            held.set(sid, new Set(Array.from({ length: parts }, (_, i) => i)));
          } else {
            swarm.event({ type: 'logout', at: 0, sessionId: sid, partsOwned: 0 });
            held.delete(sid);
            served.delete(sid);
          }
        }
        for (const s of sessions) {
          const want = served.get(s) ?? 0;
          const got = swarm.served(s);
          assert.ok(Math.abs((got?.parts ?? 0) - want) < 1e-6, `${s}: ${got?.parts} parts served, the model says ${want}`);
          assert.ok(Math.abs((got?.bytes ?? 0) - want * 10) < 1e-5);
        }
      }),
      { numRuns: 300, seed: 21 },
    );
  });

  test('one-second bins of bytes reported and full holders, on the injected clock', () => {
    const now = { t: 10_000 };
    const { swarm, part } = setup(now);
    now.t = 10_200;
    part(S2, 0);
    part(S2, 1);
    now.t = 11_100; // the bin [10 000, 11 000) closes
    part(S2, 2);
    part(S2, 3);
    now.t = 13_000; // [11 000, 12 000) and the empty [12 000, 13 000) close
    assert.equal(swarm.closeBins(), 2);
    const bins = swarm.bins();
    assert.deepEqual(bins.map((b) => [b.t, b.parts, b.bytes]), [[10_000, 2, 2000], [11_000, 2, 2000], [12_000, 0, 0]]);
    assert.deepEqual(bins[0]!.files, { [MD5]: 2000 });
    assert.equal(bins[0]!.full[MD5], 1, 'the seed');
    assert.equal(bins[1]!.full[MD5], 2, 'S2 completed in that second');
    assert.deepEqual(swarm.bins(11_000).map((b) => b.t), [11_000, 12_000]);
  });

  test('starts from what the tracker already holds', () => {
    const view = new FakeView();
    view.login(S1, '10.0.0.1', 1);
    view.login(S2, '10.0.0.2', 2);
    view.add(S1, MD5, 'f', 4000, 1000);
    view.part(S2, MD5, 3);
    const swarm = new Swarm(view);
    const f = swarm.files.get(MD5)!;
    assert.deepEqual([...f.counts], [1, 1, 1, 2]);
    assert.equal(f.fullHolders, 1);
  });
});

describe('holder summaries', () => {
  const fileOf = (parts: number, bitmaps: boolean[][]): SwarmFile => {
    const owners = new Map<string, Owner>();
    const counts = new Uint32Array(parts);
    bitmaps.forEach((bits, i) => {
      const bm = new Uint8Array(Math.ceil(parts / 8));
      bits.forEach((b, p) => { if (b) { bm[p >> 3]! |= 0x80 >> (p & 7); counts[p]!++; } });
      owners.set(`S${i}`, { bm, held: bits.filter(Boolean).length, snap: 0 });
    });
    return { md5: MD5, fileName: 'f', fileLength: parts, partLength: 1, parts, counts, credit: new Float64Array(parts), owners, fullHolders: 0, version: 0, tracked: true };
  };

  test('cells are the share of each group\'s bits over the parts they cover, byte-summed or not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }).chain((parts) =>
          fc.tuple(fc.constant(parts), fc.array(fc.array(fc.boolean(), { minLength: parts, maxLength: parts }), { minLength: 1, maxLength: 9 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 })),
        ),
        ([parts, bitmaps, cols, groups]) => {
          const file = fileOf(parts, bitmaps);
          const s = summarise(file, (sid) => sid, groups, cols);
          assert.equal(s.holders, bitmaps.length);
          assert.ok(s.groups.length <= groups);
          assert.equal(s.groups.flatMap((g) => g.peers).length, bitmaps.length);
          const owners = [...file.owners].sort((a, b) => b[1].held - a[1].held || (a[0] < b[0] ? -1 : 1));
          let at = 0;
          for (const g of s.groups) {
            const members = owners.slice(at, at + g.peers.length);
            at += g.peers.length;
            assert.deepEqual(g.peers, members.map((m) => m[0]));
            const cells = [...Buffer.from(g.cells, 'base64')];
            assert.equal(cells.length, s.cols);
            for (let x = 0; x < s.cols; x++) {
              const p0 = Math.floor((x * parts) / s.cols);
              const p1 = Math.max(p0 + 1, Math.floor(((x + 1) * parts) / s.cols));
              let n = 0;
              for (const [, m] of members) for (let p = p0; p < p1; p++) if (hasPart(m.bm, p)) n++;
              assert.equal(cells[x], Math.round((255 * n) / ((p1 - p0) * members.length)));
            }
          }
          const counts = [...Buffer.from(s.counts, 'base64')];
          assert.equal(s.countBytes, 1);
          assert.deepEqual(counts, [...file.counts]);
        },
      ),
      { numRuns: 200, seed: 13 },
    );
  });
});
