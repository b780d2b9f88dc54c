/**
 * "Who holds what" for a file with many holders, in a size the page can draw
 * and download often: holders sorted by parts held and cut into at most
 * `groups` groups of neighbours (one holder per group when they fit), each
 * drawn as `cols` cells, a cell being the share of the group's bits set over
 * the parts it covers (0..255). The heat map's holder counts per part go along,
 * bucketed (rarest of the bucket) when a file has more parts than `maxCounts`.
 */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});
import type { SwarmFile } from './swarm.js';

export interface SummaryGroup {
  /** `ip:port` of each member, most parts first. */
  peers: string[];
  /** Fewest and most parts held by a member. */
  held: [number, number];
  /** `cols` bytes, base64: 255 = every member holds every part of the cell. */
  cells: string;
}

export interface HolderSummary {
  md5: string;
  parts: number;
  holders: number;
  /** Parts per entry of `counts`. */
  bucket: number;
  /** Holders per part (or per bucket: the rarest part of it), base64 of `countBytes`-byte unsigned little-endian numbers (saturated). */
  counts: string;
  /** 1 when every count is below 256, else 2. */
  countBytes: 1 | 2;
  cols: number;
  groups: SummaryGroup[];
}

export const MAX_GROUPS = 64;
export const MAX_COLS = 1024;
const MAX_COUNTS = 8192;

export function summarise(file: SwarmFile, label: (sessionId: string) => string, groups: number, cols: number): HolderSummary {
  const parts = file.parts;
  const bucket = Math.max(1, Math.ceil(parts / MAX_COUNTS));
  const n = Math.ceil(parts / bucket);
  const mins = new Uint32Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    let min = Infinity;
    for (let p = i * bucket; p < Math.min(parts, (i + 1) * bucket); p++) min = Math.min(min, file.counts[p] ?? 0);
    mins[i] = Math.min(65535, min === Infinity ? 0 : min);
    if (mins[i]! > top) top = mins[i]!;
  }
  const countBytes = top < 256 ? 1 : 2;
  const counts = Buffer.alloc(n * countBytes);
  for (let i = 0; i < n; i++) {
    if (countBytes === 1) counts[i] = mins[i]!;
    else counts.writeUInt16LE(mins[i]!, i * 2);
  }
  const owners = [...file.owners].map(([sid, o]) => ({ sid, bm: o.bm, held: o.held, label: label(sid) }));
  owners.sort((a, b) => b.held - a.held || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const c = Math.max(1, Math.min(cols, parts || 1));
  const size = Math.max(1, Math.ceil(owners.length / Math.max(1, groups)));
  // Which cell each part falls in, and per bitmap byte the cell of all its 8 parts (-1 if they straddle two):
  // a member's bitmap is then summed a byte at a time, not a bit at a time.
  const cellOf = new Uint16Array(parts);
  const width = new Uint32Array(c);
  for (let x = 0; x < c && parts > 0; x++) {
    const p0 = Math.floor((x * parts) / c);
    const p1 = Math.max(p0 + 1, Math.floor(((x + 1) * parts) / c));
    for (let p = p0; p < Math.min(p1, parts); p++) cellOf[p] = x;
    width[x] = Math.min(p1, parts) - p0;
  }
  const bytes = Math.ceil(parts / 8);
  const byteCell = new Int32Array(bytes);
  for (let i = 0; i < bytes; i++) {
    const first = i * 8;
    const last = Math.min(parts, first + 8) - 1;
    byteCell[i] = cellOf[first] === cellOf[last] ? (cellOf[first] as number) : -1;
  }
  const out: SummaryGroup[] = [];
  const set = new Uint32Array(c);
  for (let g = 0; g < owners.length; g += size) {
    const members = owners.slice(g, g + size);
    set.fill(0);
    for (const m of members) {
      for (let i = 0; i < bytes; i++) {
        const b = m.bm[i] as number;
        if (b === 0) continue;
        const k = byteCell[i] as number;
        if (k >= 0) set[k]! += POPCOUNT[b] as number;
        else for (let bit = 0; bit < 8; bit++) if (b & (0x80 >> bit)) set[cellOf[i * 8 + bit] as number]!++;
      }
    }
    const cells = new Uint8Array(c);
    for (let x = 0; x < c && parts > 0; x++) cells[x] = Math.round((255 * (set[x] as number)) / ((width[x] as number) * members.length));
    out.push({
      peers: members.map((m) => m.label),
      held: [members[members.length - 1]!.held, members[0]!.held],
      cells: Buffer.from(cells).toString('base64'),
    });
  }
  return {
    md5: file.md5,
    parts,
    holders: owners.length,
    bucket,
    counts: counts.toString('base64'),
    countBytes,
    cols: c,
    groups: out,
  };
}
