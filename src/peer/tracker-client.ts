/**
 * Talking to a tracker that closes after every reply: each call is one
 * connection (connect, one write, one reply, close). Keeps the session and logs
 * in again once when the tracker no longer knows it.
 */
import { ErrorCode, RemoteError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  type DecodeContext,
  MAX_LIST_ENTRIES,
  type Message,
  type MessageOf,
  NULL_SESSION,
  type PeerAddress,
  TRACKER_REPLIES,
  md5Query,
  partCountOf,
} from '../protocol/index.js';
import { type LocalAddresses, type RequestOptions, requestMany, requestOnce } from './connect.js';

export interface TrackerFile {
  readonly md5: string;
  readonly fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
  readonly parts: number;
}

export interface TrackerHolder {
  readonly address: PeerAddress;
  readonly port: number;
  readonly bitmap: Buffer;
}

export interface TrackerClientOptions {
  readonly host: string;
  readonly port: number;
  readonly self: PeerAddress;
  readonly selfPort: number;
  readonly local: LocalAddresses;
  readonly timeoutMs?: number;
  readonly log: Logger;
}

export type LogoutResult = { ok: true; partsOwned: number } | { ok: false; partsDown: number };

/**
 * Whether the tracker answers requests pipelined on one connection: ours does
 * (every request received, then the close); others read one request per
 * connection and answer it alone, or refuse the lot. Unknown until a batch of
 * reports has been tried.
 */
export type Pipelining = 'unknown' | 'yes' | 'no';

/** RPADs sent on one connection at most (a batch is 60 bytes a report, far below the tracker's buffer cap). */
export const MAX_REPORTS_PER_CONNECTION = 32;

export class TrackerClient {
  private session: string | null = null;
  private readonly timeoutMs: number;
  private pipeliningSeen: Pipelining = 'unknown';

  constructor(private readonly options: TrackerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get sessionId(): string | null {
    return this.session;
  }

  /** A listed name that was not UTF-8 (shown with U+FFFD): worth a log line, not a failed reply. */
  private readonly onRepair = (path: string, reason: string): void => {
    this.options.log.warn({ field: path, reason }, 'tracker listed a name that is not valid UTF-8; shown with U+FFFD');
  };

  private requestOptions(parts?: number): RequestOptions {
    const context: DecodeContext = parts === undefined ? { onRepair: this.onRepair } : { parts, onRepair: this.onRepair };
    return { accept: TRACKER_REPLIES, context, timeoutMs: this.timeoutMs, local: this.options.local };
  }

  private async send(request: Message, parts?: number): Promise<Message> {
    return requestOnce(this.options.host, this.options.port, request, this.requestOptions(parts));
  }

  /** Whether this tracker has answered pipelined reports (see `reportParts`). */
  get pipelining(): Pipelining {
    return this.pipeliningSeen;
  }

  private expect<C extends Message['command']>(reply: Message, command: C): MessageOf<C> {
    if (reply.command !== command) {
      throw new RemoteError(ErrorCode.NO_REPLY, `tracker answered ${reply.command} where ${command} was expected`);
    }
    return reply as unknown as MessageOf<C>;
  }

  async login(): Promise<string> {
    const reply = this.expect(
      await this.send({ command: 'LOGI', address: this.options.self, port: this.options.selfPort }),
      'ALGI',
    );
    if (reply.sessionId === NULL_SESSION) throw new RemoteError(ErrorCode.LOGIN_FAILED, 'the tracker refused the login (ALGI 0000000000000000)');
    this.session = reply.sessionId;
    this.options.log.info({ sessionId: reply.sessionId }, 'logged in');
    return reply.sessionId;
  }

  /**
   * Tells the tracker we are alive: an idempotent LOGI (the same address and
   * port get the same session back). Meant for a timer well inside the
   * tracker's --liveness-idle. `changed` is true when the tracker answered with
   * a session other than ours (it restarted without its state, or dropped us as
   * dead): it no longer lists our files and parts, so the caller re-announces them.
   */
  async refresh(): Promise<{ sessionId: string; changed: boolean }> {
    const before = this.session;
    const sessionId = await this.login();
    return { sessionId, changed: before !== null && before !== sessionId };
  }

  /** Runs `make(session)`; on a close without reply, logs in again once and retries. */
  private async withSession<T>(make: (session: string) => Promise<T>): Promise<T> {
    const session = this.session ?? (await this.login());
    try {
      return await make(session);
    } catch (err) {
      if (!(err instanceof RemoteError) || err.code !== ErrorCode.NO_REPLY) throw err;
      this.options.log.warn({ err: err.message }, 'tracker closed without reply; logging in again and retrying once');
      return make(await this.login());
    }
  }

  /**
   * ADDR. A tracker that closes without a reply (also after logging in again)
   * refused the file: BT_ADD_REFUSED, naming the likely reason.
   */
  async addFile(file: { fileLength: number; partLength: number; fileName: string; md5: string }): Promise<number> {
    // The close without reply an ADDR got (not an unexpected reply, nor a failed login in between).
    let closed: unknown = null;
    try {
      return await this.withSession(async (sessionId) => {
        let reply: Message;
        try {
          reply = await this.send({ command: 'ADDR', sessionId, ...file });
        } catch (err) {
          if (err instanceof RemoteError && err.code === ErrorCode.NO_REPLY) closed = err;
          throw err;
        }
        return this.expect(reply, 'AADR').parts;
      });
    } catch (err) {
      if (err !== closed) throw err;
      throw new RemoteError(
        ErrorCode.ADD_REFUSED,
        `the tracker refused to register ${JSON.stringify(file.fileName)} (md5 ${file.md5}, LenFile ${file.fileLength}, ` +
          `LenPart ${file.partLength}): it closed without a reply. Most likely it already knows this md5 with another ` +
          `LenFile or LenPart (a file is registered once, with one size and part size); otherwise it is at a limit (files, parts)`,
        { cause: err },
      );
    }
  }

  async look(query: string): Promise<TrackerFile[]> {
    return this.withSession(async (sessionId) => {
      const reply = this.expect(await this.send({ command: 'LOOK', sessionId, query }), 'ALOO');
      return reply.files.map((f) => ({ ...f, parts: partCountOf(f.fileLength, f.partLength) }));
    });
  }

  /**
   * The file with this md5, or null when the tracker does not list it. Asks
   * LOOK with the md5's first 20 hex digits (our tracker matches md5 prefixes),
   * then LOOK `*` (other trackers match names only). A `*` reply holds at most
   * 999 files, oldest first: when it is full and the file is not in it, the file
   * may exist beyond the cap. Then one more LOOK tells the two kinds of tracker
   * apart (the prefix of a file the list shows): one that matches prefixes does
   * not know the file (null: it may still be added); one that does not may hide
   * it, and that is said plainly (BT_LIST_FULL).
   */
  async findFile(md5: string): Promise<TrackerFile | null> {
    const hit = (await this.look(md5Query(md5))).find((f) => f.md5 === md5);
    if (hit) return hit;
    const all = await this.look('*');
    const found = all.find((f) => f.md5 === md5);
    if (found) return found;
    const listed = all[0];
    if (all.length >= MAX_LIST_ENTRIES && listed && !(await this.look(md5Query(listed.md5))).some((f) => f.md5 === listed.md5)) {
      throw new RemoteError(
        ErrorCode.LIST_FULL,
        `md5 ${md5} is not in the tracker's list, but the list is full (${all.length} files, the most a LOOK reply can hold) ` +
          `and this tracker does not match md5 prefixes: the file may be registered and hidden by the cap. ` +
          `Ask someone who shares it for its exact name and search for that.`,
      );
    }
    return null;
  }

  async holders(md5: string, parts: number): Promise<TrackerHolder[]> {
    return this.withSession(async (sessionId) => {
      const reply = this.expect(await this.send({ command: 'FCHU', sessionId, md5 }, parts), 'AFCH');
      return reply.peers.map((p) => ({ address: p.address, port: p.port, bitmap: p.bitmap }));
    });
  }

  async reportPart(md5: string, part: number): Promise<number> {
    return this.withSession(async (sessionId) => {
      const reply = this.expect(await this.send({ command: 'RPAD', sessionId, md5, part }), 'APAD');
      return reply.partsHeld;
    });
  }

  /**
   * RPADs for several parts of one file: one connection for the lot where the
   * tracker answers pipelined requests (ours), one connection each otherwise.
   * The first batch finds out: every report answered, the tracker pipelines;
   * fewer, and the first unanswered one answered alone, it reads one request
   * per connection (other implementations) and every later report goes alone.
   * A batch cut short for another reason (a session the tracker lost: the
   * report alone logged in again) changes nothing: the rest go alone, through
   * the usual log-in-again path, and the next batch tries again.
   * Returns, per part in order, the parts held the tracker answered or the error.
   */
  async reportParts(md5: string, parts: readonly number[]): Promise<(number | Error)[]> {
    const results: (number | Error)[] = [];
    for (let at = 0; at < parts.length; at += MAX_REPORTS_PER_CONNECTION) {
      results.push(...(await this.reportBatch(md5, parts.slice(at, at + MAX_REPORTS_PER_CONNECTION))));
    }
    return results;
  }

  /** `reportParts` for at most MAX_REPORTS_PER_CONNECTION parts: one connection, or one each. */
  private async reportBatch(md5: string, parts: readonly number[]): Promise<(number | Error)[]> {
    const results: (number | Error)[] = [];
    let rest = parts;
    if (rest.length > 1 && this.pipeliningSeen !== 'no' && this.session !== null) {
      const sessionId = this.session;
      let replies: Message[];
      try {
        replies = await requestMany(this.options.host, this.options.port, rest.map((part) => ({ command: 'RPAD' as const, sessionId, md5, part })), this.requestOptions());
      } catch (err) {
        // Unreachable or silent: each report alone would wait as long again. A close
        // without a reply is the other kind of answer (a tracker that reads one request).
        if (!(err instanceof RemoteError) || err.code !== ErrorCode.NO_REPLY) return rest.map(() => err as Error);
        replies = [];
      }
      for (const reply of replies) {
        if (reply.command !== 'APAD') break;
        results.push(reply.partsHeld);
      }
      rest = rest.slice(results.length);
      if (rest.length === 0) {
        this.pipeliningSeen = 'yes';
      } else {
        const alone = await this.reportPart(md5, rest[0] as number).catch((err: Error) => err);
        results.push(alone);
        rest = rest.slice(1);
        // Answered alone with the same session: it was the pipelining the tracker refused.
        if (!(alone instanceof Error) && this.pipeliningSeen === 'unknown' && this.session === sessionId) {
          this.pipeliningSeen = 'no';
          this.options.log.info({ answered: results.length - 1, asked: results.length + rest.length }, 'the tracker answers one request per connection: parts are reported one by one');
        }
      }
    }
    for (const part of rest) results.push(await this.reportPart(md5, part).catch((err: Error) => err));
    return results;
  }

  async logout(): Promise<LogoutResult> {
    if (this.session === null) return { ok: true, partsOwned: 0 };
    const reply = await this.send({ command: 'LOGO', sessionId: this.session });
    if (reply.command === 'ALOG') {
      this.session = null;
      return { ok: true, partsOwned: reply.partsOwned };
    }
    if (reply.command === 'NLOG') return { ok: false, partsDown: reply.partsDown };
    throw new RemoteError(ErrorCode.NO_REPLY, `tracker answered ${reply.command} to LOGO`);
  }
}
