/**
 * Encode and decode derived from the message table. Decoding is written once, as
 * a generator that asks for the next N bytes (`yield n`); the one-shot decoder
 * below and the incremental MessageReader both drive that same generator.
 */
import { ProtocolError, LongMessageError, ShortMessageError, UnexpectedCommandError, UnknownCommandError } from '../errors.js';
import {
  type AnyCodec,
  type DecodeContext,
  type FixedCodec,
  type Layout,
  bitmapWidth,
  checkBitmap,
  readBitmap,
} from './fields.js';
import { type Command, type Message, type MessageOf, MESSAGES } from './messages.js';

export const COMMAND_WIDTH = 4;
const EMPTY = Buffer.alloc(0);

/** A decoding coroutine: yields how many bytes it needs next, receives exactly that many. */
export type Decoding<T> = Generator<number, T, Buffer>;

/** Prefixes a field path to a protocol error so logs say where a message went wrong. */
function located<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ProtocolError) err.message = `${path}: ${err.message}`;
    throw err;
  }
}

/**
 * Reads one fixed field; a value its codec rejects is repaired when the codec
 * can (FixedCodec.repair), with ctx.onRepair told, and otherwise an error located at `path`.
 */
function readFixed<T>(codec: FixedCodec<T>, bytes: Buffer, ctx: DecodeContext, path: string): T {
  try {
    return codec.read(bytes);
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    if (codec.repair) {
      ctx.onRepair?.(path, err.message);
      return codec.repair(bytes);
    }
    err.message = `${path}: ${err.message}`;
    throw err;
  }
}

function* decodeCodec(codec: AnyCodec, ctx: DecodeContext, path: string): Decoding<unknown> {
  switch (codec.kind) {
    case 'fixed': {
      const bytes = yield codec.width;
      return readFixed(codec, bytes, ctx, path);
    }
    case 'bitmap': {
      const parts = ctx.parts;
      // Without a part count we did not ask for this file's holders (e.g. the tracker
      // client reads every reply but FCHU's with no context), so a non-empty AFCH here
      // comes from the remote, not from our code: a typed ProtocolError, so the reader
      // fails cleanly, instead of a plain Error that left the reader half-way.
      if (parts === undefined) throw new UnexpectedCommandError(`${path}: an AFCH bitmap where no file's part count is known`);
      const width = bitmapWidth(parts);
      return readBitmap(width > 0 ? yield width : EMPTY, parts);
    }
    case 'sized': {
      const length = (yield* decodeCodec(codec.length, ctx, `${path}.length`)) as number;
      return length > 0 ? yield length : EMPTY;
    }
    case 'list': {
      const count = (yield* decodeCodec(codec.count, ctx, `${path}.count`)) as number;
      const items: unknown[] = [];
      for (let i = 0; i < count; i++) items.push(yield* decodeLayout(codec.item, ctx, `${path}[${i}]`));
      return items;
    }
  }
}

function* decodeLayout(layout: Layout, ctx: DecodeContext, path: string): Decoding<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const f of layout) out[f.name] = yield* decodeCodec(f.codec, ctx, `${path}.${f.name}`);
  return out;
}

export function isCommand(text: string): text is Command {
  return Object.prototype.hasOwnProperty.call(MESSAGES, text);
}

/** Checks a 4-byte command against what this endpoint accepts. */
export function acceptCommand(raw: Buffer, accept: readonly Command[]): Command {
  const text = raw.toString('latin1');
  if (!isCommand(text)) throw new UnknownCommandError(`unknown command ${JSON.stringify(text)}`);
  if (!accept.includes(text)) throw new UnexpectedCommandError(`${text} is not accepted here (expected ${accept.join('/')})`);
  return text;
}

/** The body of one message (everything after its command), as a decoding coroutine. */
export function* decodeBody<C extends Command>(command: C, ctx: DecodeContext = {}): Decoding<MessageOf<C>> {
  const body = yield* decodeLayout(MESSAGES[command], ctx, command);
  return { command, ...body } as MessageOf<C>;
}

// ---- Fixed-width messages -----------------------------------------------------

/** A field of a fixed-width message and where it starts in the body (after the command). */
export interface FixedField {
  readonly name: string;
  readonly codec: FixedCodec<unknown>;
  readonly offset: number;
}

/** The layout of a message whose fields all have constant widths, flattened: offsets and total width. */
export interface FixedLayout {
  readonly width: number;
  readonly fields: readonly FixedField[];
}

/** Offsets and total width for every all-fixed message, computed once from the table (null for the others). */
const FIXED_LAYOUTS = new Map<Command, FixedLayout | null>(
  (Object.keys(MESSAGES) as Command[]).map((command) => {
    const layout: Layout = MESSAGES[command];
    if (!layout.every((f) => f.codec.kind === 'fixed')) return [command, null];
    let width = 0;
    const fields = layout.map((f) => {
      const codec = f.codec as FixedCodec<unknown>;
      const field: FixedField = { name: f.name, codec, offset: width };
      width += codec.width;
      return field;
    });
    return [command, { width, fields }];
  }),
);

/** The flattened layout of `command` when every field has a fixed width (LOGI, FCHU, RPAD, ...), else null. */
export function fixedLayout(command: Command): FixedLayout | null {
  return FIXED_LAYOUTS.get(command) ?? null;
}

/**
 * Decodes the body of an all-fixed message from `bytes` at `offset` (which must
 * hold `layout.width` bytes) in one pass: the same field codecs, the same
 * checks and the same error paths as the coroutine, without resuming it per field.
 */
export function decodeFixedBody<C extends Command>(
  command: C,
  layout: FixedLayout,
  bytes: Buffer,
  offset: number,
  ctx: DecodeContext = {},
): MessageOf<C> {
  const out: Record<string, unknown> = { command };
  for (const f of layout.fields) {
    const start = offset + f.offset;
    out[f.name] = readFixed(f.codec, bytes.subarray(start, start + f.codec.width), ctx, `${command}.${f.name}`);
  }
  return out as MessageOf<C>;
}

/**
 * Decodes one complete message from `bytes`. Fewer bytes than the message needs
 * is SHORT_MESSAGE; anything after it is LONG_MESSAGE.
 */
export function decodeMessage(bytes: Buffer, accept: readonly Command[], ctx: DecodeContext = {}): Message {
  if (bytes.length < COMMAND_WIDTH) throw new ShortMessageError(`${bytes.length} bytes is shorter than a command`);
  const command = acceptCommand(bytes.subarray(0, COMMAND_WIDTH), accept);
  const decoding = decodeBody(command, ctx);
  let offset = COMMAND_WIDTH;
  let step = decoding.next();
  while (!step.done) {
    const need = step.value;
    if (offset + need > bytes.length) {
      throw new ShortMessageError(`${command}: ${bytes.length} bytes, needs at least ${offset + need}`);
    }
    step = decoding.next(bytes.subarray(offset, offset + need));
    offset += need;
  }
  if (offset !== bytes.length) throw new LongMessageError(`${command}: ${bytes.length - offset} bytes after the message`);
  return step.value;
}

// ---- Encoding ---------------------------------------------------------------

function sizeCodec(codec: AnyCodec, value: unknown, ctx: DecodeContext): number {
  switch (codec.kind) {
    case 'fixed':
      return codec.width;
    case 'bitmap':
      checkBitmap(value as Buffer, ctx.parts);
      return (value as Buffer).length;
    case 'sized':
      return codec.length.width + (value as Buffer).length;
    case 'list': {
      let total = codec.count.width;
      for (const item of value as Record<string, unknown>[]) total += sizeLayout(codec.item, item, ctx);
      return total;
    }
  }
}

function sizeLayout(layout: Layout, value: Record<string, unknown>, ctx: DecodeContext): number {
  let total = 0;
  for (const f of layout) total += sizeCodec(f.codec, value[f.name], ctx);
  return total;
}

function writeCodec(codec: AnyCodec, value: unknown, target: Buffer, offset: number, path: string): number {
  switch (codec.kind) {
    case 'fixed':
      located(path, () => codec.write(value, target, offset));
      return offset + codec.width;
    case 'bitmap':
      return offset + (value as Buffer).copy(target, offset);
    case 'sized': {
      const data = value as Buffer;
      offset = writeCodec(codec.length, data.length, target, offset, `${path}.length`);
      return offset + data.copy(target, offset);
    }
    case 'list': {
      const items = value as Record<string, unknown>[];
      offset = writeCodec(codec.count, items.length, target, offset, `${path}.count`);
      items.forEach((item, i) => {
        offset = writeLayout(codec.item, item, target, offset, `${path}[${i}]`);
      });
      return offset;
    }
  }
}

function writeLayout(layout: Layout, value: Record<string, unknown>, target: Buffer, offset: number, path: string): number {
  for (const f of layout) offset = writeCodec(f.codec, value[f.name], target, offset, `${path}.${f.name}`);
  return offset;
}

/**
 * Encodes a message into one buffer of its exact length (so it can go out in a
 * single write). `ctx.parts`, when given, is checked against AFCH bitmaps.
 */
export function encodeMessage(message: Message, ctx: DecodeContext = {}): Buffer {
  const layout: Layout = MESSAGES[message.command];
  const body = message as unknown as Record<string, unknown>;
  const out = Buffer.allocUnsafe(COMMAND_WIDTH + sizeLayout(layout, body, ctx));
  out.write(message.command, 0, COMMAND_WIDTH, 'latin1');
  writeLayout(layout, body, out, COMMAND_WIDTH, message.command);
  return out;
}
