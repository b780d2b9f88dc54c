/**
 * Orchestrating real `bugtorrent` processes from a script (the demo; the same
 * ideas as bench/swarm.ts): spawn the CLI, read its `--json` events (stdout) and
 * JSON log lines (stderr), wait for one, and stop it politely, then firmly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** bin/bugtorrent.js, from dist/scripts/lib/. */
export const CLI = fileURLToPath(new URL('../../../bin/bugtorrent.js', import.meta.url));

export type JsonLine = Record<string, unknown>;

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON object seen on stdout (peer `--json` events). */
  readonly events: JsonLine[];
  /** The last lines of stderr, for error reports. */
  readonly stderrTail: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `event` is a stdout event name, or `log:<msg>` for a stderr log line. */
  on(event: string, fn: (e: JsonLine) => void): void;
  running(): boolean;
}

const TAIL = 40;

/**
 * The fields of /proc/<pid>/stat from the third on (state, ppid, ...: proc(5)'s
 * field n is index n - 3), or null where there is no such process or no /proc.
 */
export function procStat(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system, every thread) process `pid` has used so far
 * (utime and stime, fields 14 and 15 of proc(5), in clock ticks of 1/100 s);
 * NaN where there is no such process or no /proc.
 */
export function cpuSeconds(pid: number | undefined): number {
  const fields = pid === undefined ? null : procStat(pid);
  return fields === null ? NaN : (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A stderr line for people: a JSON log line becomes `msg: reason`, other lines stay as they are. */
export function readable(line: string): string {
  try {
    const e = JSON.parse(line) as JsonLine;
    const detail = e['reason'] ?? e['err'] ?? e['message'];
    const text = typeof detail === 'object' && detail !== null ? String((detail as { message?: unknown }).message ?? JSON.stringify(detail)) : detail;
    return `  ${String(e['msg'] ?? '')}${text !== undefined ? `: ${String(text)}` : ''}`;
  } catch {
    return `  ${line}`;
  }
}

/** The last `n` stderr lines of `p`, readable. */
export function tail(p: Proc, n = 5): string {
  return p.stderrTail.slice(-n).map(readable).join('\n');
}

/**
 * Starts `node cli ...args`. `wrap` is a command prefix that execs it, e.g.
 * `['ip', 'netns', 'exec', ns]` (which execs in place, so the PID is node's).
 */
export function launch(name: string, args: string[], cli: string = CLI, wrap: readonly string[] = [], nodeArgs: readonly string[] = []): Proc {
  const argv = [...wrap, process.execPath, ...nodeArgs, cli, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cli}`);
  const listeners: { event: string; fn: (e: JsonLine) => void }[] = [];
  let exitedYet = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedYet = true;
      resolve({ code, signal });
    }),
  );
  const proc: Proc = {
    name,
    child,
    pid: child.pid,
    events: [],
    stderrTail: [],
    exited,
    on: (event, fn) => void listeners.push({ event, fn }),
    running: () => !exitedYet && child.exitCode === null && child.signalCode === null,
  };
  const emit = (event: string, e: JsonLine): void => {
    for (const l of listeners) if (l.event === event) l.fn(e);
  };
  const parse = (line: string): JsonLine | null => {
    if (!line.startsWith('{')) return null;
    try {
      const v: unknown = JSON.parse(line);
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonLine) : null;
    } catch {
      return null;
    }
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = parse(line);
    if (!e) return;
    proc.events.push(e);
    emit(String(e['event']), e);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    proc.stderrTail.push(line);
    if (proc.stderrTail.length > TAIL) proc.stderrTail.shift();
    const e = parse(line);
    if (e) emit(`log:${String(e['msg'])}`, e);
  });
  return proc;
}

/** The first `event` from now on (or an error if the process exits first, or after `timeoutMs`). */
export function waitFor(p: Proc, event: string, timeoutMs: number): Promise<JsonLine> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`${p.name}: no "${event}" within ${timeoutMs} ms\n${tail(p)}`));
    }, timeoutMs);
    p.on(event, (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(e);
    });
    void p.exited.then(({ code, signal }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${p.name} exited (${code ?? signal}) before "${event}"\n${tail(p)}`));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves true if the process exited within `ms`. */
async function exitsWithin(p: Proc, ms: number): Promise<boolean> {
  if (!p.running()) return true;
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return ok;
}

/**
 * Stops a process: each signal of `signals` in turn, waiting `graceMs` after each
 * for it to exit, then SIGKILL. Resolves once it is gone.
 */
export async function stop(p: Proc, signals: NodeJS.Signals[], graceMs: number): Promise<void> {
  for (const signal of signals) {
    if (!p.running()) return;
    p.child.kill(signal);
    if (await exitsWithin(p, graceMs)) return;
  }
  if (p.running()) p.child.kill('SIGKILL');
  await p.exited;
}

/** Is there a process with this pid (ours or not)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits (briefly) until none of `pids` exists; returns those that still do. */
export async function survivors(pids: readonly number[], waitMs = 2000): Promise<number[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(50);
  }
}

/** Can we listen on host:port right now? */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Writes `size` random bytes to `path`; returns their md5 (hex). */
export function writeRandomFile(path: string, size: number): string {
  const hash = createHash('md5');
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const chunk = randomBytes(Math.min(1 << 20, size - done));
      writeSync(fd, chunk);
      hash.update(chunk);
      done += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
