/**
 * `npm run demo` end to end: the real script with a tiny file and fast rates.
 * It must print the dashboard URL, the dashboard's JSON API must show the file
 * while it runs, every leecher must complete, and after it exits (by itself with
 * --exit-when-done, or on SIGTERM) no process of it may remain and its temp dir
 * must be gone.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../scripts/demo.js', import.meta.url));
const FAST = ['--size', '1MB', '--leechers', '2', '--http-port', '0', '--seed-rate', '1MB', '--leecher-rate', '1MB', '--stagger', '0.2', '--status-every', '1', '--duration', '60'];

/** pids whose parent is `pid` (Linux /proc), and theirs, recursively. */
function descendants(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // comm (field 2) may hold spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, parent] of parentOf) if (parent === p) { out.push(child); walk(child); }
  };
  walk(pid);
  return out;
}

/** Processes (any) whose command line mentions `text`. */
function mentioning(text: string): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class DemoRun {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every process the demo started, as seen while it ran. */
  readonly seen = new Set<number>();
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const onLine = (line: string): void => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        const m = line.match(w.re);
        if (m) w.resolve(m);
        return !m;
      });
      if (this.child.pid && this.child.exitCode === null) for (const pid of descendants(this.child.pid)) this.seen.add(pid);
    };
    createInterface({ input: this.child.stdout! }).on('line', onLine);
    createInterface({ input: this.child.stderr! }).on('line', onLine);
  }

  /** The timeout is a liveness bound only (four children start on two shared cores). */
  waitLine(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${this.lines.join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the demo exited (${code ?? signal}) before a line matching ${re}; output:\n${this.lines.join('\n')}`));
      });
    });
  }

  /** For the after hook: kill the demo and whatever it left, whatever happened. */
  async kill(): Promise<void> {
    const pids = this.child.pid ? [...this.seen, ...descendants(this.child.pid)] : [...this.seen];
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    for (const pid of pids) if (alive(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    await this.exited;
  }
}

async function getJson(url: URL): Promise<unknown> {
  const reply = await fetch(url, { signal: AbortSignal.timeout(5000) });
  assert.equal(reply.status, 200, `${url} answered ${reply.status}`);
  return reply.json();
}

/** What every run must show at its start: the temp dir, the dashboard URL and the shared file, also on the dashboard's API. */
async function checkStart(run: DemoRun): Promise<{ root: string; url: URL; md5: string }> {
  const root = (await run.waitLine(/temp dir (\/\S+)/))[1]!;
  const url = new URL((await run.waitLine(/Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/))[1]!);
  const md5 = (await run.waitLine(/shares .* md5 ([0-9a-f]{32})/))[1]!;
  assert.ok(existsSync(root), 'the temp dir exists while the demo runs');
  const api = (await getJson(new URL('api', url))) as unknown;
  assert.ok(JSON.stringify(api).includes('/api/files'), `/api lists the endpoints: ${JSON.stringify(api)}`);
  const { files } = (await getJson(new URL('api/files', url))) as { files: { md5: string; parts: number; fileLength: number }[] };
  const file = files.find((f) => f.md5 === md5);
  assert.ok(file, `the dashboard's /api/files lists ${md5}: ${JSON.stringify(files)}`);
  assert.equal(file.fileLength, 1_000_000);
  assert.equal(file.parts, 4);
  return { root, url, md5 };
}

/** What every run must leave: nothing. */
async function checkNothingLeft(run: DemoRun, root: string): Promise<void> {
  const stopped = run.lines.map((l) => l.match(/stopped (\d+) processes \(pids ([\d ]+)\), none left; removed (\S+)/)).find((m) => m);
  assert.ok(stopped, `the demo reports what it stopped; output:\n${run.lines.join('\n')}`);
  const pids = stopped[2]!.split(' ').map(Number);
  assert.equal(pids.length, 4, 'tracker, seed and 2 leechers');
  assert.equal(Number(stopped[1]), 4);
  assert.equal(stopped[3], root);
  for (const pid of new Set([...pids, ...run.seen])) assert.equal(alive(pid), false, `process ${pid} is gone`);
  for (const pid of run.seen) assert.ok(pids.includes(pid), `every child seen (${pid}) was among those stopped`);
  assert.ok(run.seen.size >= 4, `the test saw the demo's children (${[...run.seen].join(' ')})`);
  assert.deepEqual(mentioning(root), [], 'no process mentions the temp dir');
  assert.equal(existsSync(root), false, 'the temp dir is removed');
}

// Each test gets the suite's per-test timeout (180 s): under load one run takes 45 s or more.
describe('npm run demo', () => {
  const runs: DemoRun[] = [];
  after(async () => {
    await Promise.all(runs.map((r) => r.kill()));
  });

  test('--exit-when-done: dashboard URL, file on /api, every leecher complete, nothing left', async () => {
    const run = new DemoRun([...FAST, '--exit-when-done']);
    runs.push(run);
    const { root, url } = await checkStart(run);
    await run.waitLine(/^All 2 leechers have the whole/, 120_000);
    const { code, signal } = await run.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, run.lines.join('\n'));
    assert.deepEqual(run.lines.filter((l) => /^L\d+ 127\.0\.0\.\d+ complete at/.test(l)).length, 2);
    await checkNothingLeft(run, root);
    await assert.rejects(fetch(url, { signal: AbortSignal.timeout(2000) }), 'the dashboard is gone');
  });

  test('SIGTERM while seeding: exits 0, stops every child, removes the temp dir', async () => {
    const run = new DemoRun(FAST);
    runs.push(run);
    const { root, url } = await checkStart(run);
    await run.waitLine(/^All 2 leechers have the whole/, 120_000);
    await run.waitLine(/Ctrl-C to stop/);
    const { peers } = (await getJson(new URL('api/summary', url))) as { peers: number };
    assert.equal(peers, 3, 'the seed and both leechers are still logged in, seeding');
    run.child.kill('SIGTERM');
    const { code, signal } = await run.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, run.lines.join('\n'));
    await checkNothingLeft(run, root);
  });

  test('a bad flag: exit 2 with the usage, nothing started', async () => {
    const run = new DemoRun(['--leechers', 'many']);
    runs.push(run);
    const { code } = await run.exited;
    assert.equal(code, 2);
    assert.ok(run.lines.some((l) => l.includes('--leechers must be a whole number')), run.lines.join('\n'));
    assert.ok(run.lines.some((l) => l.includes('npm run demo')));
  });
});
