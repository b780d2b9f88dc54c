/**
 * `npm run bench:tracker`: how many one-request-per-connection FCHU and RPAD
 * requests a tracker child process serves, against a reference: a plain Node
 * TCP server (also a child) that reads a request of the same length and
 * writes a fixed reply of the same size, i.e. the physical limit of this
 * machine for one connection per request, with the same client.
 *
 *   node dist/bench/tracker.js [--seconds 3] [--warmup 0.5] [--concurrency 32] [--client auto|c|node] [--json]
 *                              [--only FCHU|RPAD] [--no-reference] [--flood N]
 *
 * `--flood N` adds a table: good FCHUs (one per connection, Node client, 8 at a
 * time from 127.0.0.20-23) without and then during a flood of N idle
 * connections from 127.0.0.2-5, each reopened as soon as the tracker closes it
 * (test/support/flood.ts, in a child process; at most 4 × N opened): how many
 * were answered, and how long they waited.
 *
 * The client is bench/loadgen.c (epoll, one thread, closed loop: `concurrency`
 * connections in flight, one request each), compiled with `cc -O2` into a
 * temporary directory at every run; without a C compiler (or with
 * `--client node`) it is a Node client, which costs about as much CPU per
 * connection as the server and so caps what can be measured on a small machine.
 * The tracker runs as deployed: SQLite store (RPAD committed before its reply)
 * and the dashboard (metrics hooks) on a free port.
 *
 * Each run is preceded by an unmeasured warm-up (JIT, socket buffers). With a
 * closed loop, mean latency = concurrency / throughput (Little's law): keep
 * concurrency low enough for the latency target at the throughput measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Message, type PeerAddress, encodeMessage } from '../src/protocol/index.js';
// The flood generator the tests use (one helper for one job).
import { flood } from '../test/support/flood.js';
import { buildLoadgen, runLoadgen } from './loadgen.js';
import { cpuSeconds } from '../scripts/lib/processes.js';

const HOST = '127.0.0.1';
// BENCH_TRACKER_CLI=/path/to/bin/bugtorrent.js benchmarks another build (before/after comparisons).
const CLI = process.env['BENCH_TRACKER_CLI'] ?? fileURLToPath(new URL('../../bin/bugtorrent.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

const USAGE = `bench:tracker: FCHU and RPAD requests/s, one TCP connection per request, vs a plain Node TCP server with a reply of the same size

  node dist/bench/tracker.js [--seconds 3] [--warmup 0.5] [--concurrency 32] [--client auto|c|node] [--json]
                             [--only FCHU|RPAD] [--no-reference] [--flood N]
`;

// ---- The reference server (run as a child: `tracker.js --reference-server REQ REPLY`) -----
if (process.argv[2] === '--reference-server') {
  const requestLength = Number(process.argv[3]);
  const reply = Buffer.alloc(Number(process.argv[4]), 0x41);
  const server = createServer({ noDelay: true }, (socket) => {
    let got = 0;
    socket.on('data', (c) => {
      got += c.length;
      while (got >= requestLength) {
        got -= requestLength;
        socket.write(reply);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  server.listen({ host: HOST, port: 0 }, () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
  process.on('SIGTERM', () => process.exit(0));
} else if (process.argv[2] === '--flood-child') {
  // The flood runs in its own process (`tracker.js --flood-child PORT N`), so that the
  // good client's event loop is not the attacker's too. Prints its counts when told to stop.
  const attack = flood({ host: HOST, port: Number(process.argv[3]), from: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], connections: Number(process.argv[4]), maxOpened: Number(process.argv[4]) * 4 });
  const report = setInterval(() => process.stdout.write(`${JSON.stringify(attack.stats)}\n`), 100);
  process.on('SIGTERM', () => {
    clearInterval(report);
    process.stdout.write(`${JSON.stringify(attack.stats)}\n`);
    void attack.stop().then(() => process.exit(0));
  });
} else {
  await main();
}

interface Options {
  seconds: number;
  warmup: number;
  concurrency: number;
  json: boolean;
  client: 'auto' | 'c' | 'node';
  /** Run only these requests (profiling one path); default both. */
  only: ReadonlySet<string>;
  /** Skip the reference server (profiling the tracker alone). */
  reference: boolean;
  /** Connections of the flood for the flood table; 0: no flood table. */
  flood: number;
}


/** Parses the command line; `null` means --help was asked. */
function parseArgs(argv: string[]): Options | null {
  const o: Options = { seconds: 3, warmup: 0.5, concurrency: 32, json: false, client: 'auto', only: new Set(['FCHU', 'RPAD']), reference: true, flood: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return null;
    if (a === '--json') o.json = true;
    else if (a === '--no-reference') o.reference = false;
    else if (a === '--only') {
      const what = (argv[++i] ?? '').toUpperCase();
      if (what !== 'FCHU' && what !== 'RPAD') throw new Error('--only must be FCHU or RPAD');
      o.only = new Set([what]);
    } else if (a === '--client') {
      const c = argv[++i];
      if (c !== 'auto' && c !== 'c' && c !== 'node') throw new Error('--client must be auto, c or node');
      o.client = c;
    }
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else if (a === '--flood') o.flood = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.warmup >= 0)) throw new Error('--warmup must be 0 or more seconds');
  if (!(o.seconds > 0) || !(o.concurrency >= 1)) throw new Error('--seconds and --concurrency must be positive');
  if (!Number.isInteger(o.flood) || o.flood < 0 || o.flood > 15_000) throw new Error('--flood must be an integer in 0..15000');
  return o;
}

/** Spawns a child and resolves with the first JSON line matching `pick` on stdout or stderr. */
function spawnWaiting(args: string[], pick: (l: Record<string, unknown>) => number | undefined): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        try {
          const port = pick(JSON.parse(line) as Record<string, unknown>);
          if (port !== undefined) resolve({ child, port });
        } catch {
          /* not JSON */
        }
      });
    }
    child.once('exit', (code) => reject(new Error(`child ${args.join(' ')} exited with ${code}`)));
  });
}

/** One request on one connection; resolves when `replyLength` bytes came back. */
function once(port: number, request: Buffer, replyLength: number, localAddress?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, noDelay: true, localAddress });
    let got = 0;
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c) => {
      got += c.length;
      if (got >= replyLength) {
        socket.destroy();
        if (got === replyLength) resolve();
        else reject(new Error(`reply of ${got} bytes, expected ${replyLength}`));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (got < replyLength) reject(new Error(`closed after ${got} of ${replyLength} bytes`));
    });
  });
}

/** A pipelined exchange for setup (many requests, many replies, one connection). */
function setup(port: number, requests: Buffer[], replyLength: (i: number) => number): Promise<Buffer> {
  const total = requests.reduce((n, _r, i) => n + replyLength(i), 0);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    const chunks: Buffer[] = [];
    let got = 0;
    socket.on('connect', () => socket.write(Buffer.concat(requests)));
    socket.on('data', (c) => {
      chunks.push(c);
      got += c.length;
      if (got >= total) {
        socket.end();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', reject);
  });
}

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  serverCpuUsPerRequest: number;
  /** The load generator's own CPU per request (C client only). */
  clientCpuUsPerRequest?: number;
  firstError?: string | null;
}

/**
 * The C client: `requests` (equal lengths) are used in turn. It does its own
 * warm-up and reads the server's CPU time from /proc at the edges of the
 * measured window. Bounded: warm-up + seconds + at most 2 s to drain.
 */
function driveC(loadgen: string, dir: string, server: ChildProcess, port: number, requests: Buffer[], replyLength: number, expect: string | null, o: Options): Promise<Result> {
  const requestLength = requests[0]!.length;
  if (requests.some((r) => r.length !== requestLength)) throw new Error('requests must have one length');
  const file = join(dir, 'requests.bin');
  writeFileSync(file, Buffer.concat(requests));
  const args = [
    '--host', HOST, '--port', String(port), '--seconds', String(o.seconds), '--warmup', String(o.warmup),
    '--concurrency', String(o.concurrency), '--reply-len', String(replyLength), '--request-len', String(requestLength),
    '--requests', file, '--pid', String(server.pid ?? 0),
    ...(expect ? ['--expect', expect] : []),
  ];
  return runLoadgen(loadgen, args, (o.warmup + o.seconds + 30) * 1000).then((r) => {
    const nan = (n: number): number => (n < 0 ? NaN : n);
    return {
      requests: r.requests,
      errors: r.errors,
      seconds: r.seconds,
      rps: r.rps,
      p50: nan(r.p50),
      p99: nan(r.p99),
      serverCpuUsPerRequest: nan(r.serverCpuUsPerRequest),
      clientCpuUsPerRequest: r.clientCpuUsPerRequest,
      firstError: r.firstError,
    };
  });
}

/** Runs `concurrency` client loops for `seconds`; each iteration is one connection, one request. */
async function drive(server: ChildProcess, port: number, next: () => Buffer, replyLength: number, o: Options): Promise<Result> {
  if (o.warmup > 0) await measure(server, port, next, replyLength, { ...o, seconds: o.warmup });
  return measure(server, port, next, replyLength, o);
}

async function measure(server: ChildProcess, port: number, next: () => Buffer, replyLength: number, o: Options): Promise<Result> {
  const latencies: number[] = [];
  const cpuBefore = cpuSeconds(server.pid);
  let errors = 0;
  const started = performance.now();
  const stopAt = started + o.seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const t = performance.now();
      try {
        await once(port, next(), replyLength);
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const serverCpuUsPerRequest = ((cpuSeconds(server.pid) - cpuBefore) * 1e6) / Math.max(1, latencies.length);
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), serverCpuUsPerRequest };
}

interface GoodResult {
  sent: number;
  answered: number;
  seconds: number;
  p99: number;
}

/** Good FCHUs for `seconds`, 8 at a time, one per connection from 127.0.0.20-23; each bounded to 10 s. */
async function goodRequests(port: number, request: Buffer, replyLength: number, seconds: number): Promise<GoodResult> {
  const latencies: number[] = [];
  let sent = 0;
  const started = performance.now();
  const stopAt = started + seconds * 1000;
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < stopAt) {
      sent++;
      const t = performance.now();
      const bounded = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('no reply within 10 s')), 10_000).unref());
      try {
        await Promise.race([once(port, request, replyLength, `127.0.0.${20 + (w % 4)}`), bounded]);
        latencies.push(performance.now() - t);
      } catch {
        /* counted as not answered */
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  latencies.sort((a, b) => a - b);
  return { sent, answered: latencies.length, seconds: (performance.now() - started) / 1000, p99: latencies[Math.floor(0.99 * (latencies.length - 1))] ?? NaN };
}

/** Good requests without, then during, a flood of `connections` idle connections from 127.0.0.2-5. */
async function floodTable(port: number, request: Buffer, replyLength: number, o: Options): Promise<{ calm: GoodResult; flooded: GoodResult; opened: number }> {
  const calm = await goodRequests(port, request, replyLength, o.seconds);
  const child = spawn(process.execPath, [SELF, '--flood-child', String(port), String(o.flood)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stats = { opened: 0, closed: 0, open: 0 };
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      stats = JSON.parse(l) as typeof stats;
    } catch {
      /* not JSON */
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = performance.now() + 30_000;
    while (stats.open + stats.closed < o.flood && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const flooded = await goodRequests(port, request, replyLength, o.seconds);
    return { calm, flooded, opened: stats.opened };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === null) {
    process.stdout.write(USAGE);
    return;
  }
  const o = parsed;
  const dir = mkdtempSync(join(tmpdir(), 'bugtorrent-bench-'));
  const children: ChildProcess[] = [];
  try {
    const loadgen = o.client === 'node' ? null : buildLoadgen(dir);
    if (o.client === 'c' && loadgen === null) throw new Error('--client c: no C compiler');
    // BENCH_TRACKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the tracker child.
    const nodeArgs = (process.env['BENCH_TRACKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const tracker = await spawnWaiting(
      [...nodeArgs, CLI, 'tracker', '--host', HOST, '--port', '0', '--db', join(dir, 'bench.db'), '--log-level', 'info', '--max-connections', '4096', '--http-port', '0'],
      (l) => (l['msg'] === 'listening' ? (l['port'] as number) : undefined),
    );
    children.push(tracker.child);
    const port = tracker.port;

    // State: PEERS sessions; one file of PARTS parts added by the first; HOLDERS of them hold some parts.
    const PEERS = 256;
    const PARTS = 4096; // a 1 GiB file at 256 KiB parts: 512-byte bitmaps
    const HOLDERS = 8;
    const md5 = 'be0c'.padEnd(32, '0');
    const address = (i: number): PeerAddress => ({ ip4: `10.${(i >> 8) & 255}.${i & 255}.1`, ip6: `fd00::${(i + 1).toString(16)}` });
    const enc = (m: Message): Buffer => encodeMessage(m);
    const logins = await setup(port, Array.from({ length: PEERS }, (_, i) => enc({ command: 'LOGI', address: address(i), port: 5000 })), () => 20);
    const ids = Array.from({ length: PEERS }, (_, i) => logins.toString('latin1', i * 20 + 4, i * 20 + 20));
    await setup(port, [enc({ command: 'ADDR', sessionId: ids[0]!, fileLength: PARTS * 262144, partLength: 262144, fileName: 'bench.iso', md5 })], () => 12);
    await setup(port, Array.from({ length: HOLDERS - 1 }, (_, i) => enc({ command: 'RPAD', sessionId: ids[i + 1]!, md5, part: i })), () => 12);

    const fchuRequest = enc({ command: 'FCHU', sessionId: ids[PEERS - 1]!, md5 });
    const fchuReplyLength = 7 + HOLDERS * (55 + 5 + PARTS / 8);
    // RPAD: every request sets a new part (the write path), cycling sessions then parts.
    let k = 0;
    const rpad = (): Buffer => {
      const i = k++;
      return enc({ command: 'RPAD', sessionId: ids[HOLDERS + (i % (PEERS - HOLDERS))]!, md5, part: Math.floor(i / (PEERS - HOLDERS)) % PARTS });
    };
    const rpadRequestLength = rpad().length;
    k = 0;
    const rpadDistinct = (PEERS - HOLDERS) * PARTS;
    // Enough distinct RPADs for 60 000 req/s over warm-up + run: a repeat would take the idempotent (no-write) path.
    const rpadCount = Math.min(rpadDistinct, Math.ceil(60_000 * (o.seconds + o.warmup)));

    const run = (server: ChildProcess, p: number, requests: Buffer[], next: () => Buffer, replyLength: number, expect: string | null): Promise<Result> =>
      loadgen ? driveC(loadgen, dir, server, p, requests, replyLength, expect, o) : drive(server, p, next, replyLength, o);

    const SKIPPED: Result = { requests: 0, errors: 0, seconds: 0, rps: NaN, p50: NaN, p99: NaN, serverCpuUsPerRequest: NaN };
    const fchu = o.only.has('FCHU') ? await run(tracker.child, port, [fchuRequest], () => fchuRequest, fchuReplyLength, 'AFCH') : SKIPPED;
    // Before the RPADs, which add holders and so lengthen the AFCH.
    const floods = o.flood > 0 ? await floodTable(port, fchuRequest, fchuReplyLength, o) : null;
    const rpadResult = o.only.has('RPAD') ? await run(tracker.child, port, loadgen ? Array.from({ length: rpadCount }, rpad) : [], rpad, 12, 'APAD') : SKIPPED;
    if (loadgen && rpadResult.requests > rpadCount) process.stderr.write(`bench: ${rpadResult.requests} RPADs but only ${rpadCount} distinct ones: some repeated\n`);
    tracker.child.kill('SIGTERM');

    /** The reference server for one request/reply size, driven like the tracker. */
    const reference = async (requestLength: number, replyLength: number): Promise<Result> => {
      const ref = await spawnWaiting([SELF, '--reference-server', String(requestLength), String(replyLength)], (l) => l['port'] as number);
      children.push(ref.child);
      const request = Buffer.alloc(requestLength, 0x42);
      const result = await run(ref.child, ref.port, [request], () => request, replyLength, null);
      ref.child.kill('SIGTERM');
      return result;
    };
    const refF = o.reference && o.only.has('FCHU') ? await reference(fchuRequest.length, fchuReplyLength) : SKIPPED;
    const refR = o.reference && o.only.has('RPAD') ? await reference(rpadRequestLength, 12) : SKIPPED;

    const rows = [
      { name: 'FCHU', ours: fchu, reference: refF, replyBytes: fchuReplyLength },
      { name: 'RPAD', ours: rpadResult, reference: refR, replyBytes: 12 },
    ].filter((r) => o.only.has(r.name));
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({
          bench: 'tracker',
          seconds: o.seconds,
          concurrency: o.concurrency,
          client: loadgen ? 'c' : 'node',
          results: rows.map((r) => ({ request: r.name, replyBytes: r.replyBytes, ours: r.ours, reference: r.reference, ratio: r.ours.rps / r.reference.rps })),
          ...(floods ? { flood: { connections: o.flood, ...floods } } : {}),
        })}\n`,
      );
    } else {
      const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
      const lines = [
        `tracker bench: one connection per request, ${o.concurrency} concurrent connections (${loadgen ? 'C epoll client, bench/loadgen.c' : 'Node client'}), ${o.seconds} s each after ${o.warmup} s of warm-up, reference = plain Node TCP server with a fixed reply of the same size`,
        '',
        '| request | reply B | ours req/s | p50 ms | p99 ms | errors | server CPU µs/req | reference req/s | p50 ms | p99 ms | server CPU µs/req | ours/reference req/s |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...rows.map(
          (r) =>
            `| ${r.name} | ${r.replyBytes} | ${f(r.ours.rps)} | ${f(r.ours.p50, 2)} | ${f(r.ours.p99, 2)} | ${r.ours.errors} | ${f(r.ours.serverCpuUsPerRequest)} | ${f(r.reference.rps)} | ${f(r.reference.p50, 2)} | ${f(r.reference.p99, 2)} | ${f(r.reference.serverCpuUsPerRequest)} | ${f(r.ours.rps / r.reference.rps, 2)} |`,
        ),
      ];
      if (loadgen) {
        const client = rows.map((r) => `${r.name} ${f(r.ours.clientCpuUsPerRequest ?? NaN)} / ${f(r.reference.clientCpuUsPerRequest ?? NaN)}`).join(', ');
        lines.push('', `load generator CPU µs/req (ours / reference): ${client}`);
        const errs = rows.flatMap((r) => [r.ours.firstError, r.reference.firstError]).filter(Boolean);
        if (errs.length > 0) lines.push(`first client errors: ${errs.join('; ')}`);
      }
      if (floods) {
        const row = (name: string, g: GoodResult): string =>
          `| ${name} | ${g.sent} | ${g.answered} | ${f((100 * g.answered) / Math.max(1, g.sent), 1)} % | ${f(g.answered / g.seconds)} | ${f(g.p99, 1)} |`;
        lines.push(
          '',
          `good FCHUs (Node client, 8 at a time from 127.0.0.20-23, ${o.seconds} s each) without and during a flood of ${o.flood} idle connections from 127.0.0.2-5, each reopened when closed (${floods.opened} opened in all)`,
          '',
          '| scenario | good sent | answered | answered % | answered/s | p99 ms |',
          '|---|---:|---:|---:|---:|---:|',
          row('no flood', floods.calm),
          row(`flood of ${o.flood}`, floods.flooded),
        );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
