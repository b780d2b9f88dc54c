/**
 * `npm run bench:fchu`: what one FCHU costs a real tracker when a file has many
 * holders, with every holder listed (--max-holders 0, the old behaviour) and
 * with bounded answers (src/tracker/holders-sample.ts). The tracker runs in
 * this process on 127.0.0.1 (port 0) with the memory store preloaded: `--peers`
 * sessions holding random halves of a file of `--parts` parts (one seed holds
 * it all). A closed loop of `--concurrency` connections, one FCHU each (the
 * server closes after its reply), for `--seconds` per mode.
 *
 *   node dist/bench/fchu.js [--peers 1000] [--parts 4096] [--bound 50] [--seconds 3] [--concurrency 16] [--json]
 *
 * Reference: the unbounded answer. Printed: bytes per answer, answers/s, the
 * egress that makes, and the ratio bounded / unbounded.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { numberArg } from '../scripts/lib/args.js';
import { seededRandom } from '../scripts/lib/random.js';
import { formatTable } from './swarm.js';
import { encodeMessage, fullBitmap, emptyBitmap, setPart } from '../src/protocol/index.js';
import { MemoryData, MemoryStore, startTracker } from '../src/tracker/index.js';

const HOST = '127.0.0.1';
const MD5 = 'c'.repeat(32);

function preload(peers: number, parts: number): { data: MemoryData; requester: string } {
  const data = new MemoryData();
  const random = seededRandom(42);
  const partLength = 262_144;
  data.files.set(MD5, { md5: MD5, fileName: 'big.bin', fileLength: parts * partLength, partLength, parts });
  for (let i = 0; i < peers; i++) {
    const id = (i + 1).toString(16).toUpperCase().padStart(16, '0');
    data.sessions.set(id, { id, ip4: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, ip6: `fd99:0000:0000:0000:0000:0000:0000:${(i & 0xffff).toString(16).padStart(4, '0')}`, port: 5000, since: 0, lastSeen: 0 });
    let bm: Buffer;
    if (i === 0) {
      bm = fullBitmap(parts);
      data.adders.set(`${id} ${MD5}`, { sessionId: id, md5: MD5 });
    } else {
      bm = emptyBitmap(parts);
      for (let p = 0; p < parts; p++) if (random() < 0.5) setPart(bm, p);
    }
    data.ownership.set(`${id} ${MD5}`, { sessionId: id, md5: MD5, bitmap: bm });
  }
  return { data, requester: '2'.padStart(16, '0') };
}

/** One FCHU on a new connection; the answer's bytes, and whether it was whole (its #hitpeer says how long it must be). */
function fchuOnce(port: number, request: Buffer, perHolder: number): Promise<{ bytes: number; whole: boolean }> {
  return new Promise((resolve, reject) => {
    const head: Buffer[] = [];
    let bytes = 0;
    const s = connect({ host: HOST, port, noDelay: true }, () => s.end(request));
    s.on('data', (c: Buffer) => {
      if (bytes < 7) head.push(c);
      bytes += c.length;
    });
    s.on('close', () => {
      const h = Buffer.concat(head);
      const count = Number(h.subarray(4, 7).toString('latin1'));
      resolve({ bytes, whole: h.subarray(0, 4).toString('latin1') === 'AFCH' && bytes === 7 + count * perHolder });
    });
    s.on('error', reject);
  });
}

async function measure(maxHolders: number, o: { peers: number; parts: number; seconds: number; concurrency: number }) {
  const { data, requester } = preload(o.peers, o.parts);
  const tracker = await startTracker({ host: HOST, port: 0, store: new MemoryStore(data), maxHolders });
  try {
    const request = encodeMessage({ command: 'FCHU', sessionId: requester, md5: MD5 });
    const perHolder = 55 + 5 + Math.ceil(o.parts / 8);
    for (let i = 0; i < 20; i++) await fchuOnce(tracker.port, request, perHolder); // warm-up
    let answers = 0;
    let bytes = 0;
    let short = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + o.seconds * 1000;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (performance.now() < end) {
          const a = await fchuOnce(tracker.port, request, perHolder);
          bytes += a.bytes;
          answers++;
          if (!a.whole) short++;
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return { maxHolders, answers, short, bytesPerAnswer: bytes / answers, answersPerSec: answers / secs, egressPerSec: bytes / secs, cpuUsPerAnswer: ((cpu.user + cpu.system) / answers) };
  } finally {
    await tracker.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      peers: { type: 'string', default: '1000' },
      parts: { type: 'string', default: '4096' },
      bound: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) {
    process.stdout.write('bench:fchu: the cost of one FCHU on a real tracker, every holder vs bounded answers\n\n  node dist/bench/fchu.js [--peers 1000] [--parts 4096] [--bound 50] [--seconds 3] [--concurrency 16] [--json]\n');
    return;
  }
  const o = {
    peers: numberArg('--peers', v.peers!, 2, 100_000, true),
    parts: numberArg('--parts', v.parts!, 1, 1 << 20, true),
    seconds: numberArg('--seconds', v.seconds!, 0.1, 600, false),
    concurrency: numberArg('--concurrency', v.concurrency!, 1, 512, true),
  };
  const bound = numberArg('--bound', v.bound!, 1, 999, true);
  const all = await measure(0, o);
  const bounded = await measure(bound, o);
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ ...o, unbounded: all, bounded })}\n`);
    return;
  }
  const row = (label: string, r: typeof all) => [label, String(Math.round(r.bytesPerAnswer)), String(Math.round(r.answersPerSec)), `${(r.egressPerSec / 1e6).toFixed(1)} MB/s`, String(Math.round(r.cpuUsPerAnswer)), `${r.short} of ${r.answers}`];
  process.stdout.write(
    `FCHU on a real tracker: ${o.peers} holders x ${o.parts} parts, ${o.concurrency} connections, ${o.seconds} s each (client and server share this process)\n\n` +
      `${formatTable(['answer', 'bytes/answer', 'answers/s', 'egress', 'CPU µs/answer', 'cut short'], [
        row('every holder (reference)', all),
        row(`bounded, --max-holders ${bound}`, bounded),
        ['ratio bounded / every', (bounded.bytesPerAnswer / all.bytesPerAnswer).toFixed(3), (bounded.answersPerSec / all.answersPerSec).toFixed(2), '', (bounded.cpuUsPerAnswer / all.cpuUsPerAnswer).toFixed(3), ''],
      ])}\n`,
  );
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`bench:fchu: ${(err as Error)?.stack ?? err}\n`);
  process.exitCode = 1;
});
