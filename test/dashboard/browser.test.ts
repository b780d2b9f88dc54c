/**
 * The dashboard in a real browser (Chromium driven by playwright-core, found by
 * test/support/chromium.ts) against a real tracker fed over real sockets. If
 * Chromium cannot be launched this test fails: it never skips.
 *
 * Screenshots go to a temp dir; with BUGTORRENT_SCREENSHOT=path one is also
 * written there (that is how docs/dashboard.png is made).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startDashboard } from '../../src/dashboard/index.js';
import { FakeView } from './helpers.js';
import { encodeMessage } from '../../src/protocol/index.js';
import { startTracker } from '../../src/tracker/index.js';
import { launchChromium } from '../support/chromium.js';
import { exchange } from '../support/net.js';
import { ask, login, reportPart } from './tracker-client.js';

/*
 * Browser globals, as far as the page functions below use them: the project
 * compiles without the DOM lib, and these declarations stay local to this module.
 */
interface PageElement {
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
}
interface PageCanvas extends PageElement {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector<T extends PageElement = PageElement>(selector: string): T | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};
declare const window: Record<string, unknown>;
declare function requestAnimationFrame(callback: () => void): number;

const MD5_ISO = '5d41402abc4b2a76b9719d911017c592';
const MD5_TAR = '7d793037a0760186574b0282f2f435e7';
const PART = 262144;

/** Waits until `fn` (run in the page) returns true. */
async function pageUntil<A>(page: Page, fn: (arg: A) => boolean, arg: A, what: string): Promise<void> {
  try {
    await page.waitForFunction(fn as (arg: unknown) => boolean, arg as unknown, { timeout: 20_000, polling: 50 });
  } catch (err) {
    throw new Error(`page never showed ${what}: ${(err as Error).message.split('\n')[0]}; rows-note: ${await page.evaluate(() => document.querySelector('tr.detail .rows-note')?.textContent)}`);
  }
}

/** Waits until the canvas `sel` no longer hashes to `hash` (canvasHash, run in the page). */
async function canvasMoved(page: Page, sel: string, hash: number, what: string): Promise<void> {
  await pageUntil(page, ({ sel, hash }) => {
    const c = document.querySelector<PageCanvas>(sel)!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let x = 0;
    for (let i = 0; i < d.length; i += 4) x = (x * 31 + d[i]! + d[i + 1]! * 7 + d[i + 2]! * 13 + d[i + 3]! * 17) >>> 0;
    return x !== hash;
  }, { sel, hash }, what);
}

/** A hash of a canvas's pixels and how many are not transparent (run in the page). */
function canvasHash(sel: string): { hash: number; inked: number } {
  const c = document.querySelector<PageCanvas>(sel)!;
  const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
  let hash = 0;
  let inked = 0;
  for (let i = 0; i < d.length; i += 4) {
    hash = (hash * 31 + d[i]! + d[i + 1]! * 7 + d[i + 2]! * 13 + d[i + 3]! * 17) >>> 0;
    if (d[i + 3]! > 0) inked++;
  }
  return { hash, inked };
}

function cellText(sel: string): string | null {
  return document.querySelector(sel)?.textContent ?? null;
}

test('the dashboard shows a shared file and follows part reports live, in chromium', { timeout: 180_000 }, async () => {
  const shots = mkdtempSync(join(tmpdir(), 'bugtorrent-dashboard-'));
  const tracker = await startTracker({ host: '127.0.0.1', port: 0 });
  const dash = await startDashboard({ view: tracker.view, port: 0 });
  tracker.addObserver(dash.observer);
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    await page.goto(`http://127.0.0.1:${dash.port}/`);
    await pageUntil(page, () => document.getElementById('status')?.dataset['state'] === 'live', undefined, 'the live status');
    await page.evaluate(() => (window['notReloaded'] = true));
    assert.equal(await page.locator('#files-body tr.file').count(), 0);

    // A peer logs in and shares a file: ADDR sent as bytes built by the codec, over a real socket.
    const a = await login(tracker.port, '127.0.0.1', '::1', 5001);
    const addr = await exchange('127.0.0.1', tracker.port, encodeMessage({ command: 'ADDR', sessionId: a, fileLength: 40 * PART - 1000, partLength: PART, fileName: 'debian-13.iso', md5: MD5_ISO }), { accept: ['AADR'] });
    assert.deepEqual(addr.message, { command: 'AADR', parts: 40 });
    await pageUntil(page, (md5) => document.querySelector(`tr.file[data-md5="${md5}"] td.holders`)?.textContent === '1', MD5_ISO, 'the shared file with 1 holder');
    assert.equal(await page.evaluate(cellText, `tr.file[data-md5="${MD5_ISO}"] .fname`), 'debian-13.iso');
    assert.equal(await page.evaluate(cellText, `tr.file[data-md5="${MD5_ISO}"] td.parts`), '40');
    assert.equal(await page.evaluate(cellText, `tr.file[data-md5="${MD5_ISO}"] td.copies`), '1');
    await pageUntil(page, () => document.querySelector('tr.detail:not([hidden]) .legend')?.getAttribute('data-max') === '1', undefined, 'the heat map of a single holder');

    // A second peer reports a part: its count, the file's holders and the heat map change, no reload.
    const b = await login(tracker.port, '127.0.0.2', '::2', 5002);
    await pageUntil(page, () => document.querySelector('tr[data-peer="127.0.0.2:5002"] td.held')?.textContent === '0', undefined, 'the second peer with 0 parts');
    assert.equal(await reportPart(tracker.port, b, MD5_ISO, 5), 1);
    await pageUntil(page, () => document.querySelector('tr[data-peer="127.0.0.2:5002"] td.held')?.textContent === '1', undefined, 'the second peer holding 1 part');
    await pageUntil(page, (md5) => document.querySelector(`tr.file[data-md5="${md5}"] td.holders`)?.textContent === '2', MD5_ISO, 'the file with 2 holders');
    await pageUntil(page, () => document.querySelector('tr.detail:not([hidden]) .legend')?.getAttribute('data-max') === '2', undefined, 'the heat map with a part held twice');
    await pageUntil(page, () => [...document.querySelectorAll('#feed li[data-type="part"]')].some((li) => /got part 5 of debian-13\.iso/.test(li.textContent ?? '')), undefined, 'the part report in the feed');
    assert.equal(await page.evaluate(() => window['notReloaded']), true, 'the page was not reloaded');

    // The canvases are drawn: the heat map and one bitmap row per holder.
    const drawn = await page.evaluate(() => {
      const count = (c: PageCanvas | null): number => {
        if (!c || c.width === 0 || c.height === 0) return 0;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return n;
      };
      return { heat: count(document.querySelector<PageCanvas>('tr.detail canvas.heat')), rows: count(document.querySelector<PageCanvas>('tr.detail canvas.rows')), note: document.querySelector('tr.detail .rows-note')?.textContent };
    });
    assert.ok(drawn.heat > 1000, `heat map pixels: ${drawn.heat}`);
    assert.ok(drawn.rows > 1000, `bitmap row pixels: ${drawn.rows}`);
    assert.match(drawn.note ?? '', /^2 peers · as of \d\d:\d\d:\d\d$/);
    await page.screenshot({ path: join(shots, 'two-peers.png'), fullPage: true });

    // A busier swarm for the picture: more peers, a second file, a refused logout.
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const tar = await login(tracker.port, '127.0.0.3', '::3', 5003);
    await ask(tracker.port, { command: 'ADDR', sessionId: tar, fileLength: 150 * 65536, partLength: 65536, fileName: 'photos-2026.tar', md5: MD5_TAR });
    for (let i = 4; i <= 14; i++) {
      const s = await login(tracker.port, `127.0.0.${i}`, `::${i.toString(16)}`, 5000 + i);
      const want = 0.15 + rand() * 0.8;
      for (let p = 0; p < 40; p++) if (p !== 17 && rand() < want) await reportPart(tracker.port, s, MD5_ISO, p);
      if (i % 2 === 0) for (let p = 0; p < 150; p++) if (rand() < want * 0.7) await reportPart(tracker.port, s, MD5_TAR, p);
    }
    const logo = await ask(tracker.port, { command: 'LOGO', sessionId: a });
    assert.equal(logo.command, 'NLOG', 'the only holder of part 17 may not leave');
    await pageUntil(page, () => document.querySelectorAll('#peers-body tr.peer:not([hidden])').length === 14, undefined, '14 peers');
    await pageUntil(page, () => document.querySelector('#feed li[data-type="logout-refused"]') !== null, undefined, 'the refused logout');
    // The first file starts open; a click opens the second, with content at once, while its holder summary is
    // still on the way (held here until the page has drawn the frame after the click), then patched in.
    const held: import('playwright-core').Route[] = [];
    let holding = true;
    await page.route('**/api/files/*/summary*', (route) => void (holding ? held.push(route) : route.continue()));
    await page.click(`tr.file[data-md5="${MD5_TAR}"]`);
    const opened = await page.evaluate((md5) => new Promise<{ hidden: boolean; note: string; rows: string; heat: number; rowsH: number }>((resolve) => requestAnimationFrame(() => setTimeout(() => {
      const detail = document.querySelector(`tr.file[data-md5="${md5}"] + tr.detail`) as (PageElement & { hidden: boolean }) | null;
      const heat = detail ? document.querySelector<PageCanvas>(`tr.file[data-md5="${md5}"] + tr.detail canvas.heat`) : null;
      let inked = 0;
      if (heat && heat.width > 0 && heat.height > 0) {
        const d = heat.getContext('2d')!.getImageData(0, 0, heat.width, heat.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) inked++;
      }
      resolve({
        hidden: detail?.hidden ?? true,
        note: document.querySelector(`tr.file[data-md5="${md5}"] + tr.detail .legend-note`)?.textContent ?? '',
        rows: document.querySelector(`tr.file[data-md5="${md5}"] + tr.detail .rows-note`)?.textContent ?? '',
        heat: inked,
        rowsH: document.querySelector<PageCanvas>(`tr.file[data-md5="${md5}"] + tr.detail canvas.rows`)?.height ?? 0,
      });
    }, 0))), MD5_TAR);
    assert.ok(held.length >= 1, 'the summary was asked for and is still held');
    assert.equal(opened.hidden, false, 'the detail is shown in the frame after the click');
    assert.match(opened.note, /^150 parts · loading/);
    assert.match(opened.rows, /^\d+ holders · loading/);
    assert.ok(opened.heat > 20 && opened.rowsH > 0, `the canvases are drawn at once (heat pixels ${opened.heat}, rows height ${opened.rowsH})`);
    holding = false;
    for (const route of held) await route.continue();
    await page.unroute('**/api/files/*/summary*');
    await pageUntil(page, () => document.querySelectorAll('tr.detail:not([hidden]) .legend[data-max]').length === 2, undefined, 'both files open and drawn');

    // The charts draw and move while the swarm runs: their pixels change after more part reports.
    await pageUntil(page, () => /\/s$/.test(document.getElementById('throughput-now')?.textContent ?? ''), undefined, 'a throughput figure');
    const before = await page.evaluate(canvasHash, '#chart-throughput');
    const completionBefore = await page.evaluate(canvasHash, '#chart-completion');
    assert.ok(before.inked > 500, `throughput chart pixels: ${before.inked}`);
    const late = await login(tracker.port, '127.0.0.30', '::30', 5030);
    for (let p = 0; p < 150; p++) await reportPart(tracker.port, late, MD5_TAR, p);
    await pageUntil(page, (md5) => Number(document.querySelector(`tr.file[data-md5="${md5}"] td.full`)?.textContent) >= 2, MD5_TAR, 'a second full holder of photos-2026.tar');
    await canvasMoved(page, '#chart-throughput', before.hash, 'the throughput chart moving');
    // The completion chart redraws on its own frame: waited for, not read at once (it raced in CI).
    await canvasMoved(page, '#chart-completion', completionBefore.hash, 'the completion chart moving');
    const peerChart = await page.evaluate(canvasHash, '#peer-chart');
    assert.ok(peerChart.inked > 500, `peer chart pixels: ${peerChart.inked}`);
    // Served: the late peer got every part of the tar from holders the tracker knew, so some of them are credited.
    const served = await page.evaluate(() => [...document.querySelectorAll('#peers-body td.served')].filter((td) => td.textContent !== '0').length);
    assert.ok(served >= 1, 'some peer is credited with serving');

    // The event filter: without part reports, logins and logouts still show.
    await page.click('#feed-filter input[value="part"]');
    await pageUntil(page, () => document.querySelector('#feed li[data-type="part"]') === null && document.querySelector('#feed li[data-type="login"]') !== null, undefined, 'the feed without part reports');
    await page.click('#feed-filter input[value="part"]');
    await pageUntil(page, () => document.querySelector('#feed li[data-type="part"]') !== null, undefined, 'part reports back in the feed');
    // The picture shows every open card as of the latest swarm (summaries refresh every few seconds).
    await pageUntil(page, () => [...document.querySelectorAll('tr.file.open')].every((row) => {
      const note = document.querySelector(`tr.file[data-md5="${row.dataset['md5']}"] + tr.detail .rows-note`)?.textContent ?? '';
      return note.startsWith(`${document.querySelector(`tr.file[data-md5="${row.dataset['md5']}"] td.holders`)?.textContent} peers`);
    }), undefined, 'every open card up to date');
    await page.evaluate(() => (window['scrollTo'] as (x: number, y: number) => void)(0, 0));
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    await page.waitForTimeout(400);
    const light = join(shots, 'dashboard-light.png');
    await page.screenshot({ path: light, fullPage: true });
    if (process.env['BUGTORRENT_SCREENSHOT']) await page.screenshot({ path: process.env['BUGTORRENT_SCREENSHOT'], fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots, 'dashboard-dark.png'), fullPage: true });
    if (process.env['BUGTORRENT_SCREENSHOT_DARK']) await page.screenshot({ path: process.env['BUGTORRENT_SCREENSHOT_DARK'], fullPage: true });

    assert.deepEqual(errors, [], 'no script errors in the page');
    await context.close();
  } finally {
    await browser?.close();
    await dash.close();
    await tracker.close();
    if (!process.env['BUGTORRENT_KEEP_SHOTS']) rmSync(shots, { recursive: true, force: true });
    else console.log(`screenshots in ${shots}`);
  }
});

test('hundreds of peers and thousands of parts: canvases, not one node per part', { timeout: 180_000 }, async () => {
  // The swarm exists before the dashboard starts (a tracker restarted over its database): the dashboard indexes it at start.
  const view = new FakeView();
  const md5 = 'f'.repeat(32);
  const PEERS = 300;
  const PARTS = 4000;
  const shots = mkdtempSync(join(tmpdir(), 'bugtorrent-dashboard-'));
  let seed = 42;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < PEERS; i++) {
    const sid = i.toString(16).toUpperCase().padStart(16, '0');
    view.login(sid, `10.0.${i >> 8}.${i & 255}`, 6000 + i);
    if (i === 0) {
      view.add(sid, md5, 'big.img', PARTS * 1024, 1024);
    } else {
      const want = rand() * 0.6;
      for (let p = 0; p < PARTS; p++) if (rand() < want) view.part(sid, md5, p);
    }
  }
  // An empty file (no parts) alongside, which must not break the drawing.
  view.login('F'.repeat(16), '10.9.9.9', 9999);
  view.add('F'.repeat(16), 'e'.repeat(32), 'empty.txt', 0, 1024);
  const dash = await startDashboard({ view, port: 0, defaultMetrics: false });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`http://127.0.0.1:${dash.port}/`);
    await pageUntil(page, () => /^300 peers in 24 groups/.test(document.querySelector('tr.detail .rows-note')?.textContent ?? ''), undefined, 'the holders of big.img summarised in 24 groups');
    await pageUntil(page, () => document.getElementById('peers-body')?.dataset['rows'] === '301', undefined, '301 peers in the table (300 and the sharer of empty.txt)');
    // The table is virtual: a screenful of rows exists, and scrolling to the end shows the last peers.
    const rendered = (): { rows: number; first: string | undefined; last: string | undefined } => {
      const rows = [...document.querySelectorAll('#peers-body tr.peer:not([hidden])')];
      return { rows: rows.length, first: rows[0]?.dataset['peer'], last: rows.at(-1)?.dataset['peer'] };
    };
    const top = await page.evaluate(rendered);
    assert.ok(top.rows > 5 && top.rows < 60, `${top.rows} peer rows in the DOM for 301 peers`);
    assert.equal(top.first, '10.0.0.0:6000');
    await page.evaluate(() => { const box = document.getElementById('peers-scroll') as unknown as { scrollTop: number; scrollHeight: number }; box.scrollTop = box.scrollHeight; });
    await pageUntil(page, () => document.querySelector('#peers-body tr[data-peer="10.9.9.9:9999"]:not([hidden]) td.addr')?.textContent === '10.9.9.9', undefined, 'the last peer after scrolling to the end');
    const bottom = await page.evaluate(rendered);
    assert.ok(bottom.rows < 60, `${bottom.rows} peer rows after scrolling`);
    assert.equal(bottom.last, '10.9.9.9:9999');
    assert.equal(await page.evaluate(() => document.querySelector('#peers-body tr[data-peer="10.0.0.0:6000"]')), null, 'the first peer scrolled out is not in the DOM');
    // Its cells are that peer's: 10.0.1.43 is peer 299, which holds some parts of big.img.
    assert.match(await page.evaluate(() => document.querySelector('#peers-body tr[data-peer="10.0.1.43:6299"] td.held')?.textContent ?? ''), /^[\d,]+$/);
    const shape = await page.evaluate(() => ({
      nodes: document.querySelectorAll('*').length,
      heat: document.querySelector<PageCanvas>('tr.detail canvas.heat')?.height ?? 0,
      rows: document.querySelector<PageCanvas>('tr.detail canvas.rows')?.height ?? 0,
      max: document.querySelector('tr.detail .legend')?.getAttribute('data-max'),
    }));
    assert.ok(shape.nodes < PARTS, `${shape.nodes} DOM nodes for ${PEERS} peers and ${PARTS} parts`);
    assert.ok(shape.heat > 0 && shape.rows > 0, 'both canvases drawn');
    assert.ok(Number(shape.max) > 1);
    await page.click(`tr.file[data-md5="${'e'.repeat(32)}"]`);
    await pageUntil(page, () => [...document.querySelectorAll('tr.detail .legend')].some((l) => /empty file/.test(l.textContent ?? '')), undefined, 'the empty file');
    // A burst of reports keeps the page live.
    for (let k = 0; k < 3000; k++) {
      const sid = (1 + (k % 299)).toString(16).toUpperCase().padStart(16, '0');
      const partsHeld = view.part(sid, md5, k % PARTS);
      dash.observer.event?.({ type: 'part', at: Date.now(), sessionId: sid, md5, part: k % PARTS, partsHeld });
    }
    const total = view.peers().reduce((n, p) => n + p.partsHeld, 0);
    await pageUntil(page, (t) => document.getElementById('stat-owned')?.textContent === t.toLocaleString('en-US'), total, 'the burst reflected in the totals');
    assert.ok((await page.evaluate(() => document.querySelectorAll('#feed li').length)) <= 150, 'the feed stays bounded');
    await page.screenshot({ path: join(shots, 'large-swarm.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await dash.close();
    if (!process.env['BUGTORRENT_KEEP_SHOTS']) rmSync(shots, { recursive: true, force: true });
    else console.log(`screenshots in ${shots}`);
  }
});
