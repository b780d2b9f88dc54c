/**
 * The tracker's web dashboard: a single page, a JSON API under /api, a
 * server-sent event stream, and Prometheus metrics at /metrics. HTTP with
 * node:http only. The returned observer is what the tracker calls.
 *
 *   const dashboard = await startDashboard({ view: tracker.view, port: 8080, logger });
 *   tracker.addObserver(dashboard.observer);
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { RequestRecord, TrackerEvent, TrackerObserver, TrackerView } from '../tracker/events.js';
import { ApiModel, type BitmapEncoding } from './api.js';
import { EVENT_TYPES, type EventType, Feed } from './feed.js';
import { createTrackerMetrics } from './metrics.js';
import { APP_CSS, APP_JS, CHARTS_JS, FAVICON_SVG, INDEX_HTML } from './page/index.js';
import { PushBuilder } from './push.js';
import { StreamHub } from './stream.js';
import { MAX_COLS, MAX_GROUPS, type HolderSummary, summarise } from './summary.js';
import { Swarm } from './swarm.js';

export interface DashboardOptions {
  view: TrackerView;
  /** Loopback unless said otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  /** Minimum time between two pushes on /api/stream (ms); default 250. */
  pushIntervalMs?: number;
  /** Events kept for /api/events and late stream clients, per ring (part reports; the rest); default 1000. */
  eventCapacity?: number;
  /** Width of a chart bin (ms); default 1000. */
  binMs?: number;
  /** Injected clock (tests). */
  now?: () => number;
  /** Stream clients accepted at once; default 64. */
  maxStreamClients?: number;
  /** Process metrics (CPU, memory, event loop) in /metrics; default true. */
  defaultMetrics?: boolean;
}

export interface Dashboard {
  readonly port: number;
  readonly host: string;
  readonly observer: TrackerObserver;
  close(): Promise<void>;
}

export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_HTTP_HOST = '127.0.0.1';

const MAX_URL = 2048;
/** Events per /api/events reply, at most. */
const MAX_EVENTS = 200;
const MD5_PATH = /^\/api\/files\/([0-9A-Fa-f]{32})(\/holders|\/summary)?$/;
/** A holder summary is recomputed at most this often per file and shape (every page asks for the same). */
const SUMMARY_TTL_MS = 1000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { view } = options;
  const log = (options.logger ?? silentLogger()).child({ component: 'dashboard' });
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const metrics = createTrackerMetrics(view, { defaultMetrics: options.defaultMetrics });
  const now = options.now ?? Date.now;
  const feed = new Feed(view, options.eventCapacity ?? 1000, now);
  const model = new ApiModel(view);
  const swarm = new Swarm(view, { now, binMs: options.binMs });
  const pushes = new PushBuilder(view, swarm, feed, model, undefined, now);
  const summaries = new Map<string, { at: number; version: number; body: HolderSummary }>();
  // Bound to loopback: refuse other Host names, so a web page cannot reach us by DNS rebinding.
  const loopbackOnly = isLoopbackHost(host);

  const hub = new StreamHub({
    intervalMs: options.pushIntervalMs ?? 250,
    heartbeatMs: 15_000,
    maxClients: options.maxStreamClients ?? 64,
    state: (lastEventId) => {
      const data = pushes.state(lastEventId);
      return { id: data.seq, data };
    },
    delta: () => {
      const data = pushes.delta();
      return data && { id: data.seq, data };
    },
    onClients: (n) => metrics.sseClients(n),
    onError: (err) => log.error({ err }, 'dashboard push failed'),
    now,
  });
  // Bins close on the clock, also when nothing happens: the charts keep moving.
  const ticker = setInterval(() => {
    if (swarm.closeBins() > 0) hub.touch();
  }, Math.max(50, Math.floor(swarm.binWidth / 4)));
  ticker.unref();

  const summary = (md5: string, groups: number, cols: number): HolderSummary | undefined => {
    const file = swarm.files.get(md5);
    if (!file) return undefined;
    const key = `${md5}/${groups}/${cols}`;
    const hit = summaries.get(key);
    const t = now();
    if (hit && (hit.version === file.version || t - hit.at < SUMMARY_TTL_MS)) return hit.body;
    const labels = new Map(view.peers().map((p) => [p.sessionId, `${p.address.ip4}:${p.port}`]));
    const body = summarise(file, (sid) => labels.get(sid) ?? '?', groups, cols);
    if (summaries.size > 256) summaries.clear();
    summaries.set(key, { at: t, version: file.version, body });
    return body;
  };

  const observer: TrackerObserver = {
    event(event: TrackerEvent) {
      try {
        metrics.event(event);
        feed.record(event);
        swarm.event(event);
        hub.touch();
      } catch (err) {
        log.error({ err }, 'dashboard observer failed on an event');
      }
    },
    request(record: RequestRecord) {
      try {
        metrics.request(record);
      } catch (err) {
        log.error({ err }, 'dashboard observer failed on a request record');
      }
    },
    connections(open: number) {
      try {
        metrics.connections(open);
      } catch (err) {
        log.error({ err }, 'dashboard observer failed on a connection count');
      }
    },
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(bytes.length), ...extra });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };
  const json = (req: IncomingMessage, res: ServerResponse, value: unknown, status = 200): void =>
    send(req, res, status, 'application/json; charset=utf-8', JSON.stringify(value), { 'Cache-Control': 'no-store' });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = req.url ?? '/';
    if (raw.length > MAX_URL) throw new HttpError(414, 'URL too long');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, `method ${String(req.method).slice(0, 16)} not allowed`);
    }
    if (!raw.startsWith('/')) throw new HttpError(400, 'bad request target');
    if (loopbackOnly && !isLoopbackHost(req.headers.host)) throw new HttpError(403, 'this dashboard answers only to localhost names');
    let url: URL;
    try {
      url = new URL(raw, 'http://dashboard.invalid');
    } catch {
      throw new HttpError(400, 'bad URL');
    }
    const path = url.pathname;
    const q = url.searchParams;
    switch (path) {
      case '/':
      case '/index.html':
        return send(req, res, 200, 'text/html; charset=utf-8', INDEX_HTML, { 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-cache' });
      case '/app.js':
        return send(req, res, 200, 'text/javascript; charset=utf-8', APP_JS, { 'Cache-Control': 'no-cache' });
      case '/charts.js':
        return send(req, res, 200, 'text/javascript; charset=utf-8', CHARTS_JS, { 'Cache-Control': 'no-cache' });
      case '/app.css':
        return send(req, res, 200, 'text/css; charset=utf-8', APP_CSS, { 'Cache-Control': 'no-cache' });
      case '/favicon.svg':
      case '/favicon.ico':
        return send(req, res, 200, 'image/svg+xml', FAVICON_SVG, { 'Cache-Control': 'max-age=86400' });
      case '/metrics': {
        const text = await metrics.registry.metrics();
        return send(req, res, 200, metrics.registry.contentType, text, { 'Cache-Control': 'no-store' });
      }
      case '/api':
        return json(req, res, {
          endpoints: ['/api/summary', '/api/files', '/api/files/{md5}', '/api/files/{md5}/holders?encoding=base64|hex', '/api/files/{md5}/summary?groups=&cols=', '/api/peers', '/api/events?since=&limit=&types=', '/api/stream', '/metrics'],
        });
      case '/api/summary': {
        const files = model.files();
        const peers = model.peers();
        return json(req, res, { ...model.totals(files, peers), seq: feed.lastSeq, streamClients: hub.size });
      }
      case '/api/files':
        return json(req, res, { files: model.files().map((f) => withFullHolders(f, swarm)) });
      case '/api/peers':
        return json(req, res, { peers: model.peers() });
      case '/api/events': {
        const since = intParam(q, 'since', 0, Number.MAX_SAFE_INTEGER, -1);
        const limit = intParam(q, 'limit', 1, MAX_EVENTS, MAX_EVENTS);
        const types = typesParam(q);
        const page = since < 0 ? feed.latest(limit, types) : feed.since(since, limit, types);
        const events = page.events.map((e) => model.event(e));
        return json(req, res, { seq: feed.lastSeq, capacity: feed.capacity, events, more: page.more, ...(since >= 0 ? { next: events.at(-1)?.seq ?? since } : {}) });
      }
      case '/api/stream': {
        if (req.method === 'HEAD') return send(req, res, 200, 'text/event-stream; charset=utf-8', '');
        const header = req.headers['last-event-id'];
        const last = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : null;
        if (!hub.add(res, last)) throw new HttpError(503, 'too many stream clients');
        return;
      }
    }
    const m = MD5_PATH.exec(path);
    if (m) {
      const md5 = m[1] as string;
      if (m[2] === '/summary') {
        const body = summary(md5, intParam(q, 'groups', 1, MAX_GROUPS, 24), intParam(q, 'cols', 1, MAX_COLS, 320));
        if (!body) throw new HttpError(404, 'unknown file');
        return json(req, res, body);
      }
      if (m[2]) {
        const encoding = q.get('encoding') ?? 'base64';
        if (encoding !== 'base64' && encoding !== 'hex') throw new HttpError(400, 'encoding must be base64 or hex');
        const body = model.holders(md5, encoding as BitmapEncoding);
        if (!body) throw new HttpError(404, 'unknown file');
        return json(req, res, body);
      }
      const file = model.file(md5);
      if (!file) throw new HttpError(404, 'unknown file');
      return json(req, res, withFullHolders(file, swarm));
    }
    throw new HttpError(404, 'not found');
  };

  const server = createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error({ err, url: req.url?.slice(0, 200) }, 'dashboard request failed');
      else log.debug({ status, url: req.url?.slice(0, 200), reason: (err as Error).message }, 'dashboard request refused');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      json(req, res, { error: status === 500 ? 'internal error' : (err as Error).message }, status);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err, socket) => {
    log.debug({ err: (err as Error).message }, 'dashboard client error');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: options.port ?? DEFAULT_HTTP_PORT }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(ticker);
    hub.close();
    throw err;
  }
  server.on('error', (err) => log.error({ err }, 'dashboard server error'));
  const port = (server.address() as AddressInfo).port;
  log.info({ host, port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/` }, 'dashboard listening');

  let closing: Promise<void> | null = null;
  return {
    port,
    host,
    observer,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(ticker);
        hub.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** `localhost`, 127.x.y.z or ::1, with or without a port. */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  let name = hostHeader.trim().toLowerCase();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(name);
  if (bracket) name = bracket[1] as string;
  else if (name.split(':').length === 2) name = name.split(':')[0] as string;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (/^127(\.\d{1,3}){3}$/.test(name)) return true;
  return name === '::1' || name === '0:0:0:0:0:0:0:1' || name === '::ffff:127.0.0.1';
}

/** `types=login,add,part,logout,logout-refused` (any of them, comma-separated); null: all. */
function typesParam(q: URLSearchParams): ReadonlySet<EventType> | null {
  const text = q.get('types');
  if (text === null || text === '') return null;
  const out = new Set<EventType>();
  for (const t of text.split(',')) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new HttpError(400, `types must be among ${EVENT_TYPES.join(',')}`);
    out.add(t as EventType);
  }
  return out;
}

function withFullHolders<F extends { md5: string }>(f: F, swarm: Swarm): F & { fullHolders?: number } {
  const known = swarm.files.get(f.md5);
  return known ? { ...f, fullHolders: known.fullHolders } : f;
}

function intParam(q: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const text = q.get(name);
  if (text === null || text === '') return fallback;
  if (!/^\d{1,16}$/.test(text)) throw new HttpError(400, `${name} must be an integer`);
  const n = Number(text);
  if (n < min || n > max) throw new HttpError(400, `${name} must be ${min}..${max}`);
  return n;
}
