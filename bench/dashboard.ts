/**
 * `npm run bench:dashboard`: what open dashboard pages cost, under load, on loopback.
 *
 *   node dist/bench/dashboard.js [--peers 300] [--files 3] [--parts 4096] [--rate 2000] [--pages 5] [--seconds 15]
 *                                [--browser-nice N] [--json]
 *
 * A real tracker (the CLI, a child process, in-memory store, dashboard on) gets
 * `peers` logins, `files` files of `parts` parts (each shared by one seed), then
 * RPADs from the other peers at `rate` per second (open loop, one connection
 * per request as real peers do) for `seconds` with no page open, then again
 * with `pages` pages open in headless Chromium (test/support/chromium.ts,
 * one browser context each). It prints, per page and against the targets of
 * issue 13: main-thread CPU (CDP Performance.getMetrics TaskDuration over wall
 * time), bytes per second from the SSE stream and in all (CDP Network),
 * lag (the page's own "behind by" figure, sampled twice a second), click
 * latency (a real mouse click on a file row to the frame after it is
 * handled), and the tracker's RPAD p50/p99 with 0 and with `pages` pages.
 * The reference for RPAD latency is the same tracker with no page open.
 * Chromium runs on the tracker's machine here (it would not in use): its CPU,
 * all processes, is printed, and `--browser-nice N` lowers its priority
 * (setpriority on each of its processes once the pages are open) to tell what
 * the dashboard costs the tracker from what a browser next to it costs the machine.
 * The RPAD client is bench/loadgen.c in open-loop mode (`--rate`, at most 512
 * in flight, due requests beyond that counted as skipped and the rate achieved
 * printed), compiled with `cc` at every run: a Node client costs about as much
 * CPU per connection as the tracker and could not reach 2000 RPAD/s on a busy
 * two-core machine. Without a C compiler it falls back to a Node client in a
 * worker thread (so that sampling the pages is not held up by it).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { CDPSession, Page } from 'playwright-core';
import { numberArg } from '../scripts/lib/args.js';
import { cpuSeconds, launch, procStat, stop, waitFor } from '../scripts/lib/processes.js';
import { encodeMessage } from '../src/protocol/index.js';
import { launchChromium, chooseChromium } from '../test/support/chromium.js';
import { ask, login } from '../test/dashboard/tracker-client.js';
import { buildLoadgen, runLoadgen } from './loadgen.js';

/* Browser globals, as far as the page functions below use them (the project compiles without the DOM lib). */
declare const window: { clicks: number[]; clickParts: number[][]; lags: number[]; sampling: boolean };
declare const document: {
  addEventListener(type: 'click', fn: (ev: { timeStamp: number }) => void, capture: boolean): void;
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
  readonly body: { dataset: Record<string, string | undefined> } | null;
};
declare function requestAnimationFrame(callback: () => void): number;

const HOST = '127.0.0.1';
const PART = 65536;
const MAX_IN_FLIGHT = 512;
/** Length of an APAD, the reply to an RPAD (PROTOCOL.md: APAD #Part[8]). */
const APAD_LENGTH = 12;

interface Options { peers: number; files: number; parts: number; rate: number; pages: number; seconds: number; browserNice: number; json: boolean }

function options(): Options {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: '300' }, files: { type: 'string', default: '3' }, parts: { type: 'string', default: '4096' },
      rate: { type: 'string', default: '2000' }, pages: { type: 'string', default: '5' }, seconds: { type: 'string', default: '15' },
      'browser-nice': { type: 'string', default: '0' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('node dist/bench/dashboard.js [--peers 300] [--files 3] [--parts 4096] [--rate 2000] [--pages 5] [--seconds 15] [--browser-nice N] [--json]');
    process.exit(0);
  }
  return {
    peers: numberArg('--peers', values.peers!, 4, 5000, true),
    files: numberArg('--files', values.files!, 1, 16, true),
    parts: numberArg('--parts', values.parts!, 8, 65536, true),
    rate: numberArg('--rate', values.rate!, 1, 20000, true),
    pages: numberArg('--pages', values.pages!, 1, 16, true),
    seconds: numberArg('--seconds', values.seconds!, 2, 300, false),
    browserNice: numberArg('--browser-nice', values['browser-nice']!, 0, 19, true),
    json: values.json!,
  };
}

/** One phase of open-loop RPADs: how many were sent, answered, failed or skipped (due while MAX_IN_FLIGHT were), and latencies (ms) of those answered. */
interface LoadResult { answered: number; sent: number; failed: number; skipped: number; p50: number; p99: number }
interface NodeLoadResult { latencies: number[]; sent: number; failed: number; skipped: number }

async function rpadLoad(port: number, rate: number, seconds: number, next: () => Buffer): Promise<NodeLoadResult> {
  const latencies: number[] = [];
  let sent = 0, failed = 0, skipped = 0, inFlight = 0;
  const one = (req: Buffer): void => {
    inFlight++;
    sent++;
    const t0 = performance.now();
    let answered = false;
    const s = connect({ host: HOST, port }, () => s.end(req));
    s.setNoDelay(true);
    s.on('data', () => {
      if (!answered) latencies.push(performance.now() - t0);
      answered = true;
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      inFlight--;
      if (!answered) failed++;
    });
  };
  const start = performance.now();
  let due = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= seconds) {
        clearInterval(timer);
        resolve();
        return;
      }
      const target = Math.floor(elapsed * rate);
      while (due < target) {
        due++;
        if (inFlight >= MAX_IN_FLIGHT) skipped++;
        else one(next());
      }
    }, 5);
  });
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  return { latencies, sent, failed, skipped };
}

/** The processes descended from `root` (Linux /proc; none elsewhere). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      // null: gone meanwhile
      const fields = procStat(name);
      if (fields) parent.set(Number(name), Number(fields[1]));
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  const within = (pid: number): boolean => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && hops < 64; p = parent.get(p), hops++) if (p === root) return true;
    return false;
  };
  for (const pid of parent.keys()) if (within(pid)) out.push(pid);
  return out;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

interface PageProbe { page: Page; cdp: CDPSession; sse: number; all: number; streamIds: Set<string> }

async function openPage(browser: Awaited<ReturnType<typeof launchChromium>>, url: string): Promise<PageProbe> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const probe: PageProbe = { page, cdp, sse: 0, all: 0, streamIds: new Set() };
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url.endsWith('/api/stream')) probe.streamIds.add(e.requestId);
  });
  cdp.on('Network.dataReceived', (e) => {
    const n = e.encodedDataLength || e.dataLength;
    probe.all += n;
    if (probe.streamIds.has(e.requestId)) probe.sse += n;
  });
  // Click latency: from the browser's timestamp of the click to the end of the frame that follows its handlers.
  await page.addInitScript(() => {
    const w = window;
    w.clicks = [];
    w.clickParts = [];
    w.lags = [];
    w.sampling = false;
    // The page's own lag figure, sampled in the page (no round trip to the bench per sample).
    setInterval(() => {
      if (w.sampling && document.body) w.lags.push(Number(document.body.dataset['lagMs'] ?? 'NaN'));
    }, 250);
    document.addEventListener('click', (ev) => {
      // Where the time goes: the event waiting for the main thread, then for the next frame, then the frame itself.
      const t0 = ev.timeStamp, handled = performance.now() - t0;
      requestAnimationFrame(() => {
        const framed = performance.now() - t0;
        setTimeout(() => {
          const total = performance.now() - t0;
          w.clicks.push(total);
          w.clickParts.push([handled, framed - handled, total - framed]);
        }, 0);
      });
    }, true);
  });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status')?.dataset['state'] === 'live', undefined, { timeout: 30_000 });
  return probe;
}

const BREAKDOWN = ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'] as const;

/** Seconds of main-thread work so far: all tasks, and script, layout and style among them. */
async function taskSeconds(cdp: CDPSession): Promise<number[]> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return BREAKDOWN.map((name) => metrics.find((m) => m.name === name)?.value ?? NaN);
}

async function main(): Promise<void> {
  const o = options();
  const browserChoice = await chooseChromium();
  const tracker = launch('tracker', ['tracker', '--host', HOST, '--port', '0', '--http-port', '0', '--db', ':memory:']);
  const results: Record<string, unknown> = {};
  let dir: string | undefined;
  let client = '';
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const [listening, dash] = await Promise.all([waitFor(tracker, 'log:listening', 20_000), waitFor(tracker, 'log:dashboard listening', 20_000)]);
    const port = Number(listening['port']);
    const url = `http://${HOST}:${Number(dash['port'])}/`;
    // The swarm: one seed per file, the other peers report parts of every file.
    const sessions: string[] = [];
    for (let i = 0; i < o.peers; i++) sessions.push(await login(port, `127.0.${1 + (i >> 8)}.${i & 255}`, `::${(i + 1).toString(16)}`, 10_000 + i));
    const md5s: string[] = [];
    for (let f = 0; f < o.files; f++) {
      const md5 = (f + 1).toString(16).padStart(32, 'c');
      md5s.push(md5);
      await ask(port, { command: 'ADDR', sessionId: sessions[f]!, fileLength: o.parts * PART, partLength: PART, fileName: `bench-${f + 1}.bin`, md5 });
    }
    const pairs: Pair[] = [];
    let seed = 1;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = o.files; i < o.peers; i++) for (const md5 of md5s) pairs.push({ sid: sessions[i]!, md5, k: 0, offset: Math.floor(rand() * o.parts), stride: 2 * Math.floor(rand() * (o.parts / 2 - 1)) + 1 });
    dir = mkdtempSync(join(tmpdir(), 'bugtorrent-bench-dashboard-'));
    const loadgen = buildLoadgen(dir);
    client = loadgen ? 'C open loop, bench/loadgen.c' : 'Node worker';
    let load: Worker | undefined;
    let run: (seconds: number) => Promise<LoadResult>;
    if (loadgen) {
      // The sequence the Node client would send, continued from phase to phase (a replayed RPAD changes nothing
      // in the swarm, so replaying one file would give the pages less to show in later phases).
      const next = rpadSequence(o.parts, pairs);
      const file = join(dir, 'rpads.bin');
      const length = next().length;
      run = async (seconds) => {
        writeFileSync(file, Buffer.concat(Array.from({ length: Math.min(1_000_000, Math.ceil(o.rate * seconds) + 1000) }, next)));
        const r = await runLoadgen(loadgen, [
          '--host', HOST, '--port', String(port), '--rate', String(o.rate), '--seconds', String(seconds), '--warmup', '0',
          '--concurrency', String(MAX_IN_FLIGHT), '--sources', '4', '--reply-len', String(APAD_LENGTH), '--request-len', String(length),
          '--requests', file, '--expect', 'APAD',
        ], (seconds + 30) * 1000);
        if (r.firstError) process.stderr.write(`bench: loadgen: ${r.firstError}\n`);
        const nan = (n: number): number => (n < 0 ? NaN : n);
        return { answered: r.requests, sent: r.sent, failed: r.errors, skipped: r.skipped, p50: nan(r.p50), p99: nan(r.p99) };
      };
    } else {
      const worker = (load = new Worker(new URL(import.meta.url), { workerData: { port, parts: o.parts, pairs } }));
      let phases = 0;
      run = (seconds) =>
        new Promise((resolve, reject) => {
          const id = ++phases;
          const onMessage = (m: NodeLoadResult & { id: number }): void => {
            if (m.id !== id) return;
            worker.off('message', onMessage);
            resolve({ answered: m.latencies.length, sent: m.sent, failed: m.failed, skipped: m.skipped, p50: quantile(m.latencies, 0.5), p99: quantile(m.latencies, 0.99) });
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
          worker.postMessage({ id, rate: o.rate, seconds });
        });
    }

    await run(2); // warm-up
    let cpuAt = cpuSeconds(tracker.pid);
    const without = await run(o.seconds);
    const trackerCpuWithout = cpuSeconds(tracker.pid) - cpuAt;

    browser = await launchChromium();
    const probes: PageProbe[] = [];
    for (let i = 0; i < o.pages; i++) probes.push(await openPage(browser, url));
    // The browser's processes: ours but the tracker (and its children) and the load generator's (short-lived, not yet started).
    const notBrowser = new Set([tracker.pid, ...descendants(tracker.pid)]);
    const browserPids = descendants(process.pid).filter((pid) => !notBrowser.has(pid));
    if (o.browserNice > 0) for (const pid of browserPids) try { setPriority(pid, o.browserNice); } catch { /* gone */ }
    const browserCpu = (): number => browserPids.reduce((t, pid) => t + (cpuSeconds(pid) || 0), 0);
    await run(2); // the pages settle under load
    const cpu0 = await Promise.all(probes.map((p) => taskSeconds(p.cdp)));
    const bytes0 = probes.map((p) => ({ sse: p.sse, all: p.all }));
    await Promise.all(probes.map((p) => p.page.evaluate(() => (window.sampling = true))));
    const t0 = performance.now();
    let sampling = true;
    const clicker = (async () => {
      const page = probes[0]!.page;
      for (let i = 0; i < 8 && sampling; i++) {
        await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 10));
        await page.click(`tr.file[data-md5="${md5s[i % md5s.length]}"]`);
      }
    })();
    cpuAt = cpuSeconds(tracker.pid);
    const browserAt = browserCpu();
    const withPages = await run(o.seconds);
    const trackerCpuWith = cpuSeconds(tracker.pid) - cpuAt;
    const browserShare = (browserCpu() - browserAt) / o.seconds;
    await load?.terminate();
    sampling = false;
    await clicker;
    const lags = (await Promise.all(probes.map((p) => p.page.evaluate(() => ((window.sampling = false), window.lags))))).flat().filter((x) => Number.isFinite(x));
    const wall = (performance.now() - t0) / 1000;
    const cpu1 = await Promise.all(probes.map((p) => taskSeconds(p.cdp)));
    const share = (k: number): number[] => probes.map((_, i) => (cpu1[i]![k]! - cpu0[i]![k]!) / wall);
    const cpu = share(0);
    const [script, layout, style] = [share(1), share(2), share(3)];
    const sse = probes.map((p, i) => (p.sse - bytes0[i]!.sse) / wall);
    const all = probes.map((p, i) => (p.all - bytes0[i]!.all) / wall);
    const clicks = await probes[0]!.page.evaluate(() => window.clicks);
    const clickParts = await probes[0]!.page.evaluate(() => window.clickParts);

    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rows: [string, string, string, string][] = [];
    const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB/s`;
    const ms = (x: number): string => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
    rows.push([`page CPU, main thread (mean / max of ${o.pages})`, `${(100 * mean(cpu)).toFixed(1)} % / ${(100 * Math.max(...cpu)).toFixed(1)} %`, '≤ 10 %', (mean(cpu) / 0.1).toFixed(2)]);
    rows.push(['  of which script / layout / style (mean)', `${(100 * mean(script)).toFixed(1)} / ${(100 * mean(layout)).toFixed(1)} / ${(100 * mean(style)).toFixed(1)} %`, '', '']);
    rows.push(['SSE bytes per page (mean / max)', `${kib(mean(sse))} / ${kib(Math.max(...sse))}`, '≤ 20 KiB/s', (mean(sse) / 20480).toFixed(2)]);
    rows.push(['all bytes per page, SSE + holder summaries', kib(mean(all)), '≤ 20 KiB/s', (mean(all) / 20480).toFixed(2)]);
    rows.push(['lag (p95 / max of samples)', `${ms(quantile(lags, 0.95))} / ${ms(Math.max(...lags))}`, '≤ 1000 ms', (quantile(lags, 0.95) / 1000).toFixed(2)]);
    rows.push([`click to next frame (p95 / max of ${clicks.length})`, `${ms(quantile(clicks, 0.95))} / ${ms(Math.max(...clicks))}`, '≤ 100 ms', (quantile(clicks, 0.95) / 100).toFixed(2)]);
    const part = (k: number): string => ms(quantile(clickParts.map((c) => c[k]!), 0.95));
    rows.push(['  of which: wait for main thread / for frame / the frame (p95 each)', `${part(0)} / ${part(1)} / ${part(2)}`, '', '']);
    const p99a = without.p99, p99b = withPages.p99;
    rows.push(['RPAD p50, 0 pages → ' + o.pages + ' pages', `${ms(without.p50)} → ${ms(withPages.p50)}`, 'unchanged', (withPages.p50 / without.p50).toFixed(2)]);
    rows.push(['RPAD p99, 0 pages → ' + o.pages + ' pages', `${ms(p99a)} → ${ms(p99b)}`, 'unchanged', (p99b / p99a).toFixed(2)]);
    const usWithout = (1e6 * trackerCpuWithout) / without.answered, usWith = (1e6 * trackerCpuWith) / withPages.answered;
    rows.push([`tracker CPU per RPAD, 0 → ${o.pages} pages (pushes and summaries included)`, `${usWithout.toFixed(0)} µs → ${usWith.toFixed(0)} µs`, 'unchanged', (usWith / usWithout).toFixed(2)]);
    rows.push([`Chromium CPU, all ${browserPids.length} processes${o.browserNice ? `, nice ${o.browserNice}` : ''} (of one core; the machine has 2)`, `${(100 * browserShare).toFixed(0)} %`, '', '']);
    rows.push(['RPADs sent per second (0 pages; with pages)', `${(without.sent / o.seconds).toFixed(0)}; ${(withPages.sent / o.seconds).toFixed(0)}`, `${o.rate}`, (withPages.sent / o.seconds / o.rate).toFixed(2)]);
    rows.push(['RPADs answered / sent (0 pages; with pages)', `${without.answered}/${without.sent}; ${withPages.answered}/${withPages.sent}`, 'all', ((withPages.answered / Math.max(1, withPages.sent))).toFixed(2)]);
    rows.push(['RPADs skipped: due with 512 in flight (0; with pages)', `${without.skipped}; ${withPages.skipped}`, '0', '']);
    Object.assign(results, { options: o, browser: browserChoice.source, client, cpu, sse, all, lags, clicks, clickParts, browserCpu: browserShare, without, trackerCpuUsPerRpad: { without: usWithout, with: usWith }, withPages });
    if (o.json) {
      console.log(JSON.stringify(results));
      return;
    }
    console.log(`dashboard under load: ${o.peers} peers × ${o.files} files × ${o.parts} parts, ${o.rate} RPAD/s for ${o.seconds} s, ${o.pages} pages (Chromium: ${browserChoice.source}${o.browserNice ? `, nice ${o.browserNice}` : ''}), loopback, RPAD client: ${client}`);
    const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ['figure', 'measured', 'target', 'ratio'][c]!.length));
    const line = (r: string[]): string => r.map((x, c) => (c === 0 ? x.padEnd(w[c]!) : x.padStart(w[c]!))).join('  ');
    console.log(line(['figure', 'measured', 'target', 'ratio']));
    for (const r of rows) console.log(line(r));
    console.log('ratio: measured / target (≤ 1 meets it); for RPAD latency: with pages / without. The machine is shared: figures are noisy.');
  } finally {
    await browser?.close();
    await stop(tracker, ['SIGTERM'], 5000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

type Pair = { sid: string; md5: string; k: number; offset: number; stride: number };

/** RPADs in turn over the (peer, file) pairs, each pair walking its file's parts by its stride. */
function rpadSequence(parts: number, pairs: Pair[]): () => Buffer {
  let cursor = 0;
  return () => {
    const p = pairs[cursor++ % pairs.length]!;
    // An odd stride visits every part of a power-of-two count once; otherwise parts may repeat (an RPAD repeated is still an RPAD).
    const part = (p.offset + p.k++ * p.stride) % parts;
    return encodeMessage({ command: 'RPAD', sessionId: p.sid, md5: p.md5, part });
  };
}

if (isMainThread) await main();
else {
  // The RPAD client: phases on request, each answered with its latencies.
  const { port, parts, pairs } = workerData as { port: number; parts: number; pairs: Pair[] };
  const next = rpadSequence(parts, pairs);
  parentPort!.on('message', (m: { id: number; rate: number; seconds: number }) => {
    void rpadLoad(port, m.rate, m.seconds, next).then((r) => parentPort!.postMessage({ id: m.id, ...r }));
  });
}
