/**
 * How a `bugtorrent peer` process ends: quit requests (the prompt's `quit`,
 * Ctrl-C, SIGTERM), the logout they lead to, and the exit code.
 *
 * * `quit` / SIGINT: log out; while the tracker refuses (we hold the only copy
 *   of something) keep seeding and ask again; a second request leaves anyway.
 * * SIGTERM (systemd, docker, CI send one and expect us gone): one logout
 *   attempt, a warning if the tracker refused it, then exit.
 * * Exit code: 0, or 1 when something the user asked for failed, or 130/143
 *   when a signal interrupted downloads that had not finished.
 */
import type { Logger } from '../../log.js';
import type { PeerHandle } from '../../peer/index.js';
import type { Renderer } from './render.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130, TERMINATED: 143 } as const;

export class Session {
  private requests = 0;
  private leaving: Promise<never> | null = null;
  private readonly abort = new AbortController();
  private failed = false;
  private readonly closers: (() => void)[] = [];

  constructor(
    private readonly peer: PeerHandle,
    private readonly render: Renderer,
    private readonly log: Logger,
    private readonly say: (text: string) => void,
  ) {}

  /** Something the user asked for failed: the exit code will say so. */
  markFailed(): void {
    this.failed = true;
  }

  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  /** Downloads still running (what a signal interrupts). */
  private interrupted(): boolean {
    return this.peer.status().downloads.some((d) => d.state === 'finding' || d.state === 'downloading' || d.state === 'verifying');
  }

  installSignals(): void {
    process.on('SIGINT', () => this.requestQuit('SIGINT'));
    process.on('SIGTERM', () => void this.terminate());
  }

  /** First request: log out politely (retrying while refused). Second: leave now. */
  requestQuit(reason = 'quit'): void {
    this.requests++;
    this.log.info({ reason }, 'quit requested');
    if (this.requests >= 2) {
      this.say('leaving without the tracker\'s consent');
      this.abort.abort();
      void this.exit(EXIT.INTERRUPTED);
      return;
    }
    const code = this.interrupted() ? EXIT.INTERRUPTED : undefined;
    void this.leave(code);
  }

  /** One logout attempt, then exit (SIGTERM). */
  async terminate(): Promise<never> {
    const code = this.interrupted() ? EXIT.TERMINATED : undefined;
    this.abort.abort();
    this.peer.stopDownloads();
    try {
      const result = await this.peer.logout();
      if (!result.ok) this.say('leaving with the only copy of some parts: other peers cannot finish those files until a holder returns');
    } catch (err) {
      this.render.error(err);
    }
    return this.exit(code);
  }

  /** Log out (retrying while refused, until a second quit); then exit. */
  leave(code?: number): Promise<never> {
    return (this.leaving ??= this.logoutThenExit(code));
  }

  private async logoutThenExit(code?: number): Promise<never> {
    const refused = (e: { event: string; accepted?: boolean }): void => {
      if (e.event === 'logout' && e.accepted === false) this.say('seeding until other peers hold our parts (quit again to leave anyway)');
    };
    const off = this.peer.on(refused as never);
    const result = await this.peer.leave(this.abort.signal);
    off();
    if (!result.ok && !this.abort.signal.aborted) this.failed = true;
    return this.exit(code);
  }

  private exiting = false;
  async exit(code?: number): Promise<never> {
    if (!this.exiting) {
      this.exiting = true;
      for (const c of this.closers) {
        try {
          c();
        } catch {
          // closing anyway
        }
      }
      await this.peer.close().catch(() => undefined);
      process.exit(code ?? (this.failed ? EXIT.FAILED : EXIT.OK));
    }
    return new Promise<never>(() => undefined);
  }
}
