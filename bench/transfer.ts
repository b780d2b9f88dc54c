/**
 * `npm run bench:transfer`: one seeder and one leecher (real processes, loopback,
 * no limits) move one random file; beside it, a plain TCP copy of the same bytes
 * between two Node processes (file -> socket -> file). Prints MB/s for both and
 * the ratio.
 *
 * Ours is timed from the leecher's `ready` to its `complete` event: LOOK, FCHU,
 * every RETP, positional writes, the md5 check and the rename. The TCP copy is
 * timed by the receiver from the accepted connection to the last byte on disk.
 *
 * Usage: npm run bench:transfer -- [--size 256MiB] [--part-size 262144] [--dir /dev/shm] [--json] [--keep]
 *        [--leecher-args '--max-per-peer 8 --max-in-flight 16']  (extra flags for the leecher, for tuning)
 *        [--profile DIR]  (the leecher runs under `node --cpu-prof`; its .cpuprofile lands in DIR)
 *        [--leecher-node-args '--perf-basic-prof']  (flags for node itself running the leecher, e.g. for `perf record -p`)
 * (--dir: where the files go; a tmpfs such as /dev/shm takes the disk out of the comparison)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parseRate } from '../src/units.js';
import { startTracker } from '../src/tracker/index.js';
import { CliProcess } from '../test/support/process.js';
import { cpuSeconds, writeRandomFile } from '../scripts/lib/processes.js';


const RECEIVER = `
import { createServer } from 'node:net';
import { createWriteStream } from 'node:fs';
const out = process.argv[1];
const server = createServer((socket) => {
  const t0 = performance.now();
  let bytes = 0;
  socket.on('data', (c) => { bytes += c.length; });
  const file = createWriteStream(out, { highWaterMark: 1 << 20 });
  socket.pipe(file);
  file.on('finish', () => {
    process.stdout.write(JSON.stringify({ bytes, ms: performance.now() - t0 }) + '\\n');
    server.close();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
`;

const SENDER = `
import { connect } from 'node:net';
import { createReadStream } from 'node:fs';
const [file, port] = process.argv.slice(1);
const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.2' }, () => {
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(socket);
});
`;

const cpuSpent = (before: number, after: number): number | null => (Number.isNaN(before) || Number.isNaN(after) ? null : +(after - before).toFixed(2));

function nodeScript(code: string, args: string[]) {
  return spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function tcpCopy(file: string, out: string): Promise<{ bytes: number; ms: number; cpu: number | null }> {
  const receiver = nodeScript(RECEIVER, [out]);
  const lines = createInterface({ input: receiver.stdout! })[Symbol.asyncIterator]();
  const first = JSON.parse((await lines.next()).value as string) as { port: number };
  const receiverBefore = cpuSeconds(receiver.pid);
  const sender = nodeScript(SENDER, [file, String(first.port)]);
  const result = JSON.parse((await lines.next()).value as string) as { bytes: number; ms: number };
  // The sender's CPU includes its start-up (about 0.05 s); the receiver's is from its first byte.
  const senderCpu = cpuSeconds(sender.pid);
  const receiverCpu = cpuSpent(receiverBefore, cpuSeconds(receiver.pid));
  sender.kill();
  receiver.kill();
  return { ...result, cpu: Number.isNaN(senderCpu) || receiverCpu === null ? null : +(senderCpu + receiverCpu).toFixed(2) };
}

async function ours(file: string, dir: string, partSize: number, leecherArgs: string[], profileDir: string | undefined, nodeFlags: string[]): Promise<{ ms: number; transferMs: number; verifyMs: number; md5: string; leecherCpu: number | null; seederCpu: number | null }> {
  const tracker = await startTracker({ host: '127.0.0.1', port: 0, dbPath: ':memory:' });
  const procs: CliProcess[] = [];
  try {
    const common = ['--tracker', `127.0.0.1:${tracker.port}`, '--ip6', '::1', '--port', '0', '--json', '--log-level', 'warn'];
    const seeder = new CliProcess(['peer', ...common, '--ip4', '127.0.0.2', '--dir', join(dir, 'seed'), '--share', file, '--part-size', String(partSize)]);
    procs.push(seeder);
    const shared = await seeder.waitForEvent('shared', () => true, 600_000);
    const md5 = shared['md5'] as string;
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : nodeFlags;
    const leecher = new CliProcess(['peer', ...common, '--ip4', '127.0.0.3', '--dir', join(dir, 'leech'), '--get', md5, '--exit-when-done', ...leecherArgs], { nodeArgs });
    procs.push(leecher);
    await leecher.waitForEvent('ready', () => true, 60_000);
    const leecherBefore = cpuSeconds(leecher.child.pid);
    const seederBefore = cpuSeconds(seeder.child.pid);
    const t0 = performance.now();
    let tStarted = 0;
    let tLastPart = 0;
    let seen = leecher.stdoutLines.length;
    // Every line read so far (one 'data' may carry several); CliProcess parsed them first.
    leecher.child.stdout!.on('data', () => {
      const now = performance.now();
      for (; seen < leecher.stdoutLines.length; seen++) {
        const event = leecher.stdoutLines[seen]?.['event'];
        if (event === 'started' && !tStarted) tStarted = now;
        if (event === 'part') tLastPart = now;
      }
    });
    await leecher.waitForEvent('complete', () => true, 600_000);
    const ms = performance.now() - t0;
    const end = performance.now();
    const leecherCpu = cpuSpent(leecherBefore, cpuSeconds(leecher.child.pid));
    const seederCpu = cpuSpent(seederBefore, cpuSeconds(seeder.child.pid));
    // The profile is written when the leecher exits by itself (--exit-when-done), not when killed.
    if (profileDir) await leecher.exited;
    return { ms, transferMs: (tLastPart || end) - (tStarted || t0), verifyMs: end - (tLastPart || end), md5, leecherCpu, seederCpu };
  } finally {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await tracker.close();
  }
}

const words = (s: string | undefined): string[] => (s ? s.split(/\s+/).filter(Boolean) : []);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { size: { type: 'string', default: '256MiB' }, 'part-size': { type: 'string', default: '262144' }, json: { type: 'boolean', default: false }, dir: { type: 'string' }, 'leecher-args': { type: 'string' }, profile: { type: 'string' }, 'leecher-node-args': { type: 'string' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write('bench:transfer: one seeder and one leecher on loopback vs a plain TCP copy of the same file\n\n  npm run bench:transfer -- [--size 256MiB] [--part-size 262144] [--dir /dev/shm] [--json] [--keep]\n                            [--profile DIR] [--leecher-args "..."] [--leecher-node-args "..."]\n');
    return;
  }
  const size = parseRate(values.size!);
  const partSize = parseRate(values['part-size']!);
  const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'bugtorrent-bench-'));
  try {
    const file = join(dir, 'payload.bin');
    writeRandomFile(file, size);
    const tcp = await tcpCopy(file, join(dir, 'tcp-copy.bin'));
    if (tcp.bytes !== size) throw new Error(`TCP copy moved ${tcp.bytes} of ${size} bytes`);
    const run = await ours(file, dir, partSize, words(values['leecher-args']), values.profile, words(values['leecher-node-args']));
    const mb = size / 1e6;
    const result = {
      size,
      ours_mbps: +(mb / (run.ms / 1000)).toFixed(1),
      ours_transfer_only_mbps: +(mb / (run.transferMs / 1000)).toFixed(1),
      ours_after_last_part_seconds: +(run.verifyMs / 1000).toFixed(3),
      tcp_mbps: +(mb / (tcp.ms / 1000)).toFixed(1),
      ratio: +((tcp.ms / run.ms)).toFixed(3),
      ours_seconds: +(run.ms / 1000).toFixed(3),
      tcp_seconds: +(tcp.ms / 1000).toFixed(3),
      ours_cpu_seconds: { leecher: run.leecherCpu, seeder: run.seederCpu },
      tcp_cpu_seconds: tcp.cpu,
    };
    const cpu = (s: number | null): string => (s === null ? '   n/a' : `${s.toFixed(2).padStart(6)} s`);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(
        [
          `bench:transfer  ${(size / 2 ** 20).toFixed(0)} MiB, part ${partSize} B, loopback, no limits`,
          `  ours (ready -> complete, incl. md5 check)  ${result.ours_mbps.toFixed(1).padStart(8)} MB/s  ${result.ours_seconds.toFixed(2)} s`,
          `  ours (first to last part, no md5 tail)     ${result.ours_transfer_only_mbps.toFixed(1).padStart(8)} MB/s`,
          `  ours last part -> complete (md5 rest, rename) ${result.ours_after_last_part_seconds.toFixed(2).padStart(5)} s`,
          `  plain TCP copy, file -> file               ${result.tcp_mbps.toFixed(1).padStart(8)} MB/s  ${result.tcp_seconds.toFixed(2)} s`,
          `  ratio ours / TCP                           ${result.ratio.toFixed(3).padStart(8)}`,
          `  CPU: leecher ${cpu(run.leecherCpu)}, seeder ${cpu(run.seederCpu)}; TCP copy (both ends) ${cpu(tcp.cpu)}`,
          '',
        ].join('\n'),
      );
    }
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:transfer: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
