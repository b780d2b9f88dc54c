/**
 * Running the real `bugtorrent` CLI in child processes for integration tests:
 * spawn, read its JSON log lines (stderr) and JSON events (stdout), wait for a
 * line that matches, and make sure every child is gone when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The CLI's path and a JSON line: one definition for tests, benchmarks and the demo.
import { CLI, type JsonLine } from '../../scripts/lib/processes.js';
export { CLI, type JsonLine };

export class CliProcess {
  readonly child: ChildProcess;
  /** Every JSON object seen on stdout (events) and stderr (logs), in order. */
  readonly stdoutLines: JsonLine[] = [];
  readonly stderrLines: JsonLine[] = [];
  readonly rawStderr: string[] = [];
  private waiters: { stream: 'stdout' | 'stderr'; match: (l: JsonLine) => boolean; resolve: (l: JsonLine) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `nodeArgs`: flags for node itself, before the CLI (e.g. `--cpu-prof` for a benchmark's profile). */
  constructor(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: readonly string[] } = {}) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.listen('stdout', this.stdoutLines);
    this.listen('stderr', this.stderrLines);
  }

  private listen(stream: 'stdout' | 'stderr', into: JsonLine[]): void {
    const rl = createInterface({ input: this.child[stream]! });
    rl.on('line', (line) => {
      if (stream === 'stderr') this.rawStderr.push(line);
      let parsed: JsonLine;
      try {
        parsed = JSON.parse(line) as JsonLine;
      } catch {
        return;
      }
      into.push(parsed);
      this.waiters = this.waiters.filter((w) => {
        if (w.stream === stream && w.match(parsed)) {
          w.resolve(parsed);
          return false;
        }
        return true;
      });
    });
  }

  /**
   * Resolves with the first line (already seen or future) on `stream` that matches.
   * The timeout is a liveness bound only: on two cores shared with other work, a
   * dozen children can take well over 20 s just to start.
   */
  waitFor(stream: 'stdout' | 'stderr', match: (l: JsonLine) => boolean, timeoutMs = 60_000): Promise<JsonLine> {
    const seen = (stream === 'stdout' ? this.stdoutLines : this.stderrLines).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for a ${stream} line; stderr so far:\n${this.rawStderr.slice(-20).join('\n')}`));
      }, timeoutMs);
      this.waiters.push({
        stream,
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`process exited (${code ?? signal}) before the line came; stderr:\n${this.rawStderr.slice(-20).join('\n')}`));
      });
    });
  }

  /** Waits for a log line (stderr) whose `msg` equals `msg`. */
  waitForLog(msg: string, timeoutMs?: number): Promise<JsonLine> {
    return this.waitFor('stderr', (l) => l['msg'] === msg, timeoutMs);
  }

  /** Waits for a `--json` event (stdout) named `event`, optionally matching more fields. */
  waitForEvent(event: string, where: (l: JsonLine) => boolean = () => true, timeoutMs?: number): Promise<JsonLine> {
    return this.waitFor('stdout', (l) => l['event'] === event && where(l), timeoutMs);
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/** Tracks children and temp dirs of one test so `cleanup()` (in an after hook) leaves nothing behind. */
export class Sandbox {
  private readonly processes: CliProcess[] = [];
  private readonly dirs: string[] = [];
  private readonly closers: (() => void | Promise<void>)[] = [];

  spawn(args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): CliProcess {
    const p = new CliProcess(args, options);
    this.processes.push(p);
    return p;
  }

  tempDir(prefix = 'bugtorrent-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Something else to close at cleanup (a server the test holds), after the processes. */
  defer(close: () => void | Promise<void>): void {
    this.closers.push(close);
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill('SIGKILL')));
    await Promise.all(this.closers.splice(0).map((close) => close()));
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}
