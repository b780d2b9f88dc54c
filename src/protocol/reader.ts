/**
 * Framing, apart from decoding and from sockets: bytes go in as they arrive, split
 * anywhere, and whole messages come out. The reader waits for exactly the number
 * of bytes the current field needs (as told by the decoding coroutine), so a
 * message split at any byte, or several messages in one chunk, read the same.
 */
import { BufferLimitError, ProtocolError, ShortMessageError } from '../errors.js';
import { COMMAND_WIDTH, type Decoding, acceptCommand, decodeBody, decodeFixedBody, fixedLayout } from './codec.js';
import type { DecodeContext } from './fields.js';
import type { Command, Message } from './messages.js';

const EMPTY = Buffer.alloc(0);

export interface MessageReaderOptions {
  /** Commands this endpoint accepts; anything else is an error. */
  readonly accept: readonly Command[];
  /** Context for a command's decoding (AFCH needs the part count). */
  readonly context?: (command: Command) => DecodeContext;
  /**
   * Most bytes held waiting for a field to complete. One field can be at most
   * 99999 bytes (an AREP chunk) or a bitmap; anything beyond the cap means the
   * sender is flooding us.
   */
  readonly maxBuffered?: number;
}

export class MessageReader {
  private readonly chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private head = 0;
  private available = 0;
  private decoding: Decoding<Message> | null = null;
  private current: Command | null = null;
  private need = 0;
  private failure: ProtocolError | null = null;
  private readonly maxBuffered: number;

  constructor(private readonly options: MessageReaderOptions) {
    this.maxBuffered = options.maxBuffered ?? 1 << 20;
  }

  /** Bytes received and not yet consumed by a completed field. */
  get buffered(): number {
    return this.available;
  }

  /** True between the first byte of a message and its last. */
  get inMessage(): boolean {
    return this.decoding !== null || this.available > 0;
  }

  /** The command of the message being read, if one has started. */
  get pendingCommand(): Command | null {
    return this.current;
  }

  /**
   * Adds bytes and returns every message they complete. Throws a ProtocolError
   * for the first malformed message; the reader then stays failed (a stream that
   * broke framing cannot be trusted past that point). Messages completed in the
   * same chunk before the bad bytes are lost with the throw: use `feed` where
   * they must still be answered.
   */
  push(chunk: Buffer): Message[] {
    const out: Message[] = [];
    this.feed(chunk, (m) => out.push(m));
    return out;
  }

  /**
   * Adds bytes and hands each message to `deliver` the moment its last byte is
   * read, before looking at the bytes after it. So when a chunk holds good
   * requests followed by garbage, every good one has been delivered by the time
   * the ProtocolError for the garbage is thrown.
   */
  feed(chunk: Buffer, deliver: (message: Message) => void): void {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.available += chunk.length;
    }
    try {
      for (;;) {
        if (this.decoding === null) {
          if (this.available < COMMAND_WIDTH) break;
          const command = acceptCommand(this.take(COMMAND_WIDTH), this.options.accept);
          this.current = command;
          const context = this.options.context?.(command) ?? {};
          // Fast path: an all-fixed message (widths from the table) already here in full
          // is decoded in one pass; anything else goes through the coroutine.
          const fixed = fixedLayout(command);
          if (fixed !== null && this.available >= fixed.width) {
            const message = decodeFixedBody(command, fixed, fixed.width > 0 ? this.take(fixed.width) : EMPTY, 0, context);
            this.current = null;
            deliver(message);
            continue;
          }
          this.decoding = decodeBody(command, context);
          if (this.advance(undefined, deliver)) continue;
        }
        if (this.available < this.need) break;
        this.advance(this.take(this.need), deliver);
      }
      if (this.available > this.maxBuffered) {
        throw new BufferLimitError(`${this.available} bytes buffered (limit ${this.maxBuffered})`);
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }

  /** Call when the stream ends: a message cut short is an error. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.inMessage) {
      const what = this.current ?? 'a message';
      this.failure = new ShortMessageError(`stream ended inside ${what} (${this.available} bytes pending, ${this.need} needed)`);
      throw this.failure;
    }
  }

  /** Feeds the coroutine; returns true when the message is complete. */
  private advance(bytes: Buffer | undefined, deliver: (message: Message) => void): boolean {
    const step = (this.decoding as Decoding<Message>).next(bytes as Buffer);
    if (step.done) {
      this.decoding = null;
      this.current = null;
      this.need = 0;
      deliver(step.value);
      return true;
    }
    this.need = step.value;
    return false;
  }

  /** Removes exactly n bytes; a view into one chunk when possible, else one concatenation. */
  private take(n: number): Buffer {
    this.available -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const copied = chunk.copy(out, filled, this.head, Math.min(chunk.length, this.head + n - filled));
      filled += copied;
      this.head += copied;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}
