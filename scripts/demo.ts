/**
 * `npm run demo`: a whole swarm on loopback to watch on the dashboard.
 *
 * A tracker (127.0.0.1, dashboard on 8080 or a free port), a seed (127.0.0.2)
 * sharing a generated random file, and leechers (127.0.0.3, ...) started a few
 * seconds apart with modest upload limits, so the parts spread over a minute or
 * two. Every process is a real `bugtorrent` CLI. Once complete, leechers keep
 * seeding; the demo runs until Ctrl-C (or --exit-when-done / --duration), then
 * stops every child (SIGTERM, again, then SIGKILL), checks that none is left,
 * removes its temporary folder and exits.
 *
 * Usage: npm run demo -- [--size 24MiB] [--leechers 6] [--seed-rate 1MB]
 *        [--leecher-rate 512KB] [--stagger 3] [--http-port 8080]
 *        [--exit-when-done] [--duration SEC] [--status-every SEC]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatBytes } from '../src/units.js';
import {
  DEFAULT_HTTP_PORT,
  DEMO_HELP,
  type DemoConfig,
  type PeerView,
  type TrackerView,
  parseDemoArgs,
  ratesText,
  statusBlock,
  statusLine,
  summary,
} from './lib/demo-view.js';
import { CLI, type Proc, launch, portIsFree, stop, survivors, tail, waitFor, writeRandomFile } from './lib/processes.js';

/** The peer flags the demo relies on (checked against `bugtorrent peer --help` first). */
const PEER_FLAGS = ['--tracker', '--ip4', '--ip6', '--port', '--dir', '--share', '--get', '--json', '--up-rate'];

/**
 * How long one child may take to be up: a liveness bound, not an expectation. On
 * two cores shared with other work (the test suite under stress) a tracker took
 * over 30 s just to log "listening".
 */
const START_TIMEOUT_MS = 90_000;
/** Peers: SIGTERM (log out), SIGTERM again (leave without the tracker's consent), then SIGKILL. */
const PEER_GRACE_MS = 2500;
const TRACKER_GRACE_MS = 3000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes to the terminal: log lines above a live status block (TTY), or plain lines. */
class Screen {
  private lines = 0;
  private shown = '';
  readonly tty = Boolean(process.stdout.isTTY);
  private readonly color = this.tty && !process.env['NO_COLOR'];

  bold(text: string): string {
    return this.color ? `\x1b[1m${text}\x1b[22m` : text;
  }

  private clear(): void {
    if (this.tty && this.lines > 0) process.stdout.write(`\x1b[${this.lines}F\x1b[0J`);
    this.lines = 0;
  }

  log(text: string, block: string[] = []): void {
    this.clear();
    process.stdout.write(`${text}\n`);
    if (block.length) this.draw(block);
  }

  /** Replaces the block (terminal only); lines are cut to the width so none wraps. */
  draw(block: string[]): void {
    if (!this.tty) return;
    const width = Math.max(20, (process.stdout.columns ?? 100) - 1);
    const text = block.map((l) => `${l.slice(0, width)}\n`).join('');
    if (this.lines === block.length && text === this.shown) return;
    this.clear();
    process.stdout.write(text);
    this.lines = block.length;
    this.shown = text;
  }

  /** Forgets the block (it stays on screen as the last state). */
  release(): void {
    this.lines = 0;
  }
}

class Demo {
  private readonly t0 = performance.now();
  private readonly screen = new Screen();
  private readonly root = mkdtempSync(join(tmpdir(), 'bugtorrent-demo-'));
  private readonly procs: Proc[] = [];
  private readonly peers: PeerView[] = [];
  private tracker: TrackerView | null = null;
  private url: string | null = null;
  private md5: string | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private lastLine = 0;
  private lastBody = '';
  private stopping: Promise<number> | null = null;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once everything is stopped and removed. */
  readonly done = new Promise<number>((r) => (this.resolveDone = r));
  private signals = 0;
  /** True once the tracker and the seed are up: from then on any exit is a failure to report. */
  private started = false;

  constructor(private readonly config: DemoConfig) {}

  private now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  private say(text: string): void {
    this.screen.log(text, this.ticker ? this.block() : []);
  }

  private block(): string[] {
    const width = Math.max(10, Math.min(40, (process.stdout.columns ?? 100) - 70));
    return statusBlock(this.peers, this.tracker, this.now(), width, this.screen.tty);
  }

  private tick(): void {
    if (this.screen.tty) {
      this.screen.draw(this.block());
    } else if (this.now() - this.lastLine >= this.config.statusEvery - 0.05) {
      // In a log, a line only when something changed (or every minute while idle).
      const line = statusLine(this.peers, this.tracker, this.now());
      const body = line.replace(/^t\+\d+ s/, '');
      if (body === this.lastBody && this.now() - this.lastLine < 60) return;
      this.lastLine = this.now();
      this.lastBody = body;
      process.stdout.write(`${line}\n`);
    }
  }

  installSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      this.signals++;
      if (this.signals === 1) {
        this.say(`\n${signal}: stopping every process (again to stop at once)...`);
        void this.shutdown(0);
      } else {
        // Impatient: kill what is left now; shutdown() goes on and cleans up.
        for (const p of this.procs) if (p.running()) p.child.kill('SIGKILL');
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  }

  async run(): Promise<void> {
    const c = this.config;
    checkPeerFlags();
    this.say(`BugTorrent demo: 1 tracker, 1 seed, ${c.leechers} ${c.leechers === 1 ? 'leecher' : 'leechers'} on loopback; temp dir ${this.root}`);

    const seedDir = join(this.root, 'seed');
    mkdirSync(seedDir);
    const file = join(seedDir, `demo-${sizeLabel(c.size)}.bin`);
    writeRandomFile(file, c.size);

    await this.startTracker();
    const trackerAddr = `127.0.0.1:${this.trackerPort}`;
    const rule = '='.repeat(Math.max(40, (this.url?.length ?? 0) + 22));
    this.say([rule, `  Dashboard: ${this.screen.bold(this.url ?? '(none)')}`, `  open it in a browser and watch the parts spread`, rule].join('\n'));
    this.say(`tracker on ${trackerAddr}; ${ratesText(c)}`);

    const peerArgs = (ip4: string, dir: string): string[] => ['peer', '--tracker', trackerAddr, '--ip4', ip4, '--ip6', '::1', '--port', '0', '--dir', dir, '--json'];
    const seedView: PeerView = { name: 'seed', ip4: '127.0.0.2', role: 'seed', state: 'starting', have: 0, parts: 0, startAt: this.now(), completeAt: null, took: null };
    this.peers.push(seedView);
    const seed = this.spawn('seed', [...peerArgs('127.0.0.2', seedDir), '--share', file, '--up-rate', String(c.seedRate)]);
    const shared = await waitFor(seed, 'shared', START_TIMEOUT_MS);
    const md5 = String(shared['md5']);
    this.md5 = md5;
    seedView.parts = seedView.have = Number(shared['parts']);
    seedView.state = 'seeding';
    this.started = true;
    this.say(`seed 127.0.0.2 shares ${String(shared['name'])} (${formatBytes(c.size)}, ${seedView.parts} parts) md5 ${md5}`);

    for (let i = 0; i < c.leechers; i++) {
      this.peers.push({ name: `L${i + 1}`, ip4: `127.0.0.${3 + i}`, role: 'leecher', state: 'waiting', have: 0, parts: 0, startAt: this.now() + i * c.stagger, completeAt: null, took: null });
    }
    this.ticker = setInterval(() => this.tick(), this.screen.tty ? 250 : 100);
    this.tick();
    if (c.duration > 0) {
      setTimeout(() => {
        const complete = this.peers.every((p) => p.role !== 'leecher' || p.state === 'complete');
        this.say(`--duration ${c.duration} s reached`);
        void this.shutdown(c.exitWhenDone && !complete ? 1 : 0);
      }, c.duration * 1000).unref();
    }
    for (let i = 0; i < c.leechers; i++) {
      const view = this.peers[i + 1]!;
      const wait = (view.startAt ?? 0) - this.now();
      if (wait > 0) await sleep(wait * 1000);
      if (this.stopping) return;
      const dir = join(this.root, view.name);
      mkdirSync(dir);
      this.startLeecher(view, peerArgs(view.ip4, dir), md5);
    }
  }

  private trackerPort = 0;

  private async startTracker(): Promise<void> {
    const explicit = this.config.httpPort !== null;
    let httpPort = this.config.httpPort ?? DEFAULT_HTTP_PORT;
    if (!explicit && !(await portIsFree('127.0.0.1', httpPort))) {
      this.say(`port ${httpPort} is busy: the dashboard takes a free port instead`);
      httpPort = 0;
    }
    for (let attempt = 1; ; attempt++) {
      const tracker = this.spawn('tracker', ['tracker', '--host', '127.0.0.1', '--port', '0', '--db', ':memory:', '--http-host', '127.0.0.1', '--http-port', String(httpPort)]);
      const listening = waitFor(tracker, 'log:listening', START_TIMEOUT_MS);
      const dashboard = waitFor(tracker, 'log:dashboard listening', START_TIMEOUT_MS);
      try {
        const [l, d] = await Promise.all([listening, dashboard]);
        this.trackerPort = Number(l['port']);
        this.url = String(d['url']);
        return;
      } catch (err) {
        // Someone took the default port between our look and the tracker's bind.
        if (explicit || httpPort === 0 || attempt > 1 || tracker.running()) throw err;
        this.procs.splice(this.procs.indexOf(tracker), 1);
        httpPort = 0;
      }
    }
  }

  private spawn(name: string, args: string[]): Proc {
    const p = launch(name, args);
    this.procs.push(p);
    void p.exited.then(({ code, signal }) => {
      // While starting, run() is waiting on this process and reports the failure itself.
      if (this.stopping || !this.started) return;
      const view = this.peers.find((v) => v.name === name);
      if (view) view.state = 'failed';
      const err = p.events.filter((e) => e['event'] === 'error').pop();
      this.say(`${name} exited unexpectedly (${code ?? signal})${err ? `: ${String(err['message'])}` : ''}\n${tail(p)}`);
      void this.shutdown(1);
    });
    p.on('error', (e) => {
      if (!this.stopping) this.say(`${name}: error: ${String(e['message'])}`);
    });
    return p;
  }

  private startLeecher(view: PeerView, args: string[], md5: string): void {
    view.state = 'starting';
    view.startAt = this.now();
    const p = this.spawn(view.name, [...args, '--get', md5, '--up-rate', String(this.config.leecherRate)]);
    p.on('started', (e) => {
      view.parts = Number(e['parts']);
      view.have = Number(e['have']);
      if (view.state === 'starting') view.state = 'downloading';
    });
    p.on('part', (e) => {
      view.have = Math.max(view.have, Number(e['have']));
      view.parts = Number(e['parts']);
    });
    p.on('complete', (e) => {
      if (e['md5'] !== md5 || view.state === 'complete') return;
      view.state = 'complete';
      view.have = view.parts;
      view.completeAt = this.now();
      view.took = Number(e['seconds']);
      this.say(`${view.name} ${view.ip4} complete at ${view.completeAt.toFixed(1)} s (took ${view.took.toFixed(1)} s)`);
      this.onComplete();
    });
  }

  private onComplete(): void {
    const leechers = this.peers.filter((p) => p.role === 'leecher');
    if (!leechers.every((p) => p.state === 'complete')) return;
    this.tick();
    this.screen.release();
    this.say(summary(this.peers, this.config.size, this.url).join('\n'));
    if (this.config.exitWhenDone) void this.shutdown(0);
    else this.say('Ctrl-C to stop.');
  }

  /** Polls the tracker's JSON API for the file's holders and complete copies. */
  async pollTracker(): Promise<void> {
    while (!this.stopping) {
      if (this.url && this.md5) {
        try {
          const [summaryReply, fileReply] = await Promise.all([
            fetch(new URL('api/summary', this.url), { signal: AbortSignal.timeout(2000) }),
            fetch(new URL(`api/files/${this.md5}`, this.url), { signal: AbortSignal.timeout(2000) }),
          ]);
          const s = (await summaryReply.json()) as { peers?: number };
          const f = (await fileReply.json()) as { holders?: number; completeCopies?: number };
          this.tracker = { peers: Number(s.peers ?? 0), holders: Number(f.holders ?? 0), completeCopies: Number(f.completeCopies ?? 0) };
        } catch {
          /* the next round will tell */
        }
      }
      await sleep(1000);
    }
  }

  /** A failure while starting: say why, then stop (unless already stopping: then it is only the stop's echo). */
  fail(err: unknown): void {
    if (!this.stopping) this.say(`demo failed: ${(err as Error)?.message ?? String(err)}`);
    void this.shutdown(1);
  }

  /** Stops every child (peers first, then the tracker), checks none is left, removes the temp dir. Idempotent. */
  shutdown(code: number): Promise<number> {
    this.stopping ??= (async () => {
      if (this.ticker) clearInterval(this.ticker);
      this.ticker = null;
      for (const v of this.peers) if (v.state === 'waiting' || v.state === 'starting' || v.state === 'downloading') v.state = 'stopped';
      this.tick();
      this.screen.release();
      const peers = this.procs.filter((p) => p.name !== 'tracker');
      await Promise.all(peers.map((p) => stop(p, ['SIGTERM', 'SIGTERM'], PEER_GRACE_MS)));
      await Promise.all(this.procs.filter((p) => p.name === 'tracker').map((p) => stop(p, ['SIGTERM'], TRACKER_GRACE_MS)));
      const pids = this.procs.map((p) => p.pid);
      const left = await survivors(pids);
      let exit = code;
      if (left.length) {
        process.stdout.write(`WARNING: processes still running: ${left.join(', ')}\n`);
        exit = 1;
      }
      try {
        rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
        process.stdout.write(`stopped ${pids.length} processes (pids ${pids.join(' ')}), none left; removed ${this.root}\n`);
      } catch (err) {
        process.stdout.write(`could not remove ${this.root}: ${(err as Error).message}\n`);
        exit = 1;
      }
      this.resolveDone(exit);
      return exit;
    })();
    return this.stopping;
  }
}

/** 24MiB, 5MB or 12345B: for the generated file's name. */
function sizeLabel(size: number): string {
  if (size % 2 ** 20 === 0) return `${size / 2 ** 20}MiB`;
  if (size % 1e6 === 0) return `${size / 1e6}MB`;
  return `${size}B`;
}

/** Fails early, with a clear message, if the peer CLI lost a flag the demo passes. */
function checkPeerFlags(): void {
  const help = spawnSync(process.execPath, [CLI, 'peer', '--help'], { encoding: 'utf8', timeout: START_TIMEOUT_MS });
  // A help that never finished says nothing about the flags: say that, not "flag missing".
  if (help.error) throw new Error(`\`bugtorrent peer --help\` did not finish within ${START_TIMEOUT_MS} ms: ${help.error.message}`);
  const text = `${help.stdout ?? ''}${help.stderr ?? ''}`;
  const missing = PEER_FLAGS.filter((f) => !new RegExp(`(^|[\\s,])${f}[\\s=<]`, 'm').test(text));
  if (missing.length) throw new Error(`bugtorrent peer has no ${missing.join(', ')} (see \`bugtorrent peer --help\`); has the CLI been built (npx tsc -p .)?`);
}

async function main(argv: string[]): Promise<number> {
  let config: DemoConfig | null;
  try {
    config = parseDemoArgs(argv);
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${DEMO_HELP}\n`);
    return 2;
  }
  if (config === null) {
    process.stdout.write(`${DEMO_HELP}\n`);
    return 0;
  }
  const demo = new Demo(config);
  demo.installSignals();
  void demo.pollTracker();
  demo.run().catch((err: unknown) => {
    demo.fail(err);
  });
  return demo.done;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`demo: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
