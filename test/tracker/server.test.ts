/** The tracker over real sockets, in IPv4 and IPv6: every message and every rule. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/errors.js';
import { type MessageOf, bitmapFromParts, fullBitmap } from '../../src/protocol/index.js';
import { type RunningTracker, type TrackerEvent, type RequestRecord, startTracker } from '../../src/tracker/index.js';
import { exchange } from '../support/net.js';
import {
  HOSTS,
  addr,
  callFor,
  expectClosed,
  fchu,
  logi,
  login,
  logo,
  look,
  md5Of,
  memoryLogger,
  peer,
  pipeline,
  pipelineAll,
  rpad,
  until,
} from './helpers.js';

for (const host of HOSTS) {
  describe(`tracker over ${host}`, () => {
    let tracker: RunningTracker;
    const { logger, lines } = memoryLogger();
    const events: TrackerEvent[] = [];
    const records: RequestRecord[] = [];
    let port: number;
    let n = 0;
    /** A fresh peer address for each use, so tests do not see each other's sessions. */
    const fresh = () => peer(++n);

    before(async () => {
      tracker = await startTracker({ host, port: 0, logger, observers: [{ event: (e) => events.push(e), request: (r) => records.push(r) }] });
      port = tracker.port;
    });
    after(() => tracker.close());

    test('LOGI gives a 16-hex session id, the same one again for the same address and port', async () => {
      const a = fresh();
      const id = await login(host, port, a, 5000);
      assert.match(id, /^[0-9A-F]{16}$/);
      assert.notEqual(id, '0000000000000000');
      assert.equal(await login(host, port, a, 5000), id);
      // Other port, other IPv6 with the same IPv4: other sessions.
      const other = await login(host, port, a, 5001);
      assert.notEqual(other, id);
      const other6 = await login(host, port, { ip4: a.ip4, ip6: 'fd98::1' }, 5000);
      assert.notEqual(other6, id);
      assert.ok(events.some((e) => e.type === 'login' && e.sessionId === id));
      assert.equal(tracker.view.peers().filter((p) => p.sessionId === id).length, 1);
    });

    test('a malformed LOGI gets ALGI0000000000000000', async () => {
      const good = logi(fresh()).toString('latin1');
      // A bad octet inside a 64-byte LOGI.
      const badOctet = Buffer.from(good.replace(/^LOGI127/, 'LOGI999'), 'latin1');
      assert.equal(badOctet.length, 64);
      for (const bad of [badOctet, Buffer.from(good.slice(0, 59) + 'ABCDE', 'latin1'), Buffer.from('LOGI' + 'x'.repeat(60), 'latin1')]) {
        const result = await exchange(host, port, bad, { timeoutMs: 5000 });
        assert.equal(result.raw.toString('latin1'), 'ALGI0000000000000000');
      }
      assert.ok(lines.some((l) => l['command'] === 'LOGI' && l['code'] === ErrorCode.BAD_ADDRESS && typeof l['remote'] === 'string'));
      // A LOGI cut short by the client's half-close.
      const { connect } = await import('node:net');
      const cut = await new Promise<string>((resolve, reject) => {
        const s = connect({ host, port }, () => s.end(good.slice(0, 30)));
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
      assert.equal(cut, 'ALGI0000000000000000');
    });

    test('ADDR registers the sender as owner of every part; a second ADDR of the md5 joins it', async () => {
      const a = await login(host, port, fresh());
      const b = await login(host, port, fresh());
      const md5 = md5Of(0xadd0 + n);
      const first = await callFor('AADR', host, port, addr(a, md5, 1_000_001, 100_000, 'First Name.iso'));
      assert.equal(first.parts, 11);
      // Same md5 from another peer: stored #part back, name updated, a full owner too.
      const second = await callFor('AADR', host, port, addr(b, md5, 1_000_001, 100_000, 'Renamed.iso'));
      assert.equal(second.parts, 11);
      const found = await callFor('ALOO', host, port, look(a, 'renamed'));
      assert.deepEqual(found.files.map((f) => [f.md5, f.fileName, f.fileLength, f.partLength]), [[md5, 'Renamed.iso', 1_000_001, 100_000]]);
      const holders = await callFor('AFCH', host, port, fchu(a, md5), { parts: 11 });
      assert.equal(holders.peers.length, 2);
      for (const p of holders.peers) assert.deepEqual(p.bitmap, fullBitmap(11));
      // An exact multiple of LenPart, and an empty file.
      assert.equal((await callFor('AADR', host, port, addr(a, md5Of(0xadd1 + n * 16), 300, 100, 'three'))).parts, 3);
      assert.equal((await callFor('AADR', host, port, addr(a, md5Of(0xadd2 + n * 16), 0, 100, 'empty'))).parts, 0);
    });

    test('an ADDR contradicting the stored LenFile/LenPart, or from an unknown session, is refused', async () => {
      const a = await login(host, port, fresh());
      const md5 = md5Of(0xbad0 + n);
      await callFor('AADR', host, port, addr(a, md5, 1000, 100, 'x'));
      await expectClosed(host, port, addr(a, md5, 1001, 100, 'x'));
      await expectClosed(host, port, addr(a, md5, 1000, 101, 'x'));
      await expectClosed(host, port, addr('FFFFFFFFFFFFFFFF', md5Of(0xbad1 + n), 1000, 100, 'x'));
      assert.ok(lines.some((l) => l['code'] === ErrorCode.FILE_MISMATCH && l['command'] === 'ADDR'));
      assert.ok(lines.some((l) => l['code'] === ErrorCode.UNKNOWN_SESSION && l['command'] === 'ADDR'));
      // The refused ones changed nothing.
      assert.equal(tracker.view.files().find((f) => f.md5 === md5)?.fileLength, 1000);
      assert.ok(records.some((r) => r.command === 'ADDR' && r.outcome === 'refused'));
    });

    test('LOOK: * lists every file, otherwise a literal case-insensitive substring', async () => {
      const a = await login(host, port, fresh());
      const tag = `q${n}`;
      const names = [`${tag} Alpha.TXT`, `${tag} beta_1.txt`, `${tag} 100% gamma`, `${tag}betaX1`];
      for (const [i, name] of names.entries()) await callFor('AADR', host, port, addr(a, md5Of(0x100000 * n + i), 10, 10, name));
      const q = async (s: string) => (await callFor('ALOO', host, port, look(a, s))).files.map((f) => f.fileName).sort();
      assert.deepEqual(await q(`${tag} alpha`), [`${tag} Alpha.TXT`]);
      assert.deepEqual(await q('ALPHA.txt'), [`${tag} Alpha.TXT`]);
      assert.deepEqual(await q(`${tag} beta_`), [`${tag} beta_1.txt`]);
      assert.deepEqual(await q('0%'), [`${tag} 100% gamma`]);
      assert.deepEqual(await q(`${tag}%`), []);
      assert.deepEqual(await q('no such name at all'), []);
      const all = await callFor('ALOO', host, port, look(a, '*'));
      assert.equal(all.files.length, tracker.view.files().length);
      assert.ok(names.every((name) => all.files.some((f) => f.fileName === name)));
      await expectClosed(host, port, look('0123456789ABCDEF', 'x'));
    });

    test('FCHU lists every peer holding at least one part, with its bitmap; unknown md5 gives AFCH000', async () => {
      const a = await login(host, port, fresh());
      const b = await login(host, port, fresh());
      const c = await login(host, port, fresh());
      const md5 = md5Of(0xfc00 + n);
      await callFor('AADR', host, port, addr(a, md5, 1000, 100, 'ten parts'));
      await callFor('APAD', host, port, rpad(b, md5, 3));
      await callFor('APAD', host, port, rpad(b, md5, 9));
      const reply = await callFor('AFCH', host, port, fchu(c, md5), { parts: 10 });
      assert.equal(reply.peers.length, 2);
      const byPort = new Map(reply.peers.map((p) => [`${p.address.ip4}`, p]));
      const aView = tracker.view.peers().find((p) => p.sessionId === a)!;
      const bView = tracker.view.peers().find((p) => p.sessionId === b)!;
      assert.deepEqual(byPort.get(aView.address.ip4)?.bitmap, fullBitmap(10));
      assert.deepEqual(byPort.get(bView.address.ip4)?.bitmap, bitmapFromParts(10, [3, 9]));
      assert.deepEqual(tracker.view.holders(md5).map((h) => h.sessionId).sort(), [a, b].sort());
      const unknown = await exchange(host, port, fchu(c, md5Of(0xfeedfeed)), { accept: ['AFCH'], context: { parts: 0 } });
      assert.equal(unknown.raw.toString('latin1'), 'AFCH000');
      await expectClosed(host, port, fchu('AAAAAAAAAAAAAAAA', md5));
    });

    test('RPAD is validated, idempotent, and APAD counts the parts held', async () => {
      const a = await login(host, port, fresh());
      const b = await login(host, port, fresh());
      const md5 = md5Of(0x9ad0 + n);
      await callFor('AADR', host, port, addr(a, md5, 20, 4, 'five'));
      assert.equal((await callFor('APAD', host, port, rpad(b, md5, 0))).partsHeld, 1);
      assert.equal((await callFor('APAD', host, port, rpad(b, md5, 4))).partsHeld, 2);
      assert.equal((await callFor('APAD', host, port, rpad(b, md5, 4))).partsHeld, 2);
      // The adder already holds everything.
      assert.equal((await callFor('APAD', host, port, rpad(a, md5, 2))).partsHeld, 5);
      await expectClosed(host, port, rpad(b, md5, 5));
      await expectClosed(host, port, rpad(b, md5Of(0x9ad9 + n * 16), 0));
      await expectClosed(host, port, rpad('1234567890ABCDEF', md5, 1));
      for (const code of [ErrorCode.PART_OUT_OF_RANGE, ErrorCode.UNKNOWN_FILE, ErrorCode.UNKNOWN_SESSION]) {
        assert.ok(lines.some((l) => l['command'] === 'RPAD' && l['code'] === code), code);
      }
      assert.ok(events.some((e) => e.type === 'part' && e.sessionId === b && e.part === 4 && e.partsHeld === 2));
    });

    test('LOGO: NLOG while it holds a part nobody else has, ALOG once others hold them; then the session is gone', async () => {
      const a = await login(host, port, fresh());
      const b = await login(host, port, fresh());
      const md5 = md5Of(0x1090 + n);
      await callFor('AADR', host, port, addr(a, md5, 3, 1, 'three'));
      const other = md5Of(0x1091 + n * 16);
      await callFor('AADR', host, port, addr(b, other, 2, 1, 'two'));
      assert.equal((await callFor('NLOG', host, port, logo(a))).partsDown, 0);
      await callFor('APAD', host, port, rpad(b, md5, 0));
      await callFor('APAD', host, port, rpad(b, md5, 2));
      await callFor('APAD', host, port, rpad(b, md5, 2));
      assert.equal((await callFor('NLOG', host, port, logo(a))).partsDown, 2);
      // a also downloads part 0 of b's file: held parts count, but it is not a file a added.
      await callFor('APAD', host, port, rpad(a, other, 0));
      await callFor('APAD', host, port, rpad(b, md5, 1));
      assert.equal((await callFor('ALOG', host, port, logo(a))).partsOwned, 4);
      assert.ok(!tracker.view.peers().some((p) => p.sessionId === a));
      await expectClosed(host, port, fchu(a, md5));
      await expectClosed(host, port, logo(a));
      const holders = await callFor('AFCH', host, port, fchu(b, md5), { parts: 3 });
      assert.equal(holders.peers.length, 1);
      // b added `other` and is its only holder (a's copy left with a).
      assert.equal((await callFor('NLOG', host, port, logo(b))).partsDown, 0);
      assert.ok(events.some((e) => e.type === 'logout' && e.sessionId === a && e.partsOwned === 4));
      assert.ok(events.some((e) => e.type === 'logout-refused' && e.sessionId === b));
    });

    test('a peer that added nothing logs out at once, and a new LOGI from it gets a new session', async () => {
      const address = fresh();
      const a = await login(host, port, address);
      assert.equal((await callFor('ALOG', host, port, logo(a))).partsOwned, 0);
      const again = await login(host, port, address);
      assert.notEqual(again, a);
    });

    test('several requests in a row on one connection, answered in order', async () => {
      const a = await login(host, port, fresh());
      const md5 = md5Of(0x717e + n);
      const bytes = Buffer.concat([
        addr(a, md5, 50, 10, 'pipelined'),
        rpad(a, md5, 1),
        fchu(a, md5),
        look(a, 'pipelined'),
        logi(fresh()),
        fchu(a, md5Of(0x717f + n * 16)),
      ]);
      const replies = await pipeline(host, port, bytes, 6, (i) => ({ parts: i === 2 ? 5 : 0 }));
      assert.deepEqual(replies.map((r) => r.command), ['AADR', 'APAD', 'AFCH', 'ALOO', 'ALGI', 'AFCH']);
      assert.equal((replies[1] as MessageOf<'APAD'>).partsHeld, 5);
      assert.equal((replies[2] as MessageOf<'AFCH'>).peers.length, 1);
      assert.equal((replies[5] as MessageOf<'AFCH'>).peers.length, 0);
    });

    test('a request split byte by byte', async () => {
      const request = logi(fresh(), 6000);
      const bytes = [...request].map((b) => Buffer.from([b]));
      const reply = await callFor('ALGI', host, port, bytes);
      assert.match(reply.sessionId, /^[0-9A-F]{16}$/);
      const md5 = md5Of(0x5b1 + n);
      await callFor('AADR', host, port, [...addr(reply.sessionId, md5, 9, 3, 'split')].map((b) => Buffer.from([b])));
      const holders = await callFor('AFCH', host, port, [...fchu(reply.sessionId, md5)].map((b) => Buffer.from([b])), { parts: 3 });
      assert.equal(holders.peers.length, 1);
    });

    test('bad input next to good traffic: every good request is answered', async () => {
      const a = await login(host, port, fresh());
      const b = await login(host, port, fresh());
      const md5 = md5Of(0x900d + n);
      await callFor('AADR', host, port, addr(a, md5, 64, 1, 'sixty-four'));
      const good = Array.from({ length: 40 }, (_, i) => callFor('APAD', host, port, rpad(b, md5, i)));
      const bad = [
        expectClosed(host, port, Buffer.from('GARBAGE GARBAGE GARBAGE', 'latin1')),
        expectClosed(host, port, rpad(b, md5, 64)),
        expectClosed(host, port, Buffer.from('RPAD' + 'Z'.repeat(56), 'latin1')),
        expectClosed(host, port, rpad(b, md5Of(0x900e + n * 16), 1)),
        expectClosed(host, port, Buffer.from('ALGI0000000000000000', 'latin1')),
        expectClosed(host, port, Buffer.from([0, 1, 2, 3, 255, 254])),
      ];
      const [replies] = await Promise.all([Promise.all(good), Promise.all(bad)]);
      assert.equal(replies.length, 40);
      assert.equal(Math.max(...replies.map((r) => r.partsHeld)), 40);
      const holders = await callFor('AFCH', host, port, fchu(a, md5), { parts: 64 });
      const bBitmap = holders.peers.find((p) => !p.bitmap.equals(fullBitmap(64)))?.bitmap;
      assert.deepEqual(bBitmap, bitmapFromParts(64, Array.from({ length: 40 }, (_, i) => i)));
      assert.ok(lines.some((l) => l['code'] === ErrorCode.UNKNOWN_COMMAND && typeof l['remote'] === 'string'));
      assert.ok(lines.some((l) => l['code'] === ErrorCode.UNEXPECTED_COMMAND));
      assert.ok(records.some((r) => r.outcome === 'malformed'));
    });

    test('good requests and then a bad one on one connection: the good ones are answered, then the close', async () => {
      const a = await login(host, port, fresh());
      const md5 = md5Of(0x6b00 + n);
      await callFor('AADR', host, port, addr(a, md5, 30, 10, 'good then bad'));
      // Separate writes, and all in one write.
      const apart = await exchange(host, port, [look(a, 'zzzz-nothing'), Buffer.from('NOPE')], { timeoutMs: 5000 });
      assert.equal(apart.raw.toString('latin1'), 'ALOO000');
      assert.equal(apart.closedByServer, true);
      const together = await exchange(host, port, Buffer.concat([rpad(a, md5, 1), look(a, 'zzzz-nothing'), Buffer.from('XPAD-garbage')]), { timeoutMs: 5000 });
      assert.equal(together.raw.toString('latin1'), 'APAD00000003ALOO000');
      assert.equal(together.closedByServer, true);
      // A refused request after a good one: the good reply arrives, then the close.
      const refusedAfter = await exchange(host, port, Buffer.concat([rpad(a, md5, 2), rpad(a, md5, 3), look(a, 'never')]), { timeoutMs: 5000 });
      assert.equal(refusedAfter.raw.toString('latin1'), 'APAD00000003');
      assert.equal(refusedAfter.closedByServer, true);
    });
  });
}

describe('more than 999 files or peers', () => {
  let tracker: RunningTracker;
  const host = '127.0.0.1';
  before(async () => {
    tracker = await startTracker({ host, port: 0 });
  });
  after(() => tracker.close());

  test('ALOO and AFCH carry at most 999 entries', async () => {
    const a = await login(host, tracker.port, peer(1));
    const adds = Array.from({ length: 1001 }, (_, i) => addr(a, md5Of(i), 8, 1, `file ${i}`));
    const added = await pipelineAll(host, tracker.port, adds);
    assert.ok(added.every((r) => r.command === 'AADR'));
    assert.equal(tracker.view.files().length, 1001);
    const all = await callFor('ALOO', host, tracker.port, look(a, '*'));
    assert.equal(all.files.length, 999);
    assert.equal((await callFor('ALOO', host, tracker.port, look(a, 'file'))).files.length, 999);

    const logins = Array.from({ length: 1000 }, (_, i) => logi(peer(i + 2), 7000));
    const ids = (await pipelineAll(host, tracker.port, logins)).map((r) => (r as MessageOf<'ALGI'>).sessionId);
    assert.equal(new Set(ids).size, 1000);
    await pipelineAll(host, tracker.port, ids.map((id) => rpad(id, md5Of(0), 3)));
    const holders = await callFor('AFCH', host, tracker.port, fchu(a, md5Of(0)), { parts: 8 });
    assert.equal(holders.peers.length, 999);
    assert.equal(tracker.view.holders(md5Of(0)).length, 1001);
  });
});

describe('caps: connections, buffered bytes, idle time', () => {
  const host = '127.0.0.1';

  test('at the cap the connection waiting longest is closed for a newcomer, not the newcomer; logged', async () => {
    const { logger, lines } = memoryLogger();
    const open: number[] = [];
    const tracker = await startTracker({ host, port: 0, logger, maxConnections: 2, observers: [{ connections: (c) => open.push(c) }] });
    try {
      const { connect } = await import('node:net');
      const held = [connect({ host, port: tracker.port, localAddress: '127.0.0.2' })];
      await until(() => tracker.openConnections() === 1, 'one open connection');
      held.push(connect({ host, port: tracker.port, localAddress: '127.0.0.3' }));
      await until(() => tracker.openConnections() === 2, 'two open connections');
      const closed = held.map((s) => new Promise<boolean>((resolve) => s.on('close', () => resolve(true))));
      for (const s of held) s.on('error', () => {});
      // The newcomer is served; the oldest idle connection made room for it.
      await callFor('ALGI', host, tracker.port, logi(peer(1)));
      assert.equal(await closed[0], true);
      await until(() => lines.some((l) => l['code'] === ErrorCode.LIMIT_EXCEEDED && ((l['dropped'] as Record<string, number> | undefined)?.['full'] ?? 0) >= 1), 'the summary line');
      // The other held connection still works (and is closed after its reply).
      const reply = await new Promise<Buffer>((resolve) => {
        held[1]!.once('data', resolve);
        held[1]!.write(logi(peer(2)));
      });
      assert.match(reply.toString('latin1'), /^ALGI[0-9A-F]{16}$/);
      assert.equal(await closed[1], true);
      await until(() => tracker.openConnections() === 0, 'connections to close');
      assert.equal(Math.max(...open), 2);
    } finally {
      await tracker.close();
    }
  });

  test('a connection buffering more than the cap is closed', async () => {
    const { logger, lines } = memoryLogger();
    const tracker = await startTracker({ host, port: 0, logger, maxBuffered: 32 });
    try {
      const a = await login(host, tracker.port, peer(1));
      const full = addr(a, md5Of(1), 100, 10, 'x');
      // ADDR + id + lengths, then 60 of the 100 bytes of Filename: 60 bytes wait for one field.
      await expectClosed(host, tracker.port, full.subarray(0, 4 + 16 + 10 + 6 + 60));
      assert.ok(lines.some((l) => l['code'] === ErrorCode.BUFFER_LIMIT));
      await callFor('AADR', host, tracker.port, addr(a, md5Of(1), 100, 10, 'short'));
    } finally {
      await tracker.close();
    }
  });

  test('an idle connection is closed', async () => {
    const { logger, lines } = memoryLogger();
    const tracker = await startTracker({ host, port: 0, logger, idleTimeoutMs: 100 });
    try {
      await expectClosed(host, tracker.port, Buffer.alloc(0));
      // Half a request, then silence.
      await expectClosed(host, tracker.port, logi(peer(1)).subarray(0, 30));
      await until(() => lines.some((l) => l['code'] === ErrorCode.TIMEOUT && (l['dropped'] as Record<string, number> | undefined)?.['idle'] !== undefined), 'the idle summary');
    } finally {
      await tracker.close();
    }
  });
});

describe('observers', () => {
  test('events, request records with outcomes, and the open connection count', async () => {
    const host = '127.0.0.1';
    const early: TrackerEvent[] = [];
    const late: RequestRecord[] = [];
    const open: number[] = [];
    const tracker = await startTracker({ host, port: 0, observers: [{ event: (e) => early.push(e) }, { event: () => { throw new Error('observer bug'); } }] });
    try {
      const remove = tracker.addObserver({ request: (r) => late.push(r), connections: (c) => open.push(c) });
      const a = await login(host, tracker.port, peer(1));
      const md5 = md5Of(0x0b5);
      await callFor('AADR', host, tracker.port, addr(a, md5, 10, 5, 'observed'));
      await callFor('ALOO', host, tracker.port, look(a, '*'));
      await callFor('AFCH', host, tracker.port, fchu(a, md5), { parts: 2 });
      await callFor('APAD', host, tracker.port, rpad(a, md5, 1));
      await callFor('NLOG', host, tracker.port, logo(a));
      await expectClosed(host, tracker.port, rpad(a, md5, 2));
      await expectClosed(host, tracker.port, Buffer.from('HELLO WORLD'));
      await until(() => open.at(-1) === 0, 'the last connection to close');
      assert.deepEqual(early.map((e) => e.type), ['login', 'add', 'logout-refused']);
      assert.deepEqual(
        late.map((r) => `${r.command}:${r.outcome}`),
        ['LOGI:ok', 'ADDR:ok', 'LOOK:ok', 'FCHU:ok', 'RPAD:ok', 'LOGO:ok', 'RPAD:refused', 'unknown:malformed'],
      );
      assert.ok(late.every((r) => r.seconds >= 0 && r.seconds < 60));
      assert.ok(open.every((c) => c >= 0 && c <= 8));
      remove();
      await callFor('ALGI', host, tracker.port, logi(peer(2)));
      assert.equal(late.length, 8);
    } finally {
      await tracker.close();
    }
  });
});

describe('dual stack', () => {
  test('with no host, one tracker answers on 127.0.0.1 and on ::1', async () => {
    const tracker = await startTracker({ port: 0 });
    try {
      assert.equal(tracker.host, '::');
      const id4 = await login('127.0.0.1', tracker.port, peer(1));
      const id6 = await login('::1', tracker.port, peer(1));
      assert.equal(id4, id6);
    } finally {
      await tracker.close();
    }
  });
});
