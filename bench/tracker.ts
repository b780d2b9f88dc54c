/**
 * `npm run bench:tracker`: how many one-request-per-connection FCHU and RPAD
 * requests a tracker child process serves, against a reference: a plain Node
 * TCP server (also a child) that reads a request of the same length and
 * writes a fixed reply of the same size, i.e. the physical limit of this
 * machine for one connection per request, with the same client.
 *
 *   node dist/bench/tracker.js [--seconds 3] [--warmup 0.5] [--concurrency 64] [--json]
 *
 * Each run is preceded by an unmeasured warm-up (JIT, socket buffers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Message, type PeerAddress, encodeMessage } from '../src/protocol/index.js';

const HOST = '127.0.0.1';
const CLI = fileURLToPath(new URL('../../bin/bugtorrent.js', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

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
} else {
  await main();
}

interface Options { seconds: number; warmup: number; concurrency: number; json: boolean }

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 3, warmup: 0.5, concurrency: 64, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--warmup') o.warmup = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.warmup >= 0)) throw new Error('--warmup must be 0 or more seconds');
  if (!(o.seconds > 0) || !(o.concurrency >= 1)) throw new Error('--seconds and --concurrency must be positive');
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
function once(port: number, request: Buffer, replyLength: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port, noDelay: true });
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

interface Result { requests: number; errors: number; seconds: number; rps: number; p50: number; p99: number; serverCpuUsPerRequest: number }

/** CPU seconds (user + system) a process has used so far, from /proc (NaN where there is no /proc). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100) ticks
  } catch {
    return NaN;
  }
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

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'bugtorrent-bench-'));
  const children: ChildProcess[] = [];
  try {
    // BENCH_TRACKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the tracker child.
    const nodeArgs = (process.env['BENCH_TRACKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const tracker = await spawnWaiting(
      [...nodeArgs, CLI, 'tracker', '--host', HOST, '--port', '0', '--db', join(dir, 'bench.db'), '--log-level', 'info', '--max-connections', '4096'],
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

    const fchu = await drive(tracker.child, port, () => fchuRequest, fchuReplyLength, o);
    const rpadResult = await drive(tracker.child, port, rpad, 12, o);
    tracker.child.kill('SIGTERM');

    const refFchu = await spawnWaiting([SELF, '--reference-server', String(fchuRequest.length), String(fchuReplyLength)], (l) => l['port'] as number);
    children.push(refFchu.child);
    const refF = await drive(refFchu.child, refFchu.port, () => fchuRequest, fchuReplyLength, o);
    refFchu.child.kill('SIGTERM');
    const refRpad = await spawnWaiting([SELF, '--reference-server', String(rpadRequestLength), '12'], (l) => l['port'] as number);
    children.push(refRpad.child);
    const refR = await drive(refRpad.child, refRpad.port, () => Buffer.alloc(rpadRequestLength, 0x42), 12, o);

    const rows = [
      { name: 'FCHU', ours: fchu, reference: refF, replyBytes: fchuReplyLength },
      { name: 'RPAD', ours: rpadResult, reference: refR, replyBytes: 12 },
    ];
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify({
          bench: 'tracker',
          seconds: o.seconds,
          concurrency: o.concurrency,
          results: rows.map((r) => ({ request: r.name, replyBytes: r.replyBytes, ours: r.ours, reference: r.reference, ratio: r.ours.rps / r.reference.rps })),
        })}\n`,
      );
    } else {
      const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
      const lines = [
        `tracker bench: one connection per request, ${o.concurrency} concurrent clients, ${o.seconds} s each after ${o.warmup} s of warm-up, reference = plain Node TCP server with a fixed reply of the same size`,
        '',
        '| request | reply B | ours req/s | p50 ms | p99 ms | errors | server CPU µs/req | reference req/s | p50 ms | p99 ms | server CPU µs/req | ours/reference req/s |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...rows.map(
          (r) =>
            `| ${r.name} | ${r.replyBytes} | ${f(r.ours.rps)} | ${f(r.ours.p50, 2)} | ${f(r.ours.p99, 2)} | ${r.ours.errors} | ${f(r.ours.serverCpuUsPerRequest)} | ${f(r.reference.rps)} | ${f(r.reference.p50, 2)} | ${f(r.reference.p99, 2)} | ${f(r.reference.serverCpuUsPerRequest)} | ${f(r.ours.rps / r.reference.rps, 2)} |`,
        ),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
