/**
 * "Who holds what" for a file with many holders, in a size the page can draw
 * and download often: holders sorted by parts held and cut into at most
 * `groups` groups of neighbours (one holder per group when they fit), each
 * drawn as `cols` cells, a cell being the share of the group's bits set over
 * the parts it covers (0..255). The heat map's holder counts per part go along,
 * bucketed (rarest of the bucket) when a file has more parts than `maxCounts`.
 */
import { hasPart } from '../protocol/bitfield.js';
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
  /** Holders per part (or per bucket: the rarest part of it), uint16 little-endian, saturated, base64. */
  counts: string;
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
  const counts = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    let min = Infinity;
    for (let p = i * bucket; p < Math.min(parts, (i + 1) * bucket); p++) min = Math.min(min, file.counts[p] ?? 0);
    counts.writeUInt16LE(Math.min(65535, min === Infinity ? 0 : min), i * 2);
  }
  const owners = [...file.owners].map(([sid, o]) => ({ sid, bm: o.bm, held: o.held, label: label(sid) }));
  owners.sort((a, b) => b.held - a.held || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  const c = Math.max(1, Math.min(cols, parts || 1));
  const size = Math.max(1, Math.ceil(owners.length / Math.max(1, groups)));
  const out: SummaryGroup[] = [];
  for (let g = 0; g < owners.length; g += size) {
    const members = owners.slice(g, g + size);
    const cells = new Uint8Array(c);
    for (let x = 0; x < c && parts > 0; x++) {
      const p0 = Math.floor((x * parts) / c);
      const p1 = Math.max(p0 + 1, Math.floor(((x + 1) * parts) / c));
      let set = 0;
      for (const m of members) for (let p = p0; p < p1; p++) if (hasPart(m.bm, p)) set++;
      cells[x] = Math.round((255 * set) / ((p1 - p0) * members.length));
    }
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
    cols: c,
    groups: out,
  };
}
