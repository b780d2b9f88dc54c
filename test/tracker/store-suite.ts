/**
 * One suite every Store must pass. `open()` returns a store over the same
 * backing data each time (a reopened file, or the same MemoryData), so the
 * suite also checks that what was committed is there after a "restart".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/tracker/store.js';
import { Registry } from '../../src/tracker/registry.js';

export interface StoreFactory {
  /** A fresh, empty backing place; returns a function opening a store on it. */
  fresh(): () => Store;
}

const file = (md5: string, fileName = 'name', parts = 10) => ({ md5, fileName, fileLength: parts * 100, partLength: 100, parts });
const md5 = (c: string) => c.repeat(32);

/** What a store reopened on the same backing place loads; the reopened store is closed again. */
function reopened(open: () => Store): ReturnType<Store['load']> {
  const store = open();
  try {
    return store.load();
  } finally {
    store.close();
  }
}

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`Store suite: ${name}`, () => {
    test('a new store is empty', () => {
      const store = factory.fresh()();
      assert.deepEqual(store.load(), { sessions: [], files: [], ownership: [], adders: [] });
      store.close();
    });

    test('sessions, files, ownership and adders survive a reopen, in insertion order', () => {
      const open = factory.fresh();
      const s = open();
      s.saveSession({ id: 'BBBBBBBBBBBBBBBB', ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002', port: 5001, since: 2000, lastSeen: 2500 });
      s.saveSession({ id: 'AAAAAAAAAAAAAAAA', ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001', port: 5000, since: 1000, lastSeen: 1000 });
      s.saveAdd(file(md5('f'), 'zeta', 10), 'BBBBBBBBBBBBBBBB', Buffer.from([0xff, 0xc0]));
      s.saveAdd(file(md5('a'), 'alpha', 3), 'AAAAAAAAAAAAAAAA', Buffer.from([0xe0]));
      s.savePart('AAAAAAAAAAAAAAAA', md5('f'), Buffer.from([0x00, 0x40]));
      s.close();
      const state = reopened(open);
      assert.deepEqual(state.sessions.map((x) => x.id), ['BBBBBBBBBBBBBBBB', 'AAAAAAAAAAAAAAAA']);
      assert.deepEqual(state.sessions[0], { id: 'BBBBBBBBBBBBBBBB', ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002', port: 5001, since: 2000, lastSeen: 2500 });
      assert.deepEqual(state.sessions[1], { id: 'AAAAAAAAAAAAAAAA', ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001', port: 5000, since: 1000, lastSeen: 1000 });
      assert.deepEqual(state.files, [file(md5('f'), 'zeta', 10), file(md5('a'), 'alpha', 3)]);
      assert.deepEqual(
        state.ownership.map((o) => [o.sessionId, o.md5, o.bitmap.toString('hex')]),
        [
          ['BBBBBBBBBBBBBBBB', md5('f'), 'ffc0'],
          ['AAAAAAAAAAAAAAAA', md5('a'), 'e0'],
          ['AAAAAAAAAAAAAAAA', md5('f'), '0040'],
        ],
      );
      assert.deepEqual(
        state.adders.map((a) => `${a.sessionId} ${a.md5}`).sort(),
        [`AAAAAAAAAAAAAAAA ${md5('a')}`, `BBBBBBBBBBBBBBBB ${md5('f')}`],
      );
    });

    test('savePart replaces a bitmap; saveAdd of a known md5 updates only the name', () => {
      const open = factory.fresh();
      const s = open();
      s.saveSession({ id: 'AAAAAAAAAAAAAAAA', ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001', port: 5000, since: 1, lastSeen: 1 });
      s.saveSession({ id: 'CCCCCCCCCCCCCCCC', ip4: '10.0.0.3', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0003', port: 5000, since: 1, lastSeen: 1 });
      s.saveAdd(file(md5('b'), 'old'), 'AAAAAAAAAAAAAAAA', Buffer.from([0xff, 0xc0]));
      s.savePart('CCCCCCCCCCCCCCCC', md5('b'), Buffer.from([0x80, 0x00]));
      s.savePart('CCCCCCCCCCCCCCCC', md5('b'), Buffer.from([0x80, 0x40]));
      s.saveAdd({ ...file(md5('b'), 'new'), fileLength: 1 }, 'CCCCCCCCCCCCCCCC', Buffer.from([0xff, 0xc0]));
      s.close();
      const state = reopened(open);
      assert.deepEqual(state.files, [file(md5('b'), 'new')]);
      assert.equal(state.ownership.find((o) => o.sessionId === 'CCCCCCCCCCCCCCCC')?.bitmap.toString('hex'), 'ffc0');
      assert.equal(state.ownership.length, 2);
      assert.equal(state.adders.length, 2);
    });

    test('a bitmap given to the store is copied, not kept', () => {
      const s = factory.fresh()();
      s.saveSession({ id: 'AAAAAAAAAAAAAAAA', ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001', port: 5000, since: 1, lastSeen: 1 });
      const bm = Buffer.from([0x80]);
      s.saveAdd(file(md5('c'), 'c', 1), 'AAAAAAAAAAAAAAAA', bm);
      bm[0] = 0;
      assert.equal(s.load().ownership[0]?.bitmap[0], 0x80);
      s.close();
    });

    test('removeSession drops the session, its ownership and adder records, and keeps files and others', () => {
      const open = factory.fresh();
      const s = open();
      for (const id of ['AAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBB']) {
        s.saveSession({ id, ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001', port: id === 'AAAAAAAAAAAAAAAA' ? 1 : 2, since: 1, lastSeen: 1 });
      }
      s.saveAdd(file(md5('d')), 'AAAAAAAAAAAAAAAA', Buffer.from([0xff, 0xc0]));
      s.saveAdd(file(md5('e')), 'BBBBBBBBBBBBBBBB', Buffer.from([0xff, 0xc0]));
      s.savePart('BBBBBBBBBBBBBBBB', md5('d'), Buffer.from([0x01, 0x00]));
      s.removeSession('AAAAAAAAAAAAAAAA');
      s.removeSession('NOT-A-SESSION---');
      s.close();
      const state = reopened(open);
      assert.deepEqual(state.sessions.map((x) => x.id), ['BBBBBBBBBBBBBBBB']);
      assert.equal(state.files.length, 2);
      assert.ok(state.ownership.every((o) => o.sessionId === 'BBBBBBBBBBBBBBBB'));
      assert.equal(state.ownership.length, 2);
      assert.deepEqual(state.adders, [{ sessionId: 'BBBBBBBBBBBBBBBB', md5: md5('e') }]);
    });

    test('saveSeen updates last-seen times in place, ignores unknown sessions, and survives a reopen', () => {
      const open = factory.fresh();
      const s = open();
      const ip6 = 'fd99:0000:0000:0000:0000:0000:0000:0001';
      s.saveSession({ id: 'AAAAAAAAAAAAAAAA', ip4: '10.0.0.1', ip6, port: 1, since: 10, lastSeen: 10 });
      s.saveSession({ id: 'BBBBBBBBBBBBBBBB', ip4: '10.0.0.1', ip6, port: 2, since: 20, lastSeen: 20 });
      s.saveSession({ id: 'CCCCCCCCCCCCCCCC', ip4: '10.0.0.1', ip6, port: 3, since: 30, lastSeen: 30 });
      s.saveSeen([
        { sessionId: 'AAAAAAAAAAAAAAAA', lastSeen: 1_795_478_400_123 },
        { sessionId: 'NOT-A-SESSION---', lastSeen: 99 },
        { sessionId: 'CCCCCCCCCCCCCCCC', lastSeen: 35 },
      ]);
      s.saveSeen([]);
      s.close();
      const state = open().load();
      assert.deepEqual(
        state.sessions.map((x) => [x.id, x.since, x.lastSeen]),
        [
          ['AAAAAAAAAAAAAAAA', 10, 1_795_478_400_123],
          ['BBBBBBBBBBBBBBBB', 20, 20],
          ['CCCCCCCCCCCCCCCC', 30, 35],
        ],
      );
    });

    test('a Registry writes last-seen times only on flushSeen, in one batch, and a restarted one keeps them', () => {
      const open = factory.fresh();
      let clock = 5_000;
      const s1 = open();
      const r1 = new Registry({ store: s1, now: () => clock });
      const a = r1.login({ ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001' }, 5000).sessionId;
      const b = r1.login({ ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' }, 5000).sessionId;
      clock = 6_000;
      r1.look(a, '*');
      clock = 7_000;
      assert.equal(r1.login({ ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' }, 5000).sessionId, b, 'LOGI is idempotent');
      assert.deepEqual(s1.load().sessions.map((x) => x.lastSeen), [5_000, 5_000], 'nothing written per request');
      assert.equal(r1.flushSeen(), 2);
      assert.equal(r1.flushSeen(), 0, 'nothing changed since');
      s1.close();
      const s2 = open();
      const r2 = new Registry({ store: s2, now: () => clock });
      assert.deepEqual(r2.peers().map((p) => [p.sessionId, p.since, p.lastSeen]), [[a, 5_000, 6_000], [b, 5_000, 7_000]]);
      s2.close();
    });

    test('a Registry on a reopened store serves the same sessions, files and bitmaps', () => {
      const open = factory.fresh();
      let clock = 1000;
      let next = 0;
      const ids = () => (++next).toString(16).toUpperCase().padStart(16, '0');
      const s1 = open();
      const r1 = new Registry({ store: s1, now: () => clock++, newId: ids });
      const a = r1.login({ ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001' }, 5000).sessionId;
      const b = r1.login({ ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' }, 5000).sessionId;
      r1.add(a, 1000, 100, 'ten', md5('1'));
      r1.reportPart(b, md5('1'), 3);
      r1.reportPart(b, md5('1'), 7);
      const c = r1.login({ ip4: '10.0.0.3', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0003' }, 5000).sessionId;
      r1.add(c, 10, 10, 'one', md5('2'));
      r1.reportPart(c, md5('1'), 0);
      assert.equal(r1.logout(c).accepted, false);
      r1.reportPart(b, md5('2'), 0);
      assert.equal(r1.logout(c).accepted, true);
      // The tracker flushes last-seen times on close (and on a timer while it runs).
      assert.ok(r1.flushSeen() > 0);
      const before = { files: r1.files(), peers: r1.peers(), holders: r1.holders(md5('1')) };
      s1.close();
      const s2 = open();
      const r2 = new Registry({ store: s2, now: () => clock++, newId: ids });
      assert.deepEqual({ files: r2.files(), peers: r2.peers(), holders: r2.holders(md5('1')) }, before);
      assert.equal(r2.login({ ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001' }, 5000).sessionId, a);
      assert.equal(r2.reportPart(b, md5('1'), 7).partsHeld, 2);
      assert.deepEqual(r2.logout(a), { accepted: false, partsDown: 2 });
      s2.close();
    });
  });
}
