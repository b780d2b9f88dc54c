/**
 * The real `bugtorrent` CLI in a pseudo-terminal, as a person runs it: util-linux
 * `script` gives it a terminal on stdin and stdout; stderr goes to a file, so a
 * test can tell what was printed where. Typed text goes to stdin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './process.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g;

export class TerminalProcess {
  private readonly child: ChildProcess;
  private raw = '';
  private waiters: { pattern: RegExp; resolve: () => void }[] = [];
  readonly exited: Promise<number | null>;
  /** The CLI's own pid (the shell `script` starts execs it). */
  readonly pid: Promise<number>;

  constructor(args: string[], private readonly stderrPath: string, options: { env?: NodeJS.ProcessEnv; cwd?: string; columns?: number } = {}) {
    const command = `echo "PID:$$"; exec ${quote(process.execPath)} ${quote(CLI)} ${args.map(quote).join(' ')} 2>${quote(stderrPath)}`;
    this.child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, COLUMNS: String(options.columns ?? 120), TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.raw += chunk.toString('utf8');
      const text = this.output;
      this.waiters = this.waiters.filter((w) => {
        if (!w.pattern.test(text)) return true;
        w.resolve();
        return false;
      });
    });
    this.pid = new Promise((resolve) => {
      const look = (): void => {
        const m = /PID:(\d+)/.exec(this.raw);
        if (m) resolve(Number(m[1]));
        else this.child.stdout!.once('data', look);
      };
      look();
    });
  }

  /** What the terminal showed, without colours and cursor moves. */
  get output(): string {
    return this.raw.replace(ANSI, '').replace(/^PID:\d+\n/, '');
  }

  get stderr(): string {
    try {
      return readFileSync(this.stderrPath, 'utf8');
    } catch {
      return '';
    }
  }

  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    if (pattern.test(this.output)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in the terminal:\n${this.output}\nstderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({ pattern, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** Polls the stderr file until `pattern` shows (it is a file, not a stream). */
  async waitForStderr(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    for (const end = Date.now() + timeoutMs; !pattern.test(this.stderr); ) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${pattern} on stderr:\n${this.stderr}\nterminal:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  async signal(signal: NodeJS.Signals): Promise<void> {
    process.kill(await this.pid, signal);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null) return;
    try {
      process.kill(await Promise.race([this.pid, new Promise<number>((r) => setTimeout(() => r(-1), 100))]), 'SIGKILL');
    } catch {
      // gone already
    }
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Spawns in a sandbox-like list so an after hook can kill what is left. */
export function terminalIn(list: TerminalProcess[], dir: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): TerminalProcess {
  const t = new TerminalProcess(args, join(dir, `stderr-${list.length}.txt`), options);
  list.push(t);
  return t;
}
