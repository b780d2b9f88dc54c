/**
 * Part bitmaps as the wire carries them: part i is bit 0x80 >> (i % 8) of byte
 * floor(i / 8). Plain functions over Buffers so that stores, the tracker and
 * the peer share one definition.
 */
import { bitmapWidth } from './fields.js';

export function emptyBitmap(parts: number): Buffer {
  return Buffer.alloc(bitmapWidth(parts));
}

export function fullBitmap(parts: number): Buffer {
  const bm = Buffer.alloc(bitmapWidth(parts), 0xff);
  const spare = bm.length * 8 - parts;
  if (spare > 0) bm[bm.length - 1] = (0xff << spare) & 0xff;
  return bm;
}

export function hasPart(bm: Uint8Array, part: number): boolean {
  return (((bm[part >> 3] ?? 0) >> (7 - (part & 7))) & 1) === 1;
}

export function setPart(bm: Uint8Array, part: number): void {
  bm[part >> 3] = (bm[part >> 3] as number) | (0x80 >> (part & 7));
}

export function clearPart(bm: Uint8Array, part: number): void {
  bm[part >> 3] = (bm[part >> 3] as number) & ~(0x80 >> (part & 7));
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});

/** Set bits in one byte of a bitmap. */
export function bitsInByte(byte: number): number {
  return POPCOUNT[byte & 0xff] as number;
}

export function countParts(bm: Uint8Array): number {
  let n = 0;
  for (const b of bm) n += POPCOUNT[b] as number;
  return n;
}

export function isComplete(bm: Uint8Array, parts: number): boolean {
  return countParts(bm) === parts;
}

/** Indices of the parts set in `bm`, ascending. */
export function partsOf(bm: Uint8Array, parts: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < parts; i++) if (hasPart(bm, i)) out.push(i);
  return out;
}

export function bitmapFromParts(parts: number, held: Iterable<number>): Buffer {
  const bm = emptyBitmap(parts);
  for (const p of held) setPart(bm, p);
  return bm;
}

/** #part = ceil(LenFile / LenPart); an empty file has no parts. */
export function partCountOf(fileLength: number, partLength: number): number {
  return Math.ceil(fileLength / partLength);
}
