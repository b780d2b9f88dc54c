/**
 * The interactive prompt of `bugtorrent peer` in a terminal. Progress shows in
 * the prompt itself (`bugtorrent [file 45%]> `), so nothing is ever drawn over
 * what the user is typing; other output is printed above the prompt, which is
 * then redrawn with the typed text intact.
 */
import { homedir } from 'node:os';
import { createInterface } from 'node:readline';
import { ArgumentError } from '../../errors.js';
import type { PeerHandle } from '../../peer/index.js';
import { formatNeighbor } from '../../peer/flood/index.js';
import { type HitGroup, formatHitList, groupHits, parseQuerCommand, resolveHitRef } from './hits.js';
import type { Output, Renderer } from './render.js';
import type { Session } from './session.js';
import { statusText } from './status.js';

const HELP = [
  'share PATH     share a file (~ is your home folder)',
  'search TEXT    search the tracker ("*" lists everything)',
  'quer TEXT [T]  flood a search to neighbouring peers, T hops (also: find); lists the hits',
  'hits           the last flood search\'s hits again',
  'get N | MD5    download hit N of the last flood search, or a file by md5',
  'neighbors      peers flood searches go to',
  'status         downloads, shared files and transfers',
  'logout, quit   log out and leave (twice: leave at once)',
].join('\n');

/** `~` and `~/x` as the shell would expand them. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home}${path.slice(1)}`;
  return path;
}

/** The prompt's text: the progress of each running download, compact. */
export function promptText(peer: PeerHandle): string {
  const running = peer.status().downloads.filter((d) => d.state === 'downloading' || d.state === 'verifying');
  if (running.length === 0) return 'bugtorrent> ';
  const parts = running.slice(0, 3).map((d) => `${(d.name ?? d.md5.slice(0, 8)).slice(0, 16)} ${d.parts ? Math.floor((100 * d.have) / d.parts) : 0}%`);
  return `bugtorrent [${parts.join(', ')}${running.length > 3 ? ', …' : ''}]> `;
}

export class Prompt {
  private readonly rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'bugtorrent> ' });
  private lastHits: HitGroup[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly peer: PeerHandle,
    private readonly session: Session,
    private readonly render: () => Renderer,
  ) {
    this.timer = setInterval(() => this.refresh(), 1000);
    this.timer.unref();
    session.onClose(() => this.close());
  }

  /** Prints above the prompt and redraws it with whatever the user had typed. */
  readonly output: Output = {
    line: (text) => this.above(process.stdout, text),
    error: (text) => this.above(process.stderr, text),
  };

  private above(stream: NodeJS.WriteStream, text: string): void {
    process.stdout.write('\r\x1b[2K');
    stream.write(`${text}\n`);
    this.rl.prompt(true);
  }

  private refresh(): void {
    const next = promptText(this.peer);
    if (next === this.rl.getPrompt()) return;
    this.rl.setPrompt(next);
    process.stdout.write('\r\x1b[2K');
    this.rl.prompt(true);
  }

  private close(): void {
    clearInterval(this.timer);
    this.rl.close();
  }

  async run(): Promise<void> {
    this.rl.on('SIGINT', () => this.session.requestQuit('Ctrl-C'));
    this.output.line('type "help" for commands');
    for await (const line of this.rl) {
      const trimmed = line.trim();
      const [cmd = ''] = trimmed.split(/\s+/);
      const arg = trimmed.slice(cmd.length).trim();
      try {
        if (await this.command(cmd.toLowerCase(), arg)) return;
      } catch (err) {
        this.render().error(err);
      }
      this.rl.prompt();
    }
    // End of input (Ctrl-D): as `quit`.
    this.session.requestQuit('end of input');
  }

  /** Runs one command; true when the prompt is done (quit). */
  private async command(cmd: string, arg: string): Promise<boolean> {
    const say = (text: string): void => this.output.line(text);
    switch (cmd) {
      case '': return false;
      case 'help': say(HELP); return false;
      case 'share':
        if (!arg) throw new ArgumentError('usage: share PATH');
        await this.peer.share(expandHome(arg));
        return false;
      case 'search': {
        const files = await this.peer.search(arg || '*');
        say(files.length === 0 ? 'no files' : files.map((f) => `${f.md5}  ${String(f.fileLength).padStart(12)} B  ${String(f.parts).padStart(6)} parts  ${f.fileName}`).join('\n'));
        return false;
      }
      case 'quer':
      case 'find': {
        const { text, ttl } = parseQuerCommand(arg, this.peer.config.ttl);
        this.lastHits = groupHits(await this.peer.quer(text, { ttl }));
        say(formatHitList(this.lastHits));
        if (this.lastHits.length > 0) say('"get N" downloads hit N');
        return false;
      }
      case 'hits': say(formatHitList(this.lastHits)); return false;
      case 'neighbors':
      case 'neighbours': {
        const list = this.peer.neighbors();
        say(list.length === 0 ? 'no neighbours' : list.map((n) => `  ${formatNeighbor(n)} (${n.source})`).join('\n'));
        return false;
      }
      case 'get': {
        const ref = resolveHitRef(arg.split(/\s+/)[0] ?? '', this.lastHits);
        void (ref.name === null ? this.peer.get(ref.md5) : this.peer.getHit(ref.md5, ref.name));
        return false;
      }
      case 'status': say(statusText(this.peer.status())); return false;
      case 'logout':
      case 'quit':
      case 'exit':
        this.session.requestQuit(cmd);
        return false;
      default:
        say(`unknown command ${JSON.stringify(cmd)}; type "help"`);
        return false;
    }
  }
}
