/**
 * The two ways `bugtorrent peer` shows its event stream: text for people, and
 * `--json` (one object per line on stdout, as the events are). Both read the
 * same PeerEvent stream; neither knows how the peer works inside.
 */
import { isBugTorrentError } from '../../errors.js';
import type { PeerEvent } from '../../peer/index.js';

/** Where text goes: lines for stdout, errors for stderr (the prompt redraws around both). */
export interface Output {
  line(text: string): void;
  error(text: string): void;
}

export const STDIO: Output = {
  line: (text) => void process.stdout.write(`${text}\n`),
  error: (text) => void process.stderr.write(`${text}\n`),
};

export interface Renderer {
  event(e: PeerEvent): void;
  /** Something the command itself reports (a record that is not a peer event, e.g. `peers`, `metrics`). */
  record(name: string, fields: Record<string, unknown>, text: string): void;
  /** An error raised outside the stream (a command that failed). */
  error(err: unknown, md5?: string): void;
}

export function errorFields(err: unknown): { code: string; message: string } {
  return { code: isBugTorrentError(err) ? err.code : 'BT_INTERNAL', message: (err as Error)?.message ?? String(err) };
}

export function jsonRenderer(out: Output = STDIO): Renderer {
  return {
    event: (e) => out.line(JSON.stringify(e)),
    record: (name, fields) => out.line(JSON.stringify({ event: name, ...fields })),
    error: (err, md5) => out.line(JSON.stringify({ event: 'error', ...errorFields(err), ...(md5 ? { md5 } : {}) })),
  };
}

/** One line of text per event worth telling a person; errors on stderr. */
export function textRenderer(out: Output = STDIO): Renderer {
  return {
    event(e) {
      const text = describe(e);
      if (text === null) return;
      if (e.event === 'error') out.error(text);
      else out.line(text);
    },
    record: (_name, _fields, text) => out.line(text),
    error: (err) => {
      const { code, message } = errorFields(err);
      out.error(`error [${code}]: ${message}`);
    },
  };
}

export function describe(e: PeerEvent): string | null {
  switch (e.event) {
    case 'ready': return `ready: ${e.ip4} / ${e.ip6} port ${e.port}`;
    case 'shared': return `sharing ${e.name} (${e.size} bytes, ${e.parts} parts) md5 ${e.md5}`;
    case 'started': return `downloading ${e.name} (${e.have}/${e.parts} parts held)`;
    case 'part': return null;
    case 'complete': return `complete: ${e.path} in ${e.seconds.toFixed(1)} s (verified)`;
    case 'error': return `error [${e.code}]: ${e.message}`;
    case 'banned': return `banned ${e.owner} for ${e.md5}: ${e.reason}`;
    case 'unbanned': return `ban of ${e.owner} for ${e.md5} lifted: ${e.reason}`;
    case 'healed': return `healed ${e.md5} in ${e.seconds.toFixed(1)} s: wrong part${e.wrong.length === 1 ? '' : 's'} ${e.wrong.join(', ') || '—'} from ${e.liars.map((l) => l.owner).join(', ') || '—'}; ${e.refetched} part${e.refetched === 1 ? '' : 's'} fetched again`;
    case 'logout':
      return e.accepted
        ? `logged out (${e.partsOwned} parts owned)`
        : `the tracker refused to log us out: other peers hold only ${e.partsDown} parts of our files, and we hold the only copy of the rest`;
    case 'choke': return null;
    case 'query':
      return e.neighbors === 0
        ? 'no neighbours to ask: give some with --neighbor (peers met while downloading, or that answer, become neighbours too)'
        : `searching for ${JSON.stringify(e.query)} (TTL ${e.ttl}) among ${e.neighbors} neighbour(s)...`;
    case 'hit': return `hit: ${e.name}  ${e.md5}  at ${e.ip4}:${e.port}`;
    case 'query-done': return null;
  }
}
