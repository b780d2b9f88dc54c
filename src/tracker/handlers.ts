/**
 * One handler per tracker request: decoding has already happened (the server's
 * MessageReader), the rules live in the Registry, and each handler maps a
 * request to its encoded reply (one Buffer, written in one write).
 */
import { type Message, type MessageOf, encodeMessage } from '../protocol/index.js';
import { NULL_SESSION, TRACKER_REQUESTS } from '../protocol/messages.js';
import type { Registry } from './registry.js';

export type TrackerRequest = (typeof TRACKER_REQUESTS)[number];
/** Any one decoded tracker request. */
export type TrackerRequestMessage = { [C in TrackerRequest]: MessageOf<C> }[TrackerRequest];

/**
 * Encoded AFCH replies by md5, valid while the file's version is unchanged: a
 * hot file's FCHU is a map lookup instead of re-encoding every holder's address.
 * Bounded: a reply above `maxReply` bytes is not kept, and the least recently
 * used entries go once the total passes `maxTotal` bytes.
 */
export class AfchCache {
  private readonly entries = new Map<string, { version: number; reply: Buffer }>();
  private total = 0;
  constructor(
    private readonly maxReply = 64 * 1024,
    private readonly maxTotal = 32 * 1024 * 1024,
  ) {}

  get bytes(): number {
    return this.total;
  }

  reply(md5: string, version: number, encode: () => Buffer): Buffer {
    const hit = this.entries.get(md5);
    if (hit) {
      this.entries.delete(md5);
      if (hit.version === version) {
        this.entries.set(md5, hit);
        return hit.reply;
      }
      this.total -= hit.reply.length;
    }
    const reply = encode();
    if (reply.length <= this.maxReply) {
      this.entries.set(md5, { version, reply });
      this.total += reply.length;
      for (const [key, entry] of this.entries) {
        if (this.total <= this.maxTotal) break;
        this.entries.delete(key);
        this.total -= entry.reply.length;
      }
    }
    return reply;
  }
}

export interface HandlerContext {
  readonly registry: Registry;
  readonly afch: AfchCache;
}

type Handler<C extends TrackerRequest> = (ctx: HandlerContext, request: MessageOf<C>) => Buffer;

const EMPTY_AFCH = encodeMessage({ command: 'AFCH', peers: [] });

export const HANDLERS: { readonly [C in TrackerRequest]: Handler<C> } = {
  LOGI: ({ registry }, m) => encodeMessage({ command: 'ALGI', sessionId: registry.login(m.address, m.port).sessionId }),
  ADDR: ({ registry }, m) =>
    encodeMessage({ command: 'AADR', parts: registry.add(m.sessionId, m.fileLength, m.partLength, m.fileName, m.md5).parts }),
  LOOK: ({ registry }, m) => encodeMessage({ command: 'ALOO', files: registry.look(m.sessionId, m.query) }),
  FCHU: ({ registry, afch }, m) => {
    const found = registry.fetch(m.sessionId, m.md5);
    if (!found) return EMPTY_AFCH;
    return afch.reply(m.md5, found.version, () => encodeMessage({ command: 'AFCH', peers: found.holders() }, { parts: found.parts }));
  },
  RPAD: ({ registry }, m) => encodeMessage({ command: 'APAD', partsHeld: registry.reportPart(m.sessionId, m.md5, m.part).partsHeld }),
  LOGO: ({ registry }, m) => {
    const result = registry.logout(m.sessionId);
    // Both fit: the registry keeps a session's parts within ALOG's field
    // (maxPartsHeld), and partsDown is at most the parts of the files the session
    // ADDed, which it holds in full. Were one not to fit, the encoder throws
    // (never truncates) and the server closes without a reply.
    return encodeMessage(result.accepted ? { command: 'ALOG', partsOwned: result.partsOwned } : { command: 'NLOG', partsDown: result.partsDown });
  },
};

/** Runs the handler for a decoded tracker request; returns the encoded reply. */
export function handle(ctx: HandlerContext, request: TrackerRequestMessage): Buffer {
  return (HANDLERS[request.command] as Handler<TrackerRequest>)(ctx, request as MessageOf<TrackerRequest>);
}

/** What a malformed LOGI gets instead of a closed connection. */
export const LOGIN_FAILED_REPLY: Message = { command: 'ALGI', sessionId: NULL_SESSION };
