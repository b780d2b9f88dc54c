/**
 * `bugtorrent peer`: share, search and download. Interactive (a prompt and live
 * progress bars) when stdin is a terminal; otherwise driven by --share/--get and
 * optionally --json events on stdout (one object per line).
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { ArgumentError, ErrorCode, RemoteError, isBugTorrentError } from '../errors.js';
import { LOG_LEVELS, type LogLevel, type Logger, createLogger } from '../log.js';
import { DEFAULT_PART_LENGTH, DEFAULT_PEER_PORT, MAX_CHUNK, countParts, parseHostPort } from '../protocol/index.js';
import { parseRate } from '../peer/bandwidth/index.js';
import { type BandwidthPolicy, createBandwidthPolicy } from '../peer/bandwidth/policy.js';
import { formatBytes, formatRate } from '../peer/bandwidth/rate.js';
import type { RoundResult } from '../peer/choke/choker.js';
import { type MetricsServer, type PeerMetricsSnapshot, createPeerRegistry, startPeerMetricsServer } from '../dashboard/peer-metrics.js';
import {
  type FloodCliOptions,
  type FloodService,
  type Hit,
  type HitGroup,
  addFloodOptions,
  createFloodFromOptions,
  formatHitList,
  formatNeighbor,
  groupHits,
  hitEvent,
  lookupHit,
  parseFloodOptions,
  parseQuerCommand,
  resolveHitRef,
} from '../peer/flood/index.js';
import { Peer, type PeerEvent } from '../peer/peer.js';
import type { DownloadEvent } from '../peer/downloader.js';
import { ProgressView } from '../peer/progress.js';

interface RawOptions extends FloodCliOptions {
  tracker: string;
  ip4?: string;
  ip6?: string;
  port: string;
  dir: string;
  partSize: string;
  share: string[];
  get: string[];
  exitWhenDone?: boolean;
  seedTime?: string;
  json?: boolean;
  upRate: string;
  downRate: string;
  upload: boolean;
  logLevel?: string;
  logoutRetry: string;
  pollInterval: string;
  stallTimeout: string;
  chunkSize: string;
  maxPerPeer: string;
  maxInFlight: string;
  uploadSlots: string;
  peersInterval: string;
  httpPort?: string;
  httpHost: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text.trim());
  if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ArgumentError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function seconds(flag: string, text: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10 ** 7) throw new ArgumentError(`${flag} must be a number of seconds, got ${JSON.stringify(text)}`);
  return n;
}

export function registerPeerCommand(program: Command): void {
  const command = program
    .command('peer')
    .description('run a peer: share files, search the tracker, download and seed')
    .requiredOption('--tracker <host:port>', 'the tracker to use')
    .option('--ip4 <addr>', 'IPv4 address to announce, listen on and connect from (default: first non-loopback, else 127.0.0.1)')
    .option('--ip6 <addr>', 'IPv6 address to announce, listen on and connect from (default: first global, else ::1)')
    .option('--port <port>', 'TCP port for other peers (0 picks a free one)', String(DEFAULT_PEER_PORT))
    .option('--dir <dir>', 'download folder', '.')
    .option('--part-size <bytes>', 'part length for files this peer shares', String(DEFAULT_PART_LENGTH))
    .option('--share <file>', 'share a file (repeatable)', collect, [])
    .option('--get <md5>', 'download a file by md5 (repeatable)', collect, [])
    .option('--exit-when-done', 'log out and exit once every --get is complete and verified')
    .option('--seed-time <seconds>', 'after every --get is done, seed this long, then log out and exit')
    .option('--json', 'one JSON event per line on stdout')
    .option('--up-rate <rate>', 'upload limit, e.g. 2MB, 500KB; 0 = none', '0')
    .option('--down-rate <rate>', 'download limit over all transfers; 0 = none', '0')
    .option('--no-upload', 'never upload (answer no RETP)')
    .option('--upload-slots <n>', 'peers served at once by tit-for-tat (one optimistic slot comes on top)', '4')
    .option('--peers-interval <seconds>', 'with --json, emit a "peers" event (bytes, rates, choke state per remote peer) this often', '5')
    .option('--http-port <port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (0 picks a free port)')
    .option('--http-host <host>', 'address for --http-port', '127.0.0.1')
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`)
    .option('--logout-retry <seconds>', 'when the tracker refuses to log us out, ask again this often', '5')
    .option('--poll-interval <seconds>', 'ask the tracker who holds what this often while downloading (fresh availability keeps uploads busy)', '1')
    .option('--stall-timeout <seconds>', 'give up on an owner that sends nothing for this long', '10')
    .option('--chunk-size <bytes>', 'upload chunk size (AREP)', '4096')
    .option('--max-per-peer <n>', 'parts in flight per owner', '4')
    .option('--max-in-flight <n>', 'parts in flight per download', '12');
  addFloodOptions(command).action(async (raw: RawOptions) => {
      try {
        await runPeer(raw);
      } catch (err) {
        if (err instanceof ArgumentError) {
          process.stderr.write(`bugtorrent peer: ${err.message} (${err.code})\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}

const MD5 = /^[0-9a-fA-F]{32}$/;

async function runPeer(raw: RawOptions): Promise<void> {
  const tracker = parseHostPort(raw.tracker, 3000);
  const interactive = Boolean(process.stdin.isTTY) && !raw.json;
  if (raw.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(raw.logLevel)) {
    throw new ArgumentError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  for (const md5 of raw.get) if (!MD5.test(md5)) throw new ArgumentError(`--get wants a 32-digit hex md5, got ${JSON.stringify(md5)}`);
  const upRate = parseRate(raw.upRate);
  const seedTime = raw.seedTime === undefined ? undefined : seconds('--seed-time', raw.seedTime);
  const log = createLogger({ level: (raw.logLevel as LogLevel | undefined) ?? (interactive ? 'warn' : 'info'), name: 'peer' });
  const downRate = parseRate(raw.downRate);
  const flood = parseFloodOptions(raw);
  // Token buckets, tit-for-tat choker and traffic accounting (src/peer/bandwidth, src/peer/choke).
  const uploadSlots = integer('--upload-slots', raw.uploadSlots, 1, 64);
  const peersIntervalMs = seconds('--peers-interval', raw.peersInterval) * 1000;
  const httpPort = raw.httpPort === undefined ? undefined : integer('--http-port', raw.httpPort, 0, 65535);
  let onRound: (r: RoundResult) => void = () => undefined;
  // Files we share as their source: seed spreading puts each part into the swarm once before any twice.
  const origins = new Map<string, number>();
  const bw = createBandwidthPolicy({
    upRate, downRate, noUpload: raw.upload === false, log, choker: { uploadSlots, onRound: (r) => onRound(r) },
    origin: (md5) => origins.get(md5) ?? null,
  });
  let floodService: FloodService | null = null;
  const peer = new Peer({
    trackerHost: tracker.host,
    trackerPort: tracker.port,
    ip4: raw.ip4,
    ip6: raw.ip6,
    port: integer('--port', raw.port, 0, 65535),
    dir: raw.dir,
    partSize: integer('--part-size', raw.partSize, 1, 999_999),
    chunkSize: integer('--chunk-size', raw.chunkSize, 1, MAX_CHUNK),
    upThrottle: bw.upThrottle,
    downThrottle: bw.downThrottle,
    admission: bw.admission,
    traffic: bw.traffic,
    // Flooding search (src/peer/flood): the listener hands QUER/AQUE over once the service exists.
    handlers: {
      QUER: (m, r) => floodService?.onQuer(m, r),
      AQUE: (m, r) => floodService?.onAque(m, r),
    },
    onHolders: (holders, md5) => {
      for (const h of holders) floodService?.learnNeighbor(h.address, h.port);
      // tit-for-tat identity: remote IPv6 -> that owner's IPv4; peers gone from the lists are forgotten
      bw.learnHolders(md5, holders.filter((h) => h.address.ip4 !== peer.ip4));
    },
    swarmWatchMs: 10_000,
    tuning: {
      pollMs: seconds('--poll-interval', raw.pollInterval) * 1000 || 3000,
      stallMs: seconds('--stall-timeout', raw.stallTimeout) * 1000 || 10_000,
      maxPerOwner: integer('--max-per-peer', raw.maxPerPeer, 1, 64),
      maxInFlight: integer('--max-in-flight', raw.maxInFlight, 1, 256),
    },
    log,
  });
  const ui = new PeerUi(peer, log, { json: Boolean(raw.json), interactive, logoutRetryMs: seconds('--logout-retry', raw.logoutRetry) * 1000 || 5000, bw });
  onRound = (r) => ui.choke(r);
  peer.on('peer-event', (e: PeerEvent) => {
    if (e.event === 'shared') origins.set(e.md5, e.parts);
  });
  let metrics: MetricsServer | null = null;
  let peersTimer: NodeJS.Timeout | null = null;
  try {
    await peer.start();
    bw.start();
    if (raw.json && peersIntervalMs > 0) {
      peersTimer = setInterval(() => ui.peers(), peersIntervalMs);
      peersTimer.unref();
    }
    if (httpPort !== undefined) {
      metrics = await startPeerMetricsServer({ registry: createPeerRegistry(() => metricsSnapshot(peer, bw)), host: raw.httpHost, port: httpPort, logger: log });
      ui.metrics(raw.httpHost, metrics.port);
    }
    floodService = createFloodFromOptions(flood, {
      self: { address: peer.address, port: peer.port },
      sharedFiles: () => peer.store.all().filter((f) => f.complete),
      logger: log.child({ part: 'flood' }),
    });
  } catch (err) {
    ui.error(err);
    process.exitCode = 1;
    await peer.close();
    return;
  }
  ui.onClose(() => {
    if (peersTimer) clearInterval(peersTimer);
    void metrics?.close();
    bw.stop();
    floodService?.close();
  });
  ui.flood = { service: floodService, ttl: flood.ttl, waitMs: flood.waitMs };
  // --quer (and --get-hits: every distinct md5 found is downloaded as its first hit arrives).
  const hitDownloads: Promise<DownloadEvent>[] = [];
  let queryDone: Promise<void> = Promise.resolve();
  if (flood.query) {
    const q = flood.query;
    const fetching = new Set<string>();
    let pktId = '';
    queryDone = floodService
      .query(q.text, {
        ttl: q.ttl,
        waitMs: q.waitMs,
        onStart: (s) => {
          pktId = s.pktId;
          ui.queryStarted(s);
        },
        onHit: (hit) => {
          ui.hit(hit);
          if (q.getHits && !fetching.has(hit.md5)) {
            fetching.add(hit.md5);
            hitDownloads.push(ui.fetchHit(hit.md5, hit.name));
          }
        },
      })
      .then(
        (hits) => {
          ui.queryDone(pktId, hits);
          if (q.getHits && hits.length === 0) {
            ui.error(new RemoteError(ErrorCode.UNKNOWN_FILE, `no peer answered the search for ${JSON.stringify(q.text)}: nothing to get`));
            process.exitCode = 1;
          }
        },
        (err: unknown) => {
          ui.error(err);
          process.exitCode = 1;
        },
      );
  }
  for (const path of raw.share) {
    try {
      await peer.share(path);
    } catch (err) {
      ui.error(err);
    }
  }
  const results = raw.get.map((md5) => peer.get(md5).done);
  // Downloads interrupted earlier in this folder carry on too (they do not hold up --exit-when-done).
  for (const md5 of await peer.unfinished()) {
    if (!raw.get.includes(md5)) {
      log.info({ md5 }, 'resuming an interrupted download found in the folder');
      void peer.get(md5).done;
    }
  }
  if (interactive) {
    await ui.repl();
    return;
  }
  ui.onSignals();
  if (raw.exitWhenDone || seedTime !== undefined) {
    await queryDone;
    const outcomes = [...(await Promise.all(results)), ...(await Promise.all(hitDownloads))];
    const failed = outcomes.some((o: DownloadEvent) => o.type !== 'complete');
    if (failed) process.exitCode = 1;
    if (seedTime !== undefined && seedTime > 0) await ui.sleepUnlessQuit(seedTime * 1000);
    await ui.quit();
  } else {
    await ui.untilQuit();
  }
}

/** Output (JSON lines or text), signals, interactive prompt, and the logout dance. */
class PeerUi {
  private quitting = false;
  private quitRequests = 0;
  private wakeQuit: (() => void) | null = null;
  private quitRequested: Promise<void>;
  private resolveQuitRequested!: () => void;
  private progress: ProgressView | null = null;
  private rl: ReturnType<typeof createInterface> | null = null;

  constructor(
    private readonly peer: Peer,
    private readonly log: Logger,
    private readonly options: { json: boolean; interactive: boolean; logoutRetryMs: number; bw?: BandwidthPolicy },
  ) {
    this.quitRequested = new Promise((r) => { this.resolveQuitRequested = r; });
    peer.on('peer-event', (e: PeerEvent) => this.onEvent(e));
  }

  private print(text: string): void {
    if (this.progress) this.progress.log(text);
    else process.stdout.write(`${text}\n`);
  }

  private onEvent(e: PeerEvent): void {
    if (this.options.json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.event) {
      case 'ready': this.print(`ready: ${e.ip4} / ${e.ip6} port ${e.port}`); break;
      case 'shared': this.print(`sharing ${e.name} (${e.size} bytes, ${e.parts} parts) md5 ${e.md5}`); break;
      case 'started': this.progress?.add(e.md5, e.name, e.parts, e.have); if (!this.progress) this.print(`downloading ${e.name} (${e.have}/${e.parts} parts held)`); break;
      case 'part': break;
      case 'complete': this.progress?.done(e.md5); this.print(`complete: ${e.path} in ${e.seconds.toFixed(1)} s (verified)`); break;
      case 'error': this.progress?.done(e.md5 ?? ''); this.print(`error [${e.code}]: ${e.message}`); break;
      case 'logout':
        this.print(e.accepted ? `logged out (${e.partsOwned} parts owned)` : `the tracker refused to log us out: other peers hold only ${e.partsDown} parts of our files, and we hold the only copy of the rest. Seeding until they are safe (quit again to leave anyway).`);
        break;
    }
  }

  private closers: (() => void)[] = [];
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  // ---- bandwidth: choke rounds, per-peer traffic, metrics ----
  private readonly t0 = performance.now();
  private elapsed(): number {
    return Math.round(performance.now() - this.t0) / 1000;
  }

  /** Each re-choke round's result (--json: a `choke` event). */
  choke(r: RoundResult): void {
    if (!this.options.json) return;
    process.stdout.write(`${JSON.stringify({ event: 'choke', t: this.elapsed(), round: r.round, mode: r.mode, regular: r.regular, optimistic: r.optimistic, unchokedNow: r.unchokedNow, chokedNow: r.chokedNow })}\n`);
  }

  /** Per remote peer: bytes each way, current rates, choke state (--json: a periodic `peers` event). */
  peers(): void {
    const bw = this.options.bw;
    if (!bw || !this.options.json) return;
    const st = bw.status();
    process.stdout.write(`${JSON.stringify({
      event: 'peers',
      t: this.elapsed(),
      mode: st.mode,
      round: st.round,
      uploadSlots: st.uploadSlots,
      upLimit: st.upRate,
      downLimit: st.downRate,
      noUpload: st.noUpload,
      uploaded: st.uploaded,
      downloaded: st.downloaded,
      uploadRate: Math.round(st.uploadRate),
      downloadRate: Math.round(st.downloadRate),
      unchoked: st.unchoked,
      optimistic: st.optimistic,
      servingPeers: st.servingPeers,
      peers: st.peers.map((p) => ({
        remote: p.remote,
        uploaded: p.uploaded,
        downloaded: p.downloaded,
        uploadRate: Math.round(p.uploadRate),
        downloadRate: Math.round(p.downloadRate),
        choked: p.choked,
        optimistic: p.optimistic,
        interested: p.interested,
        snubbed: p.snubbed,
        serving: p.serving,
        waiting: p.waiting,
      })),
    })}\n`);
  }

  metrics(host: string, port: number): void {
    if (this.options.json) process.stdout.write(`${JSON.stringify({ event: 'metrics', host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics` })}\n`);
    else this.print(`metrics at http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`);
  }

  /** The `status` command's per-peer table. */
  private peerLines(): string[] {
    const bw = this.options.bw;
    if (!bw) return [];
    const st = bw.status();
    const lines = [
      `  upload ${formatBytes(st.uploaded)} at ${formatRate(st.uploadRate || 0)} (limit ${formatRate(st.upRate)})${st.noUpload ? ', uploads off' : ''}, download ${formatBytes(st.downloaded)} at ${formatRate(st.downloadRate || 0)} (limit ${formatRate(st.downRate)})`,
      `  choker: ${st.mode}, round ${st.round}, ${st.uploadSlots} slots + 1 optimistic; unchoked ${st.unchoked.length ? st.unchoked.join(', ') : 'none'}`,
    ];
    for (const p of [...st.peers].sort((a, b) => b.uploaded + b.downloaded - (a.uploaded + a.downloaded))) {
      const state = p.optimistic ? 'unchoked (optimistic)' : p.choked ? 'choked' : 'unchoked';
      lines.push(`  peer ${p.remote.padEnd(15)} up ${formatBytes(p.uploaded).padStart(9)} ${formatRate(p.uploadRate || 0).padStart(12)}  down ${formatBytes(p.downloaded).padStart(9)} ${formatRate(p.downloadRate || 0).padStart(12)}  ${state}${p.serving ? `, serving ${p.serving}` : ''}${p.waiting ? `, ${p.waiting} waiting` : ''}${p.snubbed ? ', snubbed' : ''}`);
    }
    return lines;
  }

  // ---- flooding search: --quer / --get-hits, and the prompt's quer / hits / get N ----
  flood: { service: FloodService; ttl: number; waitMs: number } | null = null;
  /** The last query's hits, grouped by md5: what `get N` counts in. */
  private lastHits: HitGroup[] = [];

  private json(event: Record<string, unknown>): void {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  }

  queryStarted(s: { pktId: string; query: string; ttl: number; neighbors: number }): void {
    if (this.options.json) this.json({ event: 'query', pktId: s.pktId, query: s.query, ttl: s.ttl, neighbors: s.neighbors });
    else if (s.neighbors === 0) this.print('no neighbours to ask: give some with --neighbor (peers met while downloading, or that answer, become neighbours too)');
    else this.print(`searching for ${JSON.stringify(s.query)} (TTL ${s.ttl}) among ${s.neighbors} neighbour(s)...`);
  }

  hit(hit: Hit): void {
    if (this.options.json) this.json({ ...hitEvent(hit), pktId: hit.pktId });
    else this.print(`hit: ${hit.name}  ${hit.md5}  at ${hit.ip4}:${hit.port}`);
  }

  queryDone(pktId: string, hits: readonly Hit[]): void {
    this.lastHits = groupHits(hits);
    if (this.options.json) {
      this.json({ event: 'query-done', pktId, hits: hits.length, files: this.lastHits.length });
      return;
    }
    this.print(formatHitList(this.lastHits));
    if (this.lastHits.length > 0) this.print('"get N" downloads hit N');
  }

  /** A hit's size comes from the tracker (LOOK by its name, the entry with its md5); then the usual download. */
  async fetchHit(md5: string, name: string): Promise<DownloadEvent> {
    try {
      await lookupHit((q) => this.peer.search(q), md5, name);
    } catch (err) {
      this.error(err, md5);
      return { type: 'failed', md5, message: (err as Error)?.message ?? String(err), code: isBugTorrentError(err) ? err.code : 'BT_INTERNAL' };
    }
    return this.peer.get(md5).done;
  }

  private async floodSearch(arg: string): Promise<void> {
    if (!this.flood) throw new ArgumentError('the flooding search is not running');
    const { text, ttl } = parseQuerCommand(arg, this.flood.ttl);
    let pktId = '';
    const hits = await this.flood.service.query(text, {
      ttl,
      waitMs: this.flood.waitMs,
      onStart: (s) => {
        pktId = s.pktId;
        this.queryStarted(s);
      },
      onHit: (h) => this.hit(h),
    });
    this.queryDone(pktId, hits);
  }

  error(err: unknown, md5?: string): void {
    const code = isBugTorrentError(err) ? err.code : 'BT_INTERNAL';
    const message = (err as Error)?.message ?? String(err);
    this.log.error({ code, err: message, ...(md5 ? { md5 } : {}) }, 'error');
    this.onEvent({ event: 'error', message, code, ...(md5 ? { md5 } : {}) });
  }

  onSignals(): void {
    const handler = (signal: NodeJS.Signals): void => {
      this.log.info({ signal }, 'quit requested');
      this.requestQuit();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }

  /** First request: log out politely. Second: leave now. */
  requestQuit(): void {
    if (this.finishing) return;
    this.quitRequests++;
    this.resolveQuitRequested();
    if (this.quitRequests >= 2) {
      this.print('leaving without the tracker\'s consent');
      void this.finish(130);
      return;
    }
    if (!this.quitting) void this.quit();
    this.wakeQuit?.();
  }

  untilQuit(): Promise<void> {
    return new Promise(() => undefined);
  }

  async sleepUnlessQuit(ms: number): Promise<void> {
    await Promise.race([new Promise((r) => setTimeout(r, ms)), this.quitRequested]);
  }

  /** LOGO; on NLOG keep seeding and ask again until accepted or forced. */
  async quit(): Promise<void> {
    if (this.quitting) return new Promise(() => undefined);
    this.quitting = true;
    this.peer.stopDownloads();
    for (;;) {
      try {
        const result = await this.peer.logout();
        if (result.ok) {
          await this.finish(process.exitCode === undefined ? 0 : Number(process.exitCode));
          return;
        }
        this.log.warn({ partsDown: result.partsDown, retryMs: this.options.logoutRetryMs }, 'logout refused; seeding until our parts have other holders');
      } catch (err) {
        this.error(err);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.options.logoutRetryMs);
        this.wakeQuit = () => { clearTimeout(t); r(); };
      });
      this.wakeQuit = null;
    }
  }

  private finishing = false;
  private async finish(code: number): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    for (const c of this.closers) {
      try { c(); } catch { /* closing anyway */ }
    }
    this.progress?.stop();
    this.rl?.close();
    await this.peer.close().catch(() => undefined);
    process.exit(code);
  }

  async repl(): Promise<void> {
    this.progress = new ProgressView(this.peer);
    const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: 'bugtorrent> ' });
    this.rl = rl;
    rl.on('SIGINT', () => this.requestQuit());
    process.on('SIGTERM', () => this.requestQuit());
    this.print('type "help" for commands');
    rl.prompt();
    for await (const line of rl) {
      const [cmd = '', ...rest] = line.trim().split(/\s+/);
      const arg = line.trim().slice(cmd.length).trim();
      try {
        switch (cmd.toLowerCase()) {
          case '': break;
          case 'help':
            this.print([
              'share PATH     share a file',
              'search TEXT    search the tracker ("*" lists everything)',
              'quer TEXT [T]  flood a search to neighbouring peers, T hops (also: find); lists the hits',
              'hits           the last flood search\'s hits again',
              'get N | MD5    download hit N of the last flood search, or a file by md5',
              'neighbors      peers flood searches go to',
              'status         downloads and shared files',
              'logout, quit   log out and leave (twice: leave at once)',
            ].join('\n'));
            break;
          case 'share':
            if (!arg) throw new ArgumentError('usage: share PATH');
            await this.peer.share(arg);
            break;
          case 'search': {
            const files = await this.peer.search(arg || '*');
            if (files.length === 0) this.print('no files');
            for (const f of files) this.print(`${f.md5}  ${String(f.fileLength).padStart(12)} B  ${String(f.parts).padStart(6)} parts  ${f.fileName}`);
            break;
          }
          case 'quer':
          case 'find':
            await this.floodSearch(arg);
            break;
          case 'hits':
            this.print(formatHitList(this.lastHits));
            break;
          case 'neighbors':
          case 'neighbours': {
            const list = this.flood?.service.neighbors.list() ?? [];
            this.print(list.length === 0 ? 'no neighbours' : list.map((n) => `  ${formatNeighbor(n)} (${n.source})`).join('\n'));
            break;
          }
          case 'get': {
            const ref = resolveHitRef(rest[0] ?? '', this.lastHits);
            if (ref.name === null) void this.peer.get(ref.md5).done;
            else void this.fetchHit(ref.md5, ref.name);
            break;
          }
          case 'status':
            this.print(this.status());
            break;
          case 'logout':
          case 'quit':
          case 'exit':
            this.requestQuit();
            continue;
          default:
            this.print(`unknown command ${JSON.stringify(cmd)}; type "help"`);
        }
      } catch (err) {
        this.error(err);
      }
      rl.prompt();
    }
    this.requestQuit();
    await new Promise(() => undefined);
  }

  private status(): string {
    const lines: string[] = [`peer ${this.peer.ip4} / ${this.peer.ip6} port ${this.peer.port}`];
    for (const d of this.peer.downloads.values()) {
      lines.push(`  get ${d.md5} ${d.file?.fileName ?? ''}: ${d.status}, ${d.have}/${d.info?.parts ?? '?'} parts, ${d.ownerCount} owners`);
    }
    for (const f of this.peer.store.all()) {
      if (f.complete) lines.push(`  share ${f.md5} ${f.fileName}: ${f.parts} parts, ${f.fileLength} bytes`);
    }
    lines.push(...this.peerLines());
    return lines.join('\n');
  }
}

/** What /metrics reports (--http-port), read at each scrape. */
function metricsSnapshot(peer: Peer, bw: BandwidthPolicy): PeerMetricsSnapshot {
  const st = bw.status();
  let partsDone = 0;
  let partsTotal = 0;
  for (const f of peer.store.all()) {
    partsTotal += f.parts;
    partsDone += countParts(f.bitmap);
  }
  let downloadsActive = 0;
  for (const d of peer.downloads.values()) if (d.status === 'downloading') downloadsActive += d.peers;
  let uploadsActive = 0;
  for (const p of st.peers) uploadsActive += p.serving;
  return {
    bytesUploaded: st.uploaded,
    bytesDownloaded: st.downloaded,
    uploadRate: st.uploadRate,
    downloadRate: st.downloadRate,
    peersChoked: st.peers.filter((p) => p.choked).length,
    peersUnchoked: st.unchoked.length,
    partsDone,
    partsTotal,
    downloadsActive,
    uploadsActive,
  };
}
