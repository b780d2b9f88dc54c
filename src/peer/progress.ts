/** Live progress bars (cli-progress MultiBar), one per download: parts, rate, ETA, peers. */
import cliProgress from 'cli-progress';
import type { Peer } from './peer.js';

function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  if (bytesPerSecond >= 1e3) return `${(bytesPerSecond / 1e3).toFixed(0)} kB/s`;
  return `${bytesPerSecond.toFixed(0)} B/s`;
}

export class ProgressView {
  private readonly multi: cliProgress.MultiBar;
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; lastBytes: number; lastAt: number; rate: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly peer: Peer) {
    this.multi = new cliProgress.MultiBar(
      {
        format: '{name} |{bar}| {value}/{total} parts | {rate} | ETA {eta_formatted} | {peers} peers',
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  add(md5: string, name: string, parts: number, have: number): void {
    if (this.bars.has(md5)) return;
    const bar = this.multi.create(parts, have, { name: name.slice(0, 24).padEnd(24), rate: formatRate(0), peers: 0 });
    this.bars.set(md5, { bar, lastBytes: this.peer.downloads.get(md5)?.bytesDone ?? 0, lastAt: Date.now(), rate: 0 });
  }

  private tick(): void {
    const now = Date.now();
    for (const [md5, b] of this.bars) {
      const d = this.peer.downloads.get(md5);
      if (!d) continue;
      const dt = (now - b.lastAt) / 1000;
      if (dt > 0) b.rate = 0.7 * b.rate + 0.3 * ((d.bytesDone - b.lastBytes) / dt);
      b.lastBytes = d.bytesDone;
      b.lastAt = now;
      b.bar.update(d.have, { rate: formatRate(b.rate), peers: d.peers });
    }
  }

  done(md5: string): void {
    const b = this.bars.get(md5);
    if (!b) return;
    this.tick();
    this.multi.remove(b.bar);
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
