/**
 * Prometheus metrics for a peer (`bugtorrent peer --http-port`): a registry of
 * its own, filled at scrape time from one provider callback, and a small
 * node:http server or handler that serves it at /metrics.
 *
 *   const registry = createPeerRegistry(() => ({ bytesUploaded: …, … }));
 *   const server = await startPeerMetricsServer({ registry, port: 9100 });
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { type Logger, silentLogger } from '../log.js';

/** What the peer reports at each scrape. Totals are since the peer started. */
export interface PeerMetricsSnapshot {
  bytesUploaded: number;
  bytesDownloaded: number;
  /** Bytes per second, as the peer's own rate meter sees it. */
  uploadRate: number;
  downloadRate: number;
  /** Remote peers we currently refuse to serve (choked) / serve (unchoked). */
  peersChoked: number;
  peersUnchoked: number;
  /** Parts held (verified) and parts wanted, over the files being downloaded or shared. */
  partsDone: number;
  partsTotal?: number;
  /** Transfers in flight. */
  downloadsActive?: number;
  uploadsActive?: number;
  /** Owners banned for sending wrong bytes, over all downloads. */
  peersBanned?: number;
}

export type PeerMetricsProvider = () => PeerMetricsSnapshot;

export function createPeerRegistry(provide: PeerMetricsProvider, options: { defaultMetrics?: boolean } = {}): Registry {
  // Loaded on first use: ~100 ms of every peer's start-up, and most peers export no metrics.
  const { Counter, Gauge, Registry, collectDefaultMetrics } = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  let cached: PeerMetricsSnapshot | null = null;
  const snap = (): PeerMetricsSnapshot => {
    if (cached) return cached;
    cached = provide();
    queueMicrotask(() => (cached = null));
    return cached;
  };
  const finite = (n: number | undefined): number => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0);

  const total = (name: string, help: string, pick: (s: PeerMetricsSnapshot) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // The provider keeps the running total; mirror it (a counter only goes up, so reset then add).
        this.reset();
        const v = finite(pick(snap()));
        if (v > 0) this.inc(v);
      },
    });
  };
  const gauge = (name: string, help: string, pick: (s: PeerMetricsSnapshot) => number | undefined, labels?: { labelNames: string[]; values: [Record<string, string>, (s: PeerMetricsSnapshot) => number | undefined][] }): void => {
    if (labels) {
      new Gauge({
        name,
        help,
        labelNames: labels.labelNames,
        registers: [registry],
        collect() {
          const s = snap();
          for (const [l, f] of labels.values) this.set(l, finite(f(s)));
        },
      });
      return;
    }
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(finite(pick(snap())));
      },
    });
  };

  total('bugtorrent_peer_uploaded_bytes_total', 'Bytes of parts sent to other peers.', (s) => s.bytesUploaded);
  total('bugtorrent_peer_downloaded_bytes_total', 'Bytes of parts received from other peers.', (s) => s.bytesDownloaded);
  gauge('bugtorrent_peer_upload_rate_bytes', 'Current upload rate, bytes per second.', (s) => s.uploadRate);
  gauge('bugtorrent_peer_download_rate_bytes', 'Current download rate, bytes per second.', (s) => s.downloadRate);
  gauge('bugtorrent_peer_remote_peers', 'Remote peers by choke state.', () => 0, {
    labelNames: ['state'],
    values: [
      [{ state: 'choked' }, (s) => s.peersChoked],
      [{ state: 'unchoked' }, (s) => s.peersUnchoked],
    ],
  });
  gauge('bugtorrent_peer_banned_peers', 'Owners banned for sending wrong bytes, over all downloads.', (s) => s.peersBanned);
  gauge('bugtorrent_peer_parts_done', 'Parts held and verified.', (s) => s.partsDone);
  gauge('bugtorrent_peer_parts_total', 'Parts of the files this peer shares or downloads.', (s) => s.partsTotal);
  gauge('bugtorrent_peer_transfers', 'Transfers in flight by direction.', () => 0, {
    labelNames: ['direction'],
    values: [
      [{ direction: 'download' }, (s) => s.downloadsActive],
      [{ direction: 'upload' }, (s) => s.uploadsActive],
    ],
  });
  return registry;
}

/**
 * A request handler serving `registry` at GET/HEAD /metrics; 404 elsewhere,
 * 405 for other methods, 500 (logged) if the provider throws.
 */
export function metricsHandler(registry: Registry, logger: Logger = silentLogger()): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const reply = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics') return reply(404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return reply(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    registry.metrics().then(
      (text) => reply(200, registry.contentType, text),
      (err: unknown) => {
        logger.error({ err }, 'metrics scrape failed');
        reply(500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
      },
    );
  };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `registry` at http://host:port/metrics (loopback by default). */
export async function startPeerMetricsServer(options: { registry: Registry; host?: string; port?: number; logger?: Logger }): Promise<MetricsServer> {
  const logger = options.logger ?? silentLogger();
  // node:http is loaded only for --http-port: about 15 ms of every other peer's start-up.
  const { createServer } = await import('node:http');
  const server = createServer(metricsHandler(options.registry, logger));
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host ?? '127.0.0.1', port }, 'metrics listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
