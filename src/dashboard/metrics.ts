/**
 * The tracker's Prometheus metrics, in a registry of their own (never the
 * global one, so several trackers in one process, as in tests, do not collide).
 * Counters and the histogram move with the observer's hooks; the state gauges
 * are computed from the view when scraped, so traffic costs nothing for them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestRecord, TrackerEvent, TrackerView } from '../tracker/events.js';

/** Sub-millisecond to 100 ms, plus a couple above for stalls. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Commands we label by name; anything else is counted as `other` so labels stay bounded. */
const KNOWN_COMMANDS = new Set(['LOGI', 'ADDR', 'LOOK', 'FCHU', 'RPAD', 'LOGO']);
const KNOWN_OUTCOMES = new Set(['ok', 'refused', 'malformed']);

export interface TrackerMetrics {
  readonly registry: Registry;
  request(record: RequestRecord): void;
  event(event: TrackerEvent): void;
  connections(open: number): void;
  sseClients(n: number): void;
}

export function createTrackerMetrics(view: TrackerView, options: { defaultMetrics?: boolean } = {}): TrackerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'bugtorrent_tracker_requests_total',
    help: 'Tracker requests served, by command and outcome (ok, refused, malformed).',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'bugtorrent_tracker_request_duration_seconds',
    help: 'Time to serve one tracker request, from its last byte read to its reply written.',
    labelNames: ['command'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const events = new Counter({
    name: 'bugtorrent_tracker_events_total',
    help: 'Tracker state changes, by type (login, add, part, logout, logout-refused, drop).',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const open = new Gauge({
    name: 'bugtorrent_tracker_open_connections',
    help: 'TCP connections currently open to the tracker.',
    registers: [registry],
  });
  const sse = new Gauge({
    name: 'bugtorrent_dashboard_stream_clients',
    help: 'Browsers connected to the dashboard event stream.',
    registers: [registry],
  });

  // State gauges: computed from the view once per scrape (one files() and one peers() call).
  let snapshot: { peers: number; files: number; fileParts: number; held: number } | null = null;
  const take = (): { peers: number; files: number; fileParts: number; held: number } => {
    if (snapshot) return snapshot;
    const files = view.files();
    const peers = view.peers();
    snapshot = {
      peers: peers.length,
      files: files.length,
      fileParts: files.reduce((n, f) => n + f.parts, 0),
      held: peers.reduce((n, p) => n + p.partsHeld, 0),
    };
    queueMicrotask(() => (snapshot = null));
    return snapshot;
  };
  const stateGauge = (name: string, help: string, pick: (s: ReturnType<typeof take>) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(take()));
      },
    });
  };
  stateGauge('bugtorrent_tracker_peers', 'Peers logged in.', (s) => s.peers);
  stateGauge('bugtorrent_tracker_files', 'Files registered.', (s) => s.files);
  stateGauge('bugtorrent_tracker_file_parts', 'Parts of all registered files (sum of #part).', (s) => s.fileParts);
  stateGauge('bugtorrent_tracker_parts_registered', 'Part ownerships registered: (peer, part) pairs over all files.', (s) => s.held);

  // Label children resolved once per label set: prom-client hashes a label
  // object on every inc()/observe(), which is measurable at thousands of requests/s.
  // The sets are bounded (known commands, outcomes and event types, plus `other`).
  const requestCounters = new Map<string, ReturnType<typeof requests.labels>>();
  const latencyHistograms = new Map<string, ReturnType<typeof latency.labels>>();
  const eventCounters = new Map<string, ReturnType<typeof events.labels>>();
  const cached = <T>(cache: Map<string, T>, key: string, make: () => T): T => {
    let child = cache.get(key);
    if (child === undefined) {
      child = make();
      cache.set(key, child);
    }
    return child;
  };

  return {
    registry,
    request(record) {
      const command = KNOWN_COMMANDS.has(record.command) ? record.command : 'other';
      const outcome = KNOWN_OUTCOMES.has(record.outcome) ? record.outcome : 'other';
      cached(requestCounters, `${command} ${outcome}`, () => requests.labels({ command, outcome })).inc();
      if (Number.isFinite(record.seconds) && record.seconds >= 0) {
        cached(latencyHistograms, command, () => latency.labels({ command })).observe(record.seconds);
      }
    },
    event(event) {
      cached(eventCounters, event.type, () => events.labels({ type: event.type })).inc();
    },
    connections(n) {
      if (Number.isFinite(n) && n >= 0) open.set(n);
    },
    sseClients(n) {
      sse.set(n);
    },
  };
}
