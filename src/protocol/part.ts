/**
 * The receiving side of one RETP: an AREP read straight into one part-sized
 * buffer. The generic MessageReader would resume its coroutine twice and make a
 * view per chunk header and per chunk (65 536 of each for 256 MiB in 4 KiB
 * chunks) and then an array of them; this scans the same layout, taken from the
 * message table (command, #chunk, then #chunk x (Lenchunk, data)), reads every
 * number with the table's own field codecs, and copies the data into `part`.
 *
 * It accepts and rejects exactly what MessageReader plus the "whole part"
 * check did: same typed errors with the same field paths for a bad command,
 * #chunk or Lenchunk; a part that ends short is a ShortMessageError and one
 * that would run past the expected length a LongMessageError (raised as soon
 * as the Lenchunk that overflows is read, without waiting for its data). Bytes
 * after the AREP go through a generic MessageReader, as before.
 */
import { LongMessageError, ProtocolError, ShortMessageError } from '../errors.js';
import { COMMAND_WIDTH, acceptCommand } from './codec.js';
import type { AnyCodec, FixedCodec, Layout } from './fields.js';
import { type Command, MESSAGES } from './messages.js';
import { MessageReader } from './reader.js';

const ACCEPT: readonly Command[] = ['AREP'];

// The AREP layout, from the table: one list field whose item is one sized field.
const arepLayout: Layout = MESSAGES.AREP;
const listField = arepLayout[0];
const listCodec: AnyCodec | undefined = listField?.codec;
if (arepLayout.length !== 1 || listCodec?.kind !== 'list' || listCodec.item.length !== 1 || listCodec.item[0].codec.kind !== 'sized') {
  throw new Error('messages.ts: AREP is no longer `count, count x (length, data)`; update protocol/part.ts');
}
const COUNT: FixedCodec<number> = listCodec.count;
const sizedField = listCodec.item[0] as { name: string; codec: { kind: 'sized'; length: FixedCodec<number> } };
const LENGTH: FixedCodec<number> = sizedField.codec.length;
/** Field paths, spelled as the coroutine spells them in its errors. */
const COUNT_PATH = `AREP.${listField!.name}.count`;
const lengthPath = (i: number): string => `AREP.${listField!.name}[${i}].${sizedField.name}.length`;
const SCRATCH = Math.max(COMMAND_WIDTH, COUNT.width, LENGTH.width);

function readNumber(codec: FixedCodec<number>, source: Buffer, offset: number, path: string): number {
  try {
    return codec.readAt ? codec.readAt(source, offset) : codec.read(source.subarray(offset, offset + codec.width));
  } catch (err) {
    if (err instanceof ProtocolError) err.message = `${path}: ${err.message}`;
    throw err;
  }
}

const enum State {
  Command,
  Count,
  Length,
  Data,
  Done,
}

export class PartReceiver {
  /** The part's bytes; complete when `done`. */
  readonly part: Buffer;
  private state = State.Command;
  /** Bytes of the current header field gathered so far when it arrived split. */
  private readonly scratch = Buffer.allocUnsafe(SCRATCH);
  private gathered = 0;
  private filled = 0;
  private chunksLeft = 0;
  private chunkIndex = 0;
  private dataLeft = 0;
  private after: MessageReader | null = null;
  private failure: ProtocolError | null = null;

  /** `length`: the part's expected size; `into`: a buffer of at least that size to fill (else one is allocated). */
  constructor(readonly length: number, into?: Buffer) {
    this.part = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  }

  /** The whole AREP has been read and carried exactly `length` bytes. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** Done, and nothing arrived after the AREP (the connection is clean for another request). */
  get clean(): boolean {
    return this.state === State.Done && (this.after === null || !this.after.inMessage);
  }

  /**
   * Adds bytes (split anywhere; `chunk` is not kept, so it may be a reused read
   * buffer); returns true once the part is complete. Throws a
   * ProtocolError for the first thing wrong, and stays failed.
   */
  feed(chunk: Buffer): boolean {
    if (this.failure) throw this.failure;
    try {
      return this.scan(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }

  private scan(chunk: Buffer): boolean {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      const state = this.state;
      if (state === State.Data) {
        const n = Math.min(this.dataLeft, end - pos);
        chunk.copy(this.part, this.filled, pos, pos + n);
        pos += n;
        this.filled += n;
        this.dataLeft -= n;
        if (this.dataLeft === 0) this.nextChunk();
        continue;
      }
      if (state === State.Done) {
        // Whatever follows the AREP reads as the generic reader would read it.
        this.after ??= new MessageReader({ accept: ACCEPT });
        // A copy: `chunk` may be a reused read buffer (peer/fetch.ts), the reader may keep what it is given.
        this.after.push(Buffer.from(chunk.subarray(pos)));
        return true;
      }
      // A header field: read in place when whole, else gather it in `scratch`.
      const width = state === State.Command ? COMMAND_WIDTH : state === State.Count ? COUNT.width : LENGTH.width;
      let source: Buffer;
      let at: number;
      if (this.gathered === 0 && end - pos >= width) {
        source = chunk;
        at = pos;
        pos += width;
      } else {
        const n = Math.min(width - this.gathered, end - pos);
        for (let i = 0; i < n; i++) this.scratch[this.gathered + i] = chunk[pos + i] as number;
        this.gathered += n;
        pos += n;
        if (this.gathered < width) break;
        this.gathered = 0;
        source = this.scratch;
        at = 0;
      }
      this.header(state, source, at);
    }
    return this.state === State.Done;
  }

  private header(state: State, source: Buffer, at: number): void {
    if (state === State.Command) {
      acceptCommand(source.subarray(at, at + COMMAND_WIDTH), ACCEPT);
      this.state = State.Count;
    } else if (state === State.Count) {
      this.chunksLeft = readNumber(COUNT, source, at, COUNT_PATH);
      if (this.chunksLeft === 0) this.finish();
      else this.state = State.Length;
    } else {
      const n = readNumber(LENGTH, source, at, lengthPath(this.chunkIndex));
      if (this.filled + n > this.length) {
        throw new LongMessageError(`AREP carried at least ${this.filled + n} bytes, expected ${this.length}`);
      }
      this.dataLeft = n;
      // A zero Lenchunk is already refused by its codec (min 1); keep the state machine total anyway.
      if (n === 0) this.nextChunk();
      else this.state = State.Data;
    }
  }

  private nextChunk(): void {
    this.chunkIndex++;
    if (--this.chunksLeft === 0) this.finish();
    else this.state = State.Length;
  }

  private finish(): void {
    if (this.filled !== this.length) {
      throw new ShortMessageError(`AREP carried ${this.filled} bytes, expected ${this.length}`);
    }
    this.state = State.Done;
  }
}
