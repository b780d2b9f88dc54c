import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Script } from 'node:vm';
import { type Dashboard, startDashboard } from '../../src/dashboard/index.js';
import { Feed, Ring } from '../../src/dashboard/feed.js';
import { APP_JS, INDEX_HTML } from '../../src/dashboard/page/index.js';
import { FakeView, SseClient, get, getJson } from './helpers.js';

const MD5_A = 'a'.repeat(32);
const MD5_B = '0123456789abcdef0123456789abcdef';
const S1 = '1111111111111111';
const S2 = '2222222222222222';

/** Drives both the fake state and the observer, as the tracker would. */
function world(view: FakeView, dash: Dashboard) {
  const ev = dash.observer.event!.bind(dash.observer);
  return {
    login(sessionId: string, ip4: string, port: number) {
      view.login(sessionId, ip4, port);
      ev({ type: 'login', at: Date.now(), sessionId, address: view.peerMap.get(sessionId)!.address, port });
    },
    add(sessionId: string, md5: string, name: string, length: number, partLength: number) {
      view.add(sessionId, md5, name, length, partLength);
      const f = view.fileMap.get(md5)!;
      ev({ type: 'add', at: Date.now(), sessionId, md5, fileName: name, fileLength: length, partLength, parts: f.parts });
    },
    part(sessionId: string, md5: string, part: number) {
      const partsHeld = view.part(sessionId, md5, part);
      ev({ type: 'part', at: Date.now(), sessionId, md5, part, partsHeld });
    },
    logout(sessionId: string) {
      const partsOwned = view.peerMap.get(sessionId)?.partsHeld ?? 0;
      view.logout(sessionId);
      ev({ type: 'logout', at: Date.now(), sessionId, partsOwned });
    },
  };
}

describe('dashboard HTTP API (fake tracker view)', () => {
  const view = new FakeView();
  let dash: Dashboard;
  let w: ReturnType<typeof world>;

  before(async () => {
    dash = await startDashboard({ view, port: 0, pushIntervalMs: 100, eventCapacity: 50, maxStreamClients: 4, defaultMetrics: false });
    w = world(view, dash);
    w.login(S1, '127.0.0.1', 5001);
    w.login(S2, '127.0.0.2', 5002);
    w.add(S1, MD5_A, 'movie.mkv', 10 * 1000, 1000); // 10 parts
    w.part(S2, MD5_A, 0);
    w.part(S2, MD5_A, 9);
  });
  after(() => dash.close());

  test('listens on loopback by default and serves the page, its script and style', async () => {
    assert.equal(dash.host, '127.0.0.1');
    const page = await get(dash.port, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(page.body, INDEX_HTML);
    assert.match(page.body, /<canvas|id="files-body"/);
    const js = await get(dash.port, '/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.doesNotThrow(() => new Script(APP_JS), 'the page script parses');
    assert.equal((await get(dash.port, '/app.css')).status, 200);
    assert.equal((await get(dash.port, '/favicon.svg')).status, 200);
    const head = await get(dash.port, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('/api/files, /api/files/:md5 and /api/peers reflect the view', async () => {
    const { files } = await getJson<{ files: Record<string, unknown>[] }>(dash.port, '/api/files');
    assert.deepEqual(files, [{ md5: MD5_A, fileName: 'movie.mkv', fileLength: 10000, partLength: 1000, parts: 10, holders: 2, completeCopies: 1, fullHolders: 1 }]);
    assert.deepEqual(await getJson(dash.port, `/api/files/${MD5_A}`), files[0]);
    const { peers } = await getJson<{ peers: { peerId: string; address: { ip4: string; ip6Compact: string }; port: number; partsHeld: number; lastSeen: number }[] }>(dash.port, '/api/peers');
    assert.equal(peers.length, 2);
    const p2 = peers.find((p) => p.port === 5002)!;
    assert.equal(p2.address.ip4, '127.0.0.2');
    assert.equal(p2.address.ip6Compact, 'fd99::2');
    assert.equal(p2.partsHeld, 2);
    assert.equal(p2.lastSeen, view.peerMap.get(S2)!.lastSeen, 'each peer carries its lastSeen');
    assert.match(p2.peerId, /^[0-9a-f]{12}$/);
    const summary = await getJson(dash.port, '/api/summary');
    assert.equal(summary['peers'], 2);
    assert.equal(summary['files'], 1);
    assert.equal(summary['fileParts'], 10);
    assert.equal(summary['partsRegistered'], 12);
  });

  test('holders carry each bitmap, in base64 by default or in hex', async () => {
    const b64 = await getJson<{ parts: number; encoding: string; holders: { port: number; bitmap: string; partsHeld: number }[] }>(dash.port, `/api/files/${MD5_A}/holders`);
    assert.equal(b64.parts, 10);
    assert.equal(b64.encoding, 'base64');
    const h2 = b64.holders.find((h) => h.port === 5002)!;
    assert.deepEqual([...Buffer.from(h2.bitmap, 'base64')], [0x80, 0x40]); // parts 0 and 9
    assert.equal(h2.partsHeld, 2);
    const hex = await getJson<{ holders: { port: number; bitmap: string }[] }>(dash.port, `/api/files/${MD5_A}/holders?encoding=hex`);
    assert.equal(hex.holders.find((h) => h.port === 5001)!.bitmap, 'ffc0');
  });

  test('session IDs never leave the tracker', async () => {
    for (const path of ['/api/peers', `/api/files/${MD5_A}/holders`, '/api/events', '/api/summary']) {
      const r = await get(dash.port, path);
      assert.ok(!r.body.includes(S1) && !r.body.includes(S2), `${path} leaks a session id`);
    }
  });

  test('bad requests get 4xx and never disturb the server', async () => {
    const cases: [string, number, string?][] = [
      ['/nope', 404],
      ['/api/files/', 404],
      ['/api/files/zz', 404],
      [`/api/files/${MD5_B}`, 404],
      [`/api/files/${MD5_B}/holders`, 404],
      [`/api/files/${MD5_A}/holders?encoding=utf16`, 400],
      ['/api/events?since=-1', 400],
      ['/api/events?limit=0', 400],
      ['/api/events?limit=99999', 400],
      ['/api/events?since=1e3', 400],
      ['/../../etc/passwd', 404],
      ['/%2e%2e/%2e%2e/etc/passwd', 404],
      ['/api/%ZZ', 404],
      [`/api/${'x'.repeat(3000)}`, 414],
      ['/api/files', 405, 'POST'],
      ['/metrics', 405, 'DELETE'],
    ];
    for (const [path, status, method] of cases) {
      const r = await get(dash.port, path, { method });
      assert.equal(r.status, status, `${method ?? 'GET'} ${path.slice(0, 40)}`);
      assert.match(String(r.headers['content-type']), /application\/json/);
      assert.ok(typeof JSON.parse(r.body).error === 'string');
    }
    // Garbage on the socket: a 400, then the server still answers.
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: dash.port }, () => s.write('\x00\x01 garbage\r\n\r\n'));
      let got = '';
      s.on('data', (c) => (got += c.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.equal((await get(dash.port, '/api/files')).status, 200);
  });

  test('bound to loopback, it answers only to loopback Host names (no DNS rebinding)', async () => {
    assert.equal((await get(dash.port, '/api/files', { headers: { Host: 'evil.example:8080' } })).status, 403);
    assert.equal((await get(dash.port, '/api/files', { headers: { Host: 'localhost:8080' } })).status, 200);
    assert.equal((await get(dash.port, '/api/files', { headers: { Host: '[::1]:8080' } })).status, 200);
    assert.equal((await get(dash.port, '/api/files', { headers: { Host: '127.0.0.1' } })).status, 200);
  });

  test('a view that throws gives a 500 and the next request still works', async () => {
    view.failing = true;
    try {
      const r = await get(dash.port, '/api/files');
      assert.equal(r.status, 500);
      assert.deepEqual(JSON.parse(r.body), { error: 'internal error' });
    } finally {
      view.failing = false;
    }
    assert.equal((await get(dash.port, '/api/files')).status, 200);
  });

  test('/api/events is a bounded, labelled feed; since=N&limit=M pages forward from N', async () => {
    type Events = { seq: number; capacity: number; more: boolean; next?: number; events: { seq: number; type: string; peer?: string; fileName?: string }[] };
    const before = await getJson<Events>(dash.port, '/api/events');
    assert.equal(before.capacity, 50);
    const login = before.events.find((e) => e.type === 'login' && e.peer === '127.0.0.2:5002');
    assert.ok(login, 'login event labelled with the peer address');
    const part = before.events.find((e) => e.type === 'part');
    assert.equal(part?.fileName, 'movie.mkv');
    for (let i = 0; i < 120; i++) w.part(S2, MD5_A, i % 10);
    const all = await getJson<Events>(dash.port, '/api/events');
    assert.equal(all.seq, before.seq + 120);
    assert.equal(all.events.length, 50 + 3, 'the newest 50 part reports, and the 3 other events (their own ring)');
    assert.equal(all.events.at(-1)!.seq, all.seq);
    // since=0&limit=3: the first three after 0, not the newest three. Part reports flooding in did not push them out.
    const first = await getJson<Events>(dash.port, '/api/events?since=0&limit=3');
    assert.deepEqual(first.events.map((e) => [e.seq, e.type]), [[1, 'login'], [2, 'login'], [3, 'add']]);
    assert.equal(first.more, true);
    assert.equal(first.next, 3);
    // Following `next` walks every kept event once, in order, to the newest.
    const walked: number[] = [];
    for (let since = 0, pages = 0; ; pages++) {
      assert.ok(pages < 100);
      const page = await getJson<Events>(dash.port, `/api/events?since=${since}&limit=7`);
      assert.ok(page.events.length <= 7);
      walked.push(...page.events.map((e) => e.seq));
      if (!page.more) break;
      since = page.next!;
    }
    assert.deepEqual(walked, all.events.map((e) => e.seq));
    const since = await getJson<Events>(dash.port, `/api/events?since=${all.seq - 3}`);
    assert.deepEqual(since.events.map((e) => e.seq), [all.seq - 2, all.seq - 1, all.seq]);
    assert.equal(since.more, false);
    const empty = await getJson<Events>(dash.port, `/api/events?since=${all.seq}`);
    assert.deepEqual([empty.events, empty.next, empty.more], [[], all.seq, false]);
    // Without since: the newest `limit`, oldest first.
    const limited = await getJson<Events>(dash.port, '/api/events?limit=2');
    assert.deepEqual(limited.events.map((e) => e.seq), [all.seq - 1, all.seq]);
    assert.equal(limited.more, true);
    const logins = await getJson<Events>(dash.port, '/api/events?types=login,logout');
    assert.deepEqual(logins.events.map((e) => e.type), ['login', 'login']);
    assert.equal((await get(dash.port, '/api/events?types=login,bogus')).status, 400);
  });

  test('/api/stream sends a full state, then small deltas of what changed', async () => {
    const sse = new SseClient(dash.port);
    try {
      await sse.opened;
      assert.equal(sse.status, 200);
      const first = await sse.waitFor((m) => m.event === 'state');
      const s0 = JSON.parse(first.data) as { seq: number; files: { md5: string; fullHolders: number }[]; peers: { n: number; port: number; held: number }[]; totals: { peers: number }; bins: unknown[] };
      assert.equal(s0.totals.peers, 2);
      assert.equal(s0.peers.length, 2);
      assert.deepEqual(s0.files.map((f) => [f.md5, f.fullHolders]), [[MD5_A, 2]], 'the seed, and S2 which has reported all 10 parts by now');
      assert.equal(first.id, String(s0.seq));
      // A burst of 2000 part reports in one tick: one delta (or two) carries all of it, in a few KB.
      const countBefore = sse.messages.length;
      for (let i = 0; i < 2000; i++) w.part(S2, MD5_A, i % 10);
      const target = s0.seq + 2000;
      const last = await sse.waitFor((m) => m.event === 'delta' && Number(m.id) === target);
      const pushes = sse.messages.slice(countBefore).filter((m) => m.event === 'delta' && m.data.includes('"events":[{')).length;
      assert.ok(pushes >= 1 && pushes <= 2, `2000 events took ${pushes} pushes`);
      const d1 = JSON.parse(last.data) as { files: { md5: string }[]; events: { type: string }[]; skipped: number };
      assert.ok(last.data.length < 4096, `a delta of ${last.data.length} bytes`);
      assert.ok(d1.events.length <= 4 && d1.events.every((e) => e.type === 'part'), 'part reports are sampled');
      assert.ok(d1.skipped > 0);
      // A login: the new peer's row and the login event, not the whole table.
      w.login('3333333333333333', '127.0.0.3', 5003);
      const d2 = JSON.parse((await sse.waitFor((m) => Number(m.id) === target + 1)).data) as { totals: { peers: number }; peers: { set: { port: number; n: number }[]; gone: number[] }; events: { type: string; peer: string }[] };
      assert.equal(d2.totals.peers, 3);
      assert.deepEqual(d2.peers.set.map((p) => p.port), [5003]);
      assert.ok(!s0.peers.some((p) => p.n === d2.peers.set[0]!.n), 'a new short name');
      assert.deepEqual(d2.events.map((e) => [e.type, e.peer]), [['login', '127.0.0.3:5003']]);
    } finally {
      sse.close();
    }
  });

  test('a client resuming with Last-Event-ID gets only what it missed', async () => {
    const { seq } = await getJson<{ seq: number }>(dash.port, '/api/events');
    w.part(S2, MD5_A, 3);
    w.part(S2, MD5_A, 4);
    const sse = new SseClient(dash.port, '/api/stream', { 'Last-Event-ID': String(seq) });
    try {
      const s = JSON.parse((await sse.waitFor((m) => m.event === 'state')).data) as { events: { seq: number }[] };
      assert.deepEqual(s.events.map((e) => e.seq), [seq + 1, seq + 2]);
    } finally {
      sse.close();
    }
  });

  test('stream clients are capped and cleaned up when they disconnect', async () => {
    const clients = Array.from({ length: 4 }, () => new SseClient(dash.port));
    await Promise.all(clients.map((c) => c.waitFor((m) => m.event === 'state')));
    assert.equal((await getJson(dash.port, '/api/summary'))['streamClients'], 4);
    const fifth = await get(dash.port, '/api/stream');
    assert.equal(fifth.status, 503);
    for (const c of clients) c.close();
    for (let i = 0; ; i++) {
      const n = (await getJson(dash.port, '/api/summary'))['streamClients'];
      if (n === 0) break;
      assert.ok(i < 200, `stream clients still counted: ${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // State changes with nobody listening cost nothing and break nothing.
    w.logout(S2);
    assert.equal((await getJson<{ peers: unknown[] }>(dash.port, '/api/peers')).peers.length, 2);
  });
});

describe('dashboard lifecycle', () => {
  test('close() ends open streams and frees the port; observer calls after close are harmless', async () => {
    const view = new FakeView();
    const dash = await startDashboard({ view, port: 0, defaultMetrics: false });
    const sse = new SseClient(dash.port);
    await sse.waitFor((m) => m.event === 'state');
    await dash.close();
    await dash.close();
    dash.observer.event?.({ type: 'logout', at: 1, sessionId: S1, partsOwned: 0 });
    dash.observer.request?.({ command: 'LOGI', outcome: 'ok', seconds: 0.001 });
    dash.observer.connections?.(3);
    await assert.rejects(get(dash.port, '/api/files'));
    sse.close();
  });

  test('a port in use is an error, not a crash', async () => {
    const view = new FakeView();
    const a = await startDashboard({ view, port: 0, defaultMetrics: false });
    try {
      await assert.rejects(startDashboard({ view, port: a.port, defaultMetrics: false }), /EADDRINUSE/);
    } finally {
      await a.close();
    }
  });
});

describe('feed ring buffer', () => {
  test('keeps the newest entries in order', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) r.push(i);
    assert.deepEqual(r.toArray(), [3, 4, 5]);
    assert.deepEqual(r.last(2), [4, 5]);
    assert.deepEqual(r.last(10), [3, 4, 5]);
    assert.equal(r.size, 3);
    assert.throws(() => new Ring(0));
  });

  test('labels events with the peer known at the time, also after logout', () => {
    const view = new FakeView();
    const feed = new Feed(view, 10, () => 0);
    feed.record({ type: 'login', at: 1, sessionId: S1, address: { ip4: '10.0.0.1', ip6: '0000:0000:0000:0000:0000:0000:0000:0001' }, port: 7 });
    feed.record({ type: 'add', at: 2, sessionId: S1, md5: MD5_A, fileName: 'x', fileLength: 1, partLength: 1, parts: 1 });
    feed.record({ type: 'part', at: 3, sessionId: S1, md5: MD5_A, part: 0, partsHeld: 1 });
    feed.record({ type: 'logout', at: 4, sessionId: S1, partsOwned: 1 });
    const entries = feed.latest(10).events;
    assert.deepEqual(entries.map((e) => [e.seq, e.peer, e.fileName]), [[1, '10.0.0.1:7', undefined], [2, '10.0.0.1:7', 'x'], [3, '10.0.0.1:7', 'x'], [4, '10.0.0.1:7', undefined]]);
    // Unknown sessions are looked up in the view (a dashboard started after the logins).
    view.login(S2, '10.0.0.2', 8);
    const e = feed.record({ type: 'part', at: 5, sessionId: S2, md5: MD5_A, part: 0, partsHeld: 1 });
    assert.equal(e.peer, '10.0.0.2:8');
    assert.deepEqual(feed.since(3, 10).events.map((x) => x.seq), [4, 5]);
    assert.deepEqual(feed.since(5, 10), { events: [], more: false });
    assert.deepEqual(feed.since(0, 2).events.map((x) => x.seq), [1, 2]);
    assert.deepEqual(feed.latest(2).events.map((x) => x.seq), [4, 5]);
  });
});
