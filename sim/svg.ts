/**
 * Line plots as SVG text, by hand: axes with a few round ticks, one polyline
 * per series, a legend. Enough for the simulator's three plots; no dependency.
 */
export interface Line {
  readonly label: string;
  /** [x, y] points, x ascending. */
  readonly points: readonly (readonly [number, number])[];
}

export interface Plot {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly lines: readonly Line[];
  /** Formats a tick value of the y axis. */
  readonly yFormat?: (v: number) => string;
}

const W = 720;
const H = 420;
const M = { left: 80, right: 20, top: 40, bottom: 50 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** About `n` round tick values covering [0, max]. */
export function ticks(max: number, n = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1]! < max) out.push(out[out.length - 1]! + step);
  return out;
}

export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

export function renderPlot(plot: Plot): string {
  const all = plot.lines.flatMap((l) => l.points);
  const xt = ticks(Math.max(1e-9, ...all.map((p) => p[0])));
  const yt = ticks(Math.max(1e-9, ...all.map((p) => p[1])));
  const xMax = xt[xt.length - 1]!;
  const yMax = yt[yt.length - 1]!;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => M.left + (x / xMax) * pw;
  const sy = (y: number): number => M.top + ph - (y / yMax) * ph;
  const fy = plot.yFormat ?? compact;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(plot.title)}</text>`);
  for (const v of xt) {
    out.push(`<line x1="${sx(v)}" y1="${M.top}" x2="${sx(v)}" y2="${M.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${sx(v)}" y="${M.top + ph + 18}" text-anchor="middle">${esc(compact(v))}</text>`);
  }
  for (const v of yt) {
    out.push(`<line x1="${M.left}" y1="${sy(v)}" x2="${M.left + pw}" y2="${sy(v)}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${sy(v) + 4}" text-anchor="end">${esc(fy(v))}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(plot.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(plot.yLabel)}</text>`);
  plot.lines.forEach((l, i) => {
    const c = COLOURS[i % COLOURS.length]!;
    const pts = l.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${pts}"/>`);
    out.push(`<line x1="${M.left + 12}" y1="${M.top + 14 + 16 * i}" x2="${M.left + 32}" y2="${M.top + 14 + 16 * i}" stroke="${c}" stroke-width="3"/>`);
    out.push(`<text x="${M.left + 38}" y="${M.top + 18 + 16 * i}">${esc(l.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Step points of an empirical CDF of `values` (fraction done by time x). */
export function cdfPoints(values: readonly number[]): [number, number][] {
  const s = [...values].sort((a, b) => a - b);
  const pts: [number, number][] = [[0, 0]];
  s.forEach((v, i) => {
    pts.push([v, i / s.length]);
    pts.push([v, (i + 1) / s.length]);
  });
  return pts;
}

/** A series of per-bin values as points (bin start times in seconds), thinned to at most `max` points by averaging. */
export function seriesPoints(values: readonly number[], binMs: number, max = 600): [number, number][] {
  const group = Math.max(1, Math.ceil(values.length / max));
  const pts: [number, number][] = [];
  for (let i = 0; i < values.length; i += group) {
    const chunk = values.slice(i, i + group);
    pts.push([((i + chunk.length / 2) * binMs) / 1000, chunk.reduce((a, b) => a + b, 0) / chunk.length]);
  }
  return pts;
}
