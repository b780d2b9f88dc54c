/**
 * Small field codecs: the vocabulary the message table (messages.ts) is written in.
 * Each knows its width, how to write a value into exactly that many bytes and how
 * to read it back, and rejects anything the protocol does not allow with a typed
 * error. Nothing else in the code base knows a field's width or format.
 */
import {
  BadBitmapError,
  BadHexError,
  BadNumberError,
  BadTextError,
  OutOfRangeError,
} from '../errors.js';
import { type PeerAddress, expandIPv6, normalizeIPv4, padIPv4 } from './address.js';
import { BadAddressError } from '../errors.js';

/** What a decoder must know from outside the message: AFCH bitmaps are sized by the file's part count. */
export interface DecodeContext {
  readonly parts?: number;
  /**
   * Told when a field that can be repaired (FixedCodec.repair) was not valid
   * and its repaired value was used instead: `path` names the field, `reason`
   * says what was wrong. For logs; without it the repair is silent.
   */
  readonly onRepair?: (path: string, reason: string) => void;
}

/** A field of constant width. */
export interface FixedCodec<T> {
  readonly kind: 'fixed';
  readonly width: number;
  /** Writes exactly `width` bytes at `offset`; throws a ProtocolError for a value the field cannot hold. */
  write(value: T, target: Buffer, offset: number): void;
  /** Reads a value from exactly `width` bytes. */
  read(source: Buffer): T;
  /**
   * Optional fast form of `read` for hot loops: reads the `width` bytes at `offset`
   * of `source` without a view; same value, same checks, same errors as `read`.
   */
  readAt?(source: Buffer, offset: number): T;
  /**
   * Optional best-effort value for bytes `read` rejected, for fields where one
   * bad entry must not fail a whole reply (a listed file name). Decoders use it
   * instead of failing, and tell DecodeContext.onRepair. Never throws.
   */
  repair?(source: Buffer): T;
}

/** A part bitmap: ceil(parts / 8) raw bytes, the part count coming from the context. */
export interface BitmapCodec {
  readonly kind: 'bitmap';
}

/** Length-prefixed raw bytes (AREP's Lenchunk + data). */
export interface SizedBytesCodec {
  readonly kind: 'sized';
  readonly length: FixedCodec<number>;
}

/** A count followed by that many groups of fields (ALOO, AFCH, AREP). */
export interface ListCodec<Item extends Layout> {
  readonly kind: 'list';
  readonly count: FixedCodec<number>;
  readonly item: Item;
}

export type AnyCodec = FixedCodec<any> | BitmapCodec | SizedBytesCodec | ListCodec<any>;

export interface Field<N extends string = string, C extends AnyCodec = AnyCodec> {
  readonly name: N;
  readonly codec: C;
}
export type Layout = readonly Field[];

export type CodecValue<C> = C extends FixedCodec<infer T>
  ? T
  : C extends BitmapCodec | SizedBytesCodec
    ? Buffer
    : C extends ListCodec<infer Item>
      ? LayoutValue<Item>[]
      : never;

export type LayoutValue<L extends Layout> = {
  -readonly [F in L[number] as F['name']]: CodecValue<F['codec']>;
};

export function field<N extends string, C extends AnyCodec>(name: N, codec: C): Field<N, C> {
  return { name, codec };
}

const DIGITS = /^[0-9]+$/;

/** Decimal, left-padded with zeros to `width`; a value that does not fit is an error, never truncated. */
export function number(width: number, range: { min?: number; max?: number } = {}): FixedCodec<number> {
  const min = range.min ?? 0;
  const max = Math.min(range.max ?? Number.MAX_SAFE_INTEGER, 10 ** width - 1);
  const check = (n: number): void => {
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new OutOfRangeError(`${n} is outside ${min}..${max} (${width} digits)`);
    }
  };
  const read = (source: Buffer): number => {
    const text = source.toString('latin1');
    if (!DIGITS.test(text)) throw new BadNumberError(`${JSON.stringify(text)} is not ${width} decimal digits`);
    const n = Number(text);
    check(n);
    return n;
  };
  return {
    kind: 'fixed',
    width,
    write(value, target, offset) {
      check(value);
      target.write(String(value).padStart(width, '0'), offset, width, 'latin1');
    },
    read,
    readAt(source, offset) {
      let n = 0;
      for (let i = offset; i < offset + width; i++) {
        const d = (source[i] as number) - 0x30;
        // Anything but a digit: the string form reports it, with its exact error.
        if (!(d >= 0 && d <= 9)) return read(source.subarray(offset, offset + width));
        n = n * 10 + d;
      }
      check(n);
      return n;
    },
  };
}

// ignoreBOM: a name starting with U+FEFF is text like any other; the default
// (ignoreBOM false) silently dropped it on read, so such a name did not round-trip.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** The same, replacing each invalid sequence with U+FFFD (WHATWG "maximal subpart" rule) instead of failing. */
const utf8Replacing = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

const stripSpaces = (text: string): string => text.replace(/^ +| +$/g, '');

/** Longest prefix of `bytes` (UTF-8) that fits `width` without cutting a character in half. */
function utf8Prefix(bytes: Buffer, width: number): number {
  if (bytes.length <= width) return bytes.length;
  let end = width;
  // Back up over continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return end;
}

/** The longest prefix of `value` whose UTF-8 form fits `maxBytes`, never cutting a character in half. */
export function cutUtf8(value: string, maxBytes: number): string {
  const bytes = Buffer.from(value, 'utf8');
  return bytes.length <= maxBytes ? value : bytes.subarray(0, utf8Prefix(bytes, maxBytes)).toString('utf8');
}

/**
 * UTF-8 text, left-aligned and right-padded with spaces. Readers strip spaces on
 * both ends. Text longer than the field is cut at a character boundary (names
 * must still be shareable); bytes that are not UTF-8 are rejected. With
 * `repair`, a decoder that meets bytes that are not UTF-8 may take the text with
 * each bad sequence replaced by U+FFFD instead (names listed in replies, where
 * one bad name must not lose every other entry); writing is strict either way.
 */
export function text(width: number, options: { readonly repair?: boolean } = {}): FixedCodec<string> {
  const repair = options.repair ? (source: Buffer): string => stripSpaces(utf8Replacing.decode(source)) : undefined;
  return {
    ...(repair ? { repair } : {}),
    kind: 'fixed',
    width,
    write(value, target, offset) {
      const bytes = Buffer.from(value, 'utf8');
      const used = utf8Prefix(bytes, width);
      bytes.copy(target, offset, 0, used);
      target.fill(0x20, offset + used, offset + width);
    },
    read(source) {
      let decoded: string;
      try {
        decoded = utf8.decode(source);
      } catch {
        throw new BadTextError(`text field is not valid UTF-8`);
      }
      return stripSpaces(decoded);
    },
  };
}

function hexCodec(width: number, pattern: RegExp, what: string): FixedCodec<string> {
  const check = (s: string): void => {
    if (s.length !== width || !pattern.test(s)) throw new BadHexError(`${JSON.stringify(s)} is not a ${what}`);
  };
  return {
    kind: 'fixed',
    width,
    write(value, target, offset) {
      check(value);
      target.write(value, offset, width, 'latin1');
    },
    read(source) {
      const s = source.toString('latin1');
      check(s);
      return s;
    },
  };
}

/**
 * Filemd5: 32 hex digits. An opaque, case-sensitive identifier (other peers hash
 * content plus their addresses), so it is validated but never re-cased.
 */
export const md5: FixedCodec<string> = hexCodec(32, /^[0-9a-fA-F]{32}$/, '32-digit hex md5');

/** SessionID / Pktid: 16 hex characters (we generate upper case; others' are echoed unchanged). */
export const hexId: FixedCodec<string> = hexCodec(16, /^[0-9A-Fa-f]{16}$/, '16-digit hex id');

/** IPP2P: `AAA.BBB.CCC.DDD|` + full IPv6, 55 bytes. Readers accept leading zeros and upper case. */
export const ipp2p: FixedCodec<PeerAddress> = {
  kind: 'fixed',
  width: 55,
  write(value, target, offset) {
    const wire = `${padIPv4(value.ip4)}|${expandIPv6(value.ip6)}`;
    if (wire.length !== 55) throw new BadAddressError(`IPP2P ${JSON.stringify(wire)} is not 55 bytes`);
    target.write(wire, offset, 55, 'latin1');
  },
  read(source) {
    const s = source.toString('latin1');
    const bar = s.indexOf('|');
    if (bar < 0 || s.indexOf('|', bar + 1) >= 0) throw new BadAddressError(`IPP2P ${JSON.stringify(s)} needs one '|'`);
    return { ip4: normalizeIPv4(s.slice(0, bar).trim()), ip6: expandIPv6(s.slice(bar + 1).trim()) };
  },
};

/** PP2P: a TCP port, 5 digits, 1..65535. */
export const port: FixedCodec<number> = number(5, { min: 1, max: 65535 });

export const bitmap: BitmapCodec = { kind: 'bitmap' };

/** Bytes a bitmap of `parts` parts takes. */
export function bitmapWidth(parts: number): number {
  return Math.ceil(parts / 8);
}

export function sizedBytes(length: FixedCodec<number>): SizedBytesCodec {
  return { kind: 'sized', length };
}

export function list<Item extends Layout>(count: FixedCodec<number>, item: Item): ListCodec<Item> {
  return { kind: 'list', count, item };
}

/**
 * Reads a bitmap. Unused trailing bits must be 0 per the spec; we clear them
 * rather than reject, because a stray bit there carries no meaning and other
 * implementations are not known to be careful about it.
 */
export function readBitmap(source: Buffer, parts: number): Buffer {
  const copy = Buffer.from(source);
  const spare = copy.length * 8 - parts;
  if (spare > 0) copy[copy.length - 1] = (copy[copy.length - 1] as number) & (0xff << spare) & 0xff;
  return copy;
}

export function checkBitmap(value: Buffer, parts: number | undefined): void {
  if (parts !== undefined && value.length !== bitmapWidth(parts)) {
    throw new BadBitmapError(`bitmap of ${value.length} bytes for ${parts} parts (needs ${bitmapWidth(parts)})`);
  }
}
