import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../../src/errors.js';
import {
  COMMANDS,
  type Command,
  type Message,
  MessageReader,
  TRACKER_REQUESTS,
  compressIPv6,
  decodeMessage,
  encodeMessage,
} from '../../src/protocol/index.js';
import { FIXTURES } from './fixtures.js';

// ---- Field arbitraries (valid values only) ----------------------------------------

/** fc.record with plain objects (the decoder builds plain objects, and deepEqual checks prototypes). */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const HEX_MIXED = '0123456789abcdefABCDEF';
const HEX_UPPER = '0123456789ABCDEF';
const hexString = (alphabet: string, length: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength: length, maxLength: length }).map((a) => a.join(''));

const md5Arb = hexString(HEX_MIXED, 32);
const idArb = hexString(HEX_UPPER, 16);

/** Cuts `s` to at most `width` UTF-8 bytes on a code point boundary, then drops edge spaces. */
function fitText(s: string, width: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > width) break;
    out += ch;
    bytes += n;
  }
  return out.replace(/^ +| +$/g, '');
}
/** Printable ASCII or any Unicode (valid code points, no lone surrogates), fitted to the width. */
const textArb = (width: number) =>
  fc
    .oneof(
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: width }),
      fc.string({ unit: 'grapheme', maxLength: width }),
      fc.string({ unit: 'binary', maxLength: width }),
    )
    .map((s) => fitText(s, width));

const ip4Arb = fc.ipV4();
/** Canonical IPv6: 8 groups of 4 lowercase hex digits. */
const ip6Arb = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16).padStart(4, '0')).join(':'));
const addressArb = rec({ ip4: ip4Arb, ip6: ip6Arb });
const portArb = fc.integer({ min: 1, max: 65535 });
const digits = (width: number, min = 0) => fc.integer({ min, max: 10 ** width - 1 });

function bitmapArb(parts: number) {
  const width = Math.ceil(parts / 8);
  return fc.uint8Array({ minLength: width, maxLength: width }).map((a) => {
    const bm = Buffer.from(a);
    const spare = width * 8 - parts;
    if (spare > 0) bm[width - 1] = (bm[width - 1] as number) & ((0xff << spare) & 0xff);
    return bm;
  });
}

/** A valid message of every command; AFCH bitmaps are for a `parts`-part file. */
function messageArb(parts: number): fc.Arbitrary<Message> {
  const arbs: Record<Command, fc.Arbitrary<Message>> = {
    LOGI: rec({ command: fc.constant('LOGI' as const), address: addressArb, port: portArb }),
    ALGI: rec({ command: fc.constant('ALGI' as const), sessionId: idArb }),
    ADDR: rec({
      command: fc.constant('ADDR' as const),
      sessionId: idArb,
      fileLength: digits(10),
      partLength: digits(6, 1),
      fileName: textArb(100),
      md5: md5Arb,
    }),
    AADR: rec({ command: fc.constant('AADR' as const), parts: digits(8) }),
    LOOK: rec({ command: fc.constant('LOOK' as const), sessionId: idArb, query: textArb(20) }),
    ALOO: rec({
      command: fc.constant('ALOO' as const),
      files: fc.array(
        rec({ md5: md5Arb, fileName: textArb(100), fileLength: digits(10), partLength: digits(6, 1) }),
        { maxLength: 4 },
      ),
    }),
    FCHU: rec({ command: fc.constant('FCHU' as const), sessionId: idArb, md5: md5Arb }),
    AFCH: rec({
      command: fc.constant('AFCH' as const),
      peers: fc.array(rec({ address: addressArb, port: portArb, bitmap: bitmapArb(parts) }), { maxLength: 4 }),
    }),
    RPAD: rec({ command: fc.constant('RPAD' as const), sessionId: idArb, md5: md5Arb, part: digits(8) }),
    APAD: rec({ command: fc.constant('APAD' as const), partsHeld: digits(8) }),
    LOGO: rec({ command: fc.constant('LOGO' as const), sessionId: idArb }),
    ALOG: rec({ command: fc.constant('ALOG' as const), partsOwned: digits(10) }),
    NLOG: rec({ command: fc.constant('NLOG' as const), partsDown: digits(10) }),
    RETP: rec({ command: fc.constant('RETP' as const), md5: md5Arb, part: digits(8) }),
    AREP: rec({
      command: fc.constant('AREP' as const),
      chunks: fc.array(rec({ data: fc.uint8Array({ minLength: 1, maxLength: 5000 }).map((a) => Buffer.from(a)) }), {
        maxLength: 5,
      }),
    }),
    QUER: rec({
      command: fc.constant('QUER' as const),
      pktId: idArb,
      address: addressArb,
      port: portArb,
      ttl: digits(2),
      query: textArb(20),
    }),
    AQUE: rec({
      command: fc.constant('AQUE' as const),
      pktId: idArb,
      address: addressArb,
      port: portArb,
      md5: md5Arb,
      fileName: textArb(100),
    }),
  };
  return fc.oneof(...COMMANDS.map((c) => arbs[c]));
}

const partsArb = fc.integer({ min: 0, max: 100 });
const withParts = partsArb.chain((parts) => rec({ parts: fc.constant(parts), message: messageArb(parts) }));
const streamArb = partsArb.chain((parts) =>
  rec({ parts: fc.constant(parts), messages: fc.array(messageArb(parts), { minLength: 1, maxLength: 6 }) }),
);

/** The length of a message, summed from the spec's field widths (not from the codec's table). */
function specLength(m: Message, parts: number): number {
  switch (m.command) {
    case 'LOGI': return 4 + 55 + 5;
    case 'ALGI': return 4 + 16;
    case 'ADDR': return 4 + 16 + 10 + 6 + 100 + 32;
    case 'AADR': return 4 + 8;
    case 'LOOK': return 4 + 16 + 20;
    case 'ALOO': return 4 + 3 + m.files.length * (32 + 100 + 10 + 6);
    case 'FCHU': return 4 + 16 + 32;
    case 'AFCH': return 4 + 3 + m.peers.length * (55 + 5 + Math.ceil(parts / 8));
    case 'RPAD': return 4 + 16 + 32 + 8;
    case 'APAD': return 4 + 8;
    case 'LOGO': return 4 + 16;
    case 'ALOG': return 4 + 10;
    case 'NLOG': return 4 + 10;
    case 'RETP': return 4 + 32 + 8;
    case 'AREP': return 4 + 6 + m.chunks.reduce((n, c) => n + 5 + c.data.length, 0);
    case 'QUER': return 4 + 16 + 55 + 5 + 2 + 20;
    case 'AQUE': return 4 + 16 + 55 + 5 + 32 + 100;
  }
}

/** Runs `f`; anything thrown must be a ProtocolError. */
function onlyProtocolErrors(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`threw a non-protocol error: ${String(err)}`, { cause: err });
  }
}

type Outcome = { ok: true; messages: Message[] } | { ok: false; code: string };
/** What `f` returned, or the code of the ProtocolError it threw (anything else fails the test). */
function outcome(f: () => Message[]): Outcome {
  try {
    return { ok: true, messages: f() };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw new Error(`threw a non-protocol error: ${String(err)}`, { cause: err });
    return { ok: false, code: err.code };
  }
}

/**
 * Feeds `bytes` to decodeMessage and, cut in pieces, to a MessageReader: both
 * only ever throw ProtocolErrors, and they agree: the same message, or the same
 * error (except LONG_MESSAGE, which a stream reader sees as the start of the next
 * message, and an empty input, which is a stream that ended cleanly).
 */
function decoderAndReaderAgree(bytes: Buffer, parts: number | undefined, fractions: number[]): void {
  const one = outcome(() => [decodeMessage(bytes, COMMANDS, parts === undefined ? {} : { parts })]);
  const reader = readerOf(parts);
  const streamed = outcome(() => {
    const out: Message[] = [];
    for (const p of pieces(bytes, fractions)) out.push(...reader.push(p));
    reader.end();
    return out;
  });
  if (one.ok) assert.deepEqual(streamed, one);
  else if (one.code !== 'BT_LONG_MESSAGE' && bytes.length > 0) assert.deepEqual(streamed, one);
}

/** A reader for every command; without `parts` it has no context, as the tracker client reads most replies. */
function readerOf(parts: number | undefined): MessageReader {
  return new MessageReader({ accept: COMMANDS, context: () => (parts === undefined ? {} : { parts }) });
}

/** Cuts `bytes` at the given fractions of its length. */
function pieces(bytes: Buffer, fractions: number[]): Buffer[] {
  const cuts = [...new Set(fractions.map((x) => Math.floor(x * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(at, cut));
    at = cut;
  }
  return out;
}
const fractionsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

// ---- Properties --------------------------------------------------------------------

describe('codec properties', () => {
  test('encode then decode gives the message back', () => {
    fc.assert(
      fc.property(withParts, ({ parts, message }) => {
        const bytes = encodeMessage(message, { parts });
        assert.deepEqual(decodeMessage(bytes, COMMANDS, { parts }), message);
      }),
      { numRuns: 300 },
    );
  });

  test('encoded length is the sum of the spec field widths', () => {
    fc.assert(
      fc.property(withParts, ({ parts, message }) => {
        assert.equal(encodeMessage(message, { parts }).length, specLength(message, parts));
      }),
      { numRuns: 300 },
    );
  });

  test('any IPv6 spelling goes out as the full lowercase form', () => {
    fc.assert(
      fc.property(ip4Arb, ip6Arb, fc.constantFrom('full', 'upper', 'compressed', 'bracketed'), (ip4, ip6, form) => {
        const typed =
          form === 'full' ? ip6 : form === 'upper' ? ip6.toUpperCase() : form === 'compressed' ? compressIPv6(ip6) : `[${ip6}]`;
        const bytes = encodeMessage({ command: 'LOGI', address: { ip4, ip6: typed }, port: 5000 });
        const ip4Wire = ip4.split('.').map((o) => o.padStart(3, '0')).join('.');
        assert.equal(bytes.toString('latin1'), `LOGI${ip4Wire}|${ip6}05000`);
        assert.deepEqual(decodeMessage(bytes, TRACKER_REQUESTS), { command: 'LOGI', address: { ip4, ip6 }, port: 5000 });
      }),
      { numRuns: 300 },
    );
  });

  test('text longer than its field is cut to a prefix that fits, never mid-character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (s) => {
        const bytes = encodeMessage({ command: 'LOOK', sessionId: '0000000000000001', query: s });
        assert.equal(bytes.length, 40);
        const q = (decodeMessage(bytes, TRACKER_REQUESTS) as { query: string }).query;
        assert.equal(q, fitText(s, 20));
      }),
      { numRuns: 300 },
    );
  });

  test('a stream of messages split at random points reads back the same messages', () => {
    fc.assert(
      fc.property(streamArb, fractionsArb, ({ parts, messages }, fractions) => {
        const stream = Buffer.concat(messages.map((m) => encodeMessage(m, { parts })));
        const reader = readerOf(parts);
        const out: Message[] = [];
        for (const p of pieces(stream, fractions)) out.push(...reader.push(p));
        reader.end();
        assert.deepEqual(out, messages);
      }),
      { numRuns: 200 },
    );
  });
});

describe('robustness: bad input only ever raises ProtocolErrors', () => {
  const garbageArb = fc.oneof(
    fc.uint8Array({ maxLength: 400, size: 'max' }).map((a) => Buffer.from(a)),
    // A real command followed by garbage biased towards digits, hex and spaces, to get past the first field.
    fc
      .tuple(
        fc.constantFrom(...COMMANDS),
        fc.array(
          fc.oneof(
            fc.constantFrom(...'0123456789 abcdefABCDEF.:|'.split('')).map((c) => c.charCodeAt(0)),
            fc.integer({ min: 0, max: 255 }),
          ),
          { maxLength: 400, size: 'max' },
        ),
      )
      .map(([c, rest]) => Buffer.concat([Buffer.from(c, 'latin1'), Buffer.from(rest)])),
  );

  test('random garbage into decodeMessage and MessageReader', () => {
    fc.assert(
      fc.property(garbageArb, fc.option(partsArb, { nil: undefined }), fractionsArb, (bytes, parts, fractions) => {
        onlyProtocolErrors(() => decodeMessage(bytes, TRACKER_REQUESTS, parts === undefined ? {} : { parts }));
        decoderAndReaderAgree(bytes, parts, fractions);
      }),
      { numRuns: 500 },
    );
  });

  const mutatedArb = withParts.chain(({ parts, message }) => {
    const bytes = encodeMessage(message, { parts });
    return fc
      .record({
        edits: fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        tail: fc.uint8Array({ maxLength: 20 }),
        cut: fc.nat({ max: bytes.length }),
        how: fc.constantFrom('mutate', 'append', 'truncate'),
      })
      .map(({ edits, tail, cut, how }) => {
        let out = Buffer.from(bytes);
        if (how === 'mutate') for (const [at, b] of edits) out[at] = b;
        if (how === 'append') out = Buffer.concat([out, Buffer.from(tail.length ? tail : [0x30])]);
        if (how === 'truncate') out = out.subarray(0, Math.min(cut, out.length - 1));
        return { parts, bytes: out, how };
      });
  });

  test('valid messages mutated, with garbage appended, or truncated', () => {
    fc.assert(
      fc.property(mutatedArb, fractionsArb, ({ parts, bytes, how }, fractions) => {
        // Appending to or cutting a whole message must be refused by the one-shot decoder.
        if (how === 'append' || how === 'truncate') {
          assert.throws(() => decodeMessage(bytes, COMMANDS, { parts }), ProtocolError);
        }
        decoderAndReaderAgree(bytes, parts, fractions);
      }),
      { numRuns: 500 },
    );
  });

  test('a truncated fixture always ends in SHORT_MESSAGE at end()', () => {
    for (const f of FIXTURES) {
      for (const cut of [1, Math.floor(f.bytes.length / 2), f.bytes.length - 1]) {
        const reader = new MessageReader({ accept: f.accept, context: () => f.ctx ?? {} });
        assert.deepEqual(reader.push(f.bytes.subarray(0, cut)), []);
        assert.throws(() => reader.end(), { code: 'BT_SHORT_MESSAGE' }, `${f.name} cut at ${cut}`);
      }
    }
  });
});
