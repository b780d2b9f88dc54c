/**
 * Logging what the connection guard closed. Every drop gets a debug line with
 * its remote and reason; a summary (counts per reason, the clients dropped
 * most) goes out at warn at most once per `flush`, so that a flood of thousands
 * of connections costs a few log lines, not thousands.
 */
import { ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { DropReason } from './guard.js';

const MESSAGES: Record<DropReason, string> = {
  'per-address': 'connection closed: too many connections from one client (the longest waiting one goes)',
  full: 'connection closed: too many open connections (the longest waiting one goes)',
  refused: 'connection refused: every connection it could replace is being served',
  'request-timeout': 'connection closed: request not complete in time',
  idle: 'connection closed: idle timeout',
};

export function dropCode(reason: DropReason): string {
  return reason === 'request-timeout' || reason === 'idle' ? ErrorCode.TIMEOUT : ErrorCode.LIMIT_EXCEEDED;
}

export class DropLog {
  private readonly counts = new Map<DropReason, number>();
  private readonly clients = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** One drop: `remote` is host:port, `key` the client it counted under. */
  add(reason: DropReason, key: string, remote: string, extra: Record<string, unknown> = {}): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (this.clients.size < 10_000 || this.clients.has(key)) this.clients.set(key, (this.clients.get(key) ?? 0) + 1);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ remote, client: key, reason, code: dropCode(reason), ...extra }, MESSAGES[reason]);
  }

  /** The summary since the last flush, if anything was dropped. */
  flush(): void {
    if (this.counts.size === 0) return;
    const dropped = Object.fromEntries(this.counts);
    const top = [...this.clients].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([client, n]) => ({ client, n }));
    const limits = [...this.counts.keys()].some((r) => dropCode(r) === ErrorCode.LIMIT_EXCEEDED);
    this.counts.clear();
    this.clients.clear();
    this.log.warn({ code: limits ? ErrorCode.LIMIT_EXCEEDED : ErrorCode.TIMEOUT, dropped, clients: top }, 'connections closed by the connection guard');
  }
}
