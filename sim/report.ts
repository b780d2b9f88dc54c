/** The simulator's outputs: a text table, a JSON object, SVG plots, and a comparison with bench:swarm --json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes, formatRate } from '../src/units.js';
import { formatTable } from '../bench/swarm.js';
import type { Spread } from './stats.js';
import { cdfPoints, compact, renderPlot, seriesPoints } from './svg.js';
import type { SimResult } from './swarm.js';

const s1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const r2 = (x: number, d: number): string => (Number.isFinite(x) && d > 0 ? (x / d).toFixed(2) : '-');

function spreadRow(label: string, s: Spread, dMin: number): (string | number)[] {
  return [label, String(s.n), s1(s.min), s1(s.median), s1(s.p99), s1(s.last), r2(s.median, dMin), r2(s.last, dMin)];
}

export function textReport(name: string, about: string, r: SimResult): string {
  const rows = [spreadRow('leechers', r.leechers, r.dMin)];
  if (r.freeRiders) rows.push(spreadRow('free riders', r.freeRiders, r.dMin));
  const t = r.tracker;
  const kinds = Object.entries(t.byKind).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `sim ${name}: ${about}`,
    '',
    formatTable(['peers', 'n', 'min s', 'median s', 'p99 s', 'last s', 'median/D_min', 'last/D_min'], rows),
    '',
    `D_min ${r.dMin.toFixed(1)} s (max(F/u_s, F/d_min, N·F/(u_s+Σu_i)))${r.incomplete > 0 ? `; ${r.incomplete} peers did not complete by ${r.endSeconds.toFixed(0)} s` : ''}`,
    `tracker: ${t.requests} requests (${kinds}); mean ${t.meanRequestsPerSec.toFixed(0)} req/s, peak ${t.peakRequestsPerSec.toFixed(0)} req/s; ` +
      `${formatBytes(t.bytesOut)} out, mean ${formatRate(t.meanBytesPerSec)}, peak ${formatRate(t.peakBytesPerSec)}; longest queue wait ${t.maxQueueMs.toFixed(0)} ms`,
    `bytes: ${formatBytes(r.deliveredBytes)} moved, ${formatBytes(r.wastedBytes)} wasted (${((100 * r.wastedBytes) / Math.max(1, r.deliveredBytes)).toFixed(2)} %: endgame copies, cut transfers), ${formatBytes(r.checkedBytes)} of cross-check copies; ${r.choked} choked requests, ${r.servedFromHold} served after a wait for a place`,
    `simulator: ${r.endSeconds.toFixed(1)} s simulated, ${r.events} events in ${r.cpuSeconds.toFixed(2)} s CPU, ${r.wallSeconds.toFixed(2)} s wall (${compact(r.eventsPerSecond)} events per CPU second), ${r.picks} picker calls`,
  ].join('\n');
}

/** The JSON form: everything but the per-bin series and per-peer rows (those go with --out). */
export function jsonReport(name: string, r: SimResult): Record<string, unknown> {
  const { series: _series, peers: _peers, ...rest } = r;
  return { scenario: name, ...rest };
}

export function writePlots(dir: string, name: string, r: SimResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [];
  const lines = [{ label: 'leechers', points: cdfPoints(r.peers.filter((p) => p.role === 'leecher' && p.seconds !== null).map((p) => p.seconds as number)) }];
  const fr = r.peers.filter((p) => p.role === 'free-rider' && p.seconds !== null).map((p) => p.seconds as number);
  if (fr.length > 0) lines.push({ label: 'free riders', points: cdfPoints(fr) });
  lines.push({ label: `D_min ${r.dMin.toFixed(1)} s`, points: [[r.dMin, 0], [r.dMin, 1]] });
  files.push([`${name}-cdf.svg`, renderPlot({ title: `${name}: completion times`, xLabel: 'seconds from arrival', yLabel: 'fraction of peers done', lines, yFormat: (v) => v.toFixed(1) })]);
  const bin = r.series.binMs;
  files.push([`${name}-throughput.svg`, renderPlot({ title: `${name}: swarm throughput`, xLabel: 'simulated seconds', yLabel: 'bytes/s delivered', lines: [{ label: 'all transfers', points: seriesPoints(r.series.delivered, bin) }] })]);
  files.push([
    `${name}-tracker.svg`,
    renderPlot({ title: `${name}: tracker load`, xLabel: 'simulated seconds', yLabel: 'requests/s', lines: [{ label: 'requests/s', points: seriesPoints(r.series.trackerRequests, bin) }] }),
  ]);
  files.push([
    `${name}-tracker-bytes.svg`,
    renderPlot({ title: `${name}: tracker egress`, xLabel: 'simulated seconds', yLabel: 'bytes/s', lines: [{ label: 'reply bytes/s', points: seriesPoints(r.series.trackerBytes, bin) }] }),
  ]);
  for (const [f, text] of files) writeFileSync(join(dir, f), text);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ ...jsonReport(name, r), series: r.series, peers: r.peers })}\n`);
  return files.map(([f]) => join(dir, f));
}

/** bench:swarm --json fields the comparison reads. */
export interface BenchSummary {
  d_min_s: number;
  last_s: number | null;
  mean_s: number | null;
  last_self_s?: number | null;
  mean_self_s?: number | null;
  contributor_mean_s?: number | null;
  free_rider_mean_s?: number | null;
  load_avg?: number;
}

/** Side by side: the simulated figures and a real bench:swarm run (its --json output). */
export function compareReport(r: SimResult, bench: BenchSummary): string {
  const lastSim = Math.max(r.leechers.last, r.freeRiders?.last ?? -Infinity);
  const all = r.peers.filter((p) => p.role !== 'seed' && p.seconds !== null).map((p) => p.seconds as number);
  const meanSim = all.reduce((a, b) => a + b, 0) / Math.max(1, all.length);
  const row = (label: string, sim: number, real: number | null | undefined): (string | number)[] => [
    label,
    s1(sim),
    real == null ? '-' : s1(real),
    real == null ? '-' : `${(((sim - real) / real) * 100).toFixed(1)} %`,
  ];
  const rows = [
    row('D_min', r.dMin, bench.d_min_s),
    row('last (common start)', lastSim, bench.last_s),
    row('mean (common start)', meanSim, bench.mean_s),
    row("last (peer's own clock)", lastSim, bench.last_self_s),
    row("mean (peer's own clock)", meanSim, bench.mean_self_s),
  ];
  if (r.freeRiders) {
    rows.push(row('contributors mean', r.leechers.mean, bench.contributor_mean_s));
    rows.push(row('free riders mean', r.freeRiders.mean, bench.free_rider_mean_s));
  }
  return `${formatTable(['seconds', 'sim', 'bench:swarm', 'sim vs real'], rows)}\n(bench load average ${bench.load_avg ?? '?'}: above the cores, the CPU shaped the real times)`;
}
