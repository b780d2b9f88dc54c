/**
 * Building and running bench/loadgen.c, the C load generator (see its header):
 * shared by bench/tracker.ts (closed loop) and bench/dashboard.ts (open loop, --rate).
 */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADGEN_SOURCE = fileURLToPath(new URL('../../bench/loadgen.c', import.meta.url));

/** Compiles bench/loadgen.c into `dir`; null when there is no working `cc` (or the source is missing). */
export function buildLoadgen(dir: string): string | null {
  const out = join(dir, 'loadgen');
  const r = spawnSync('cc', ['-O2', '-o', out, LOADGEN_SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) {
    process.stderr.write(`bench: cannot build the C load generator (${r.error?.message ?? r.stderr.toString().trim()}); using the Node client\n`);
    return null;
  }
  return out;
}

/** The JSON line loadgen prints (latencies in ms, -1 when there were none). */
export interface LoadgenOutput {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  serverCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
  sent: number;
  skipped: number;
  firstError: string | null;
}

/** Runs loadgen with `args` (see its usage), bounded by `timeoutMs`. */
export function runLoadgen(loadgen: string, args: string[], timeoutMs: number): Promise<LoadgenOutput> {
  return new Promise((resolve, reject) => {
    execFile(loadgen, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`loadgen failed: ${err.message} ${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as LoadgenOutput);
    });
  });
}
