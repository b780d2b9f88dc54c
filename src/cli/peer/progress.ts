/**
 * Live progress bars (cli-progress), one per download, drawn from the peer's
 * status snapshots: parts, rate, ETA, owners. Only where nothing else is typed
 * into the terminal (the prompt shows progress in its own line instead).
 */
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { PeerStatus } from '../../peer/index.js';
import { formatBytes } from '../../units.js';

interface Bar {
  readonly bar: cliProgress.SingleBar;
  lastBytes: number;
  lastAt: number;
  rate: number;
}

/** Smoothed bytes/s and what the progress line says of it. */
export function progressFields(d: { have: number; parts: number; size: number; bytesDone: number; owners: number; activeOwners: number }, rate: number): { rate: string; eta: string; peers: string } {
  const left = Math.max(0, d.size - d.bytesDone);
  // Nobody to download from, or nothing arriving: no honest estimate.
  const eta = left === 0 ? '0s' : rate > 0 && d.owners > 0 ? formatDuration(left / rate) : '—';
  const n = d.activeOwners;
  return { rate: `${formatBytes(rate)}/s`, eta, peers: `${n} ${n === 1 ? 'peer' : 'peers'}` };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressView {
  private readonly multi: cliProgress.MultiBar;
  private readonly bars = new Map<string, Bar>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly status: () => PeerStatus, stream: NodeJS.WritableStream = process.stdout) {
    // Loaded here, on a terminal only: ~30 ms of every peer's start-up otherwise (--json, scripts, benchmarks).
    const bars = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
    this.multi = new bars.MultiBar(
      {
        format: '{name} |{bar}| {value}/{total} parts | {rate} | ETA {eta} | {peers}',
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        stream,
      },
      bars.Presets.shades_classic,
    );
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  add(md5: string, name: string, parts: number, have: number): void {
    if (this.bars.has(md5)) return;
    const bar = this.multi.create(parts, have, { name: name.slice(0, 24).padEnd(24), rate: '0 B/s', eta: '—', peers: '0 peers' });
    this.bars.set(md5, { bar, lastBytes: this.find(md5)?.bytesDone ?? 0, lastAt: Date.now(), rate: 0 });
  }

  private find(md5: string): PeerStatus['downloads'][number] | undefined {
    return this.status().downloads.find((d) => d.md5 === md5);
  }

  private tick(): void {
    const now = Date.now();
    const downloads = this.status().downloads;
    for (const [md5, b] of this.bars) {
      const d = downloads.find((x) => x.md5 === md5);
      if (!d) continue;
      const dt = (now - b.lastAt) / 1000;
      if (dt > 0) b.rate = 0.7 * b.rate + 0.3 * ((d.bytesDone - b.lastBytes) / dt);
      b.lastBytes = d.bytesDone;
      b.lastAt = now;
      b.bar.update(d.have, progressFields(d, b.rate));
    }
  }

  /** The download ended: one last frame with its final count (100 % when complete), then the bar goes. */
  done(md5: string): void {
    const b = this.bars.get(md5);
    if (!b) return;
    const d = this.find(md5);
    if (d) b.bar.update(d.have, { ...progressFields(d, b.rate), eta: d.have === d.parts ? '0s' : '—' });
    this.multi.update();
    this.bars.delete(md5);
    if (this.bars.size === 0) this.multi.stop();
  }

  /** Prints above the bars (cli-progress only flushes its log on a redraw, so print directly when none is shown). */
  log(text: string): void {
    if (this.bars.size === 0) process.stdout.write(`${text}\n`);
    else this.multi.log(`${text}\n`);
  }

  stop(): void {
    clearInterval(this.timer);
    this.multi.stop();
  }
}
