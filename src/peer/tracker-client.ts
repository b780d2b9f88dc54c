/**
 * Talking to a tracker that closes after every reply: each call is one
 * connection (connect, one write, one reply, close). Keeps the session and logs
 * in again once when the tracker no longer knows it.
 */
import { ErrorCode, RemoteError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  type Message,
  type MessageOf,
  NULL_SESSION,
  type PeerAddress,
  TRACKER_REPLIES,
  partCountOf,
} from '../protocol/index.js';
import { type LocalAddresses, requestOnce } from './connect.js';

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

export class TrackerClient {
  private session: string | null = null;
  private readonly timeoutMs: number;

  constructor(private readonly options: TrackerClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get sessionId(): string | null {
    return this.session;
  }

  private async send(request: Message, parts?: number): Promise<Message> {
    return requestOnce(this.options.host, this.options.port, request, {
      accept: TRACKER_REPLIES,
      context: parts === undefined ? {} : { parts },
      timeoutMs: this.timeoutMs,
      local: this.options.local,
    });
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

  async addFile(file: { fileLength: number; partLength: number; fileName: string; md5: string }): Promise<number> {
    return this.withSession(async (sessionId) => {
      const reply = this.expect(await this.send({ command: 'ADDR', sessionId, ...file }), 'AADR');
      return reply.parts;
    });
  }

  async look(query: string): Promise<TrackerFile[]> {
    return this.withSession(async (sessionId) => {
      const reply = this.expect(await this.send({ command: 'LOOK', sessionId, query }), 'ALOO');
      return reply.files.map((f) => ({ ...f, parts: partCountOf(f.fileLength, f.partLength) }));
    });
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
