import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Dashboard, startDashboard } from '../../src/dashboard/index.js';
import { type RunningTracker, startTracker } from '../../src/tracker/index.js';
import { exchange } from '../support/net.js';
import { get } from './helpers.js';
import { type Family, parsePrometheus, sampleValue } from './prometheus.js';
import { addFile, login, reportPart } from './tracker-client.js';

const MD5 = 'c0ffee00c0ffee00c0ffee00c0ffee00';

async function scrape(port: number): Promise<Map<string, Family>> {
  const r = await get(port, '/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(r.body);
}

describe('the Prometheus parser used by these tests is strict', () => {
  test('accepts good text and rejects bad lines', () => {
    const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="a\\"b"} 3\n# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n';
    const f = parsePrometheus(ok);
    assert.equal(sampleValue(f, 'a_total', { y: 'a"b' }), 3);
    assert.throws(() => parsePrometheus('x 1\n'), /before any TYPE/);
    assert.throws(() => parsePrometheus('# TYPE x gauge\nx one\n'), /not a sample/);
    assert.throws(() => parsePrometheus('# TYPE x gauge\nx{a=1} 1\n'), /bad label/);
    assert.throws(() => parsePrometheus('# TYPE x gauge\nx 1'), /newline/);
    assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_count 2\n'), /cumulative/);
    assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n'), /_count/);
  });
});

describe('/metrics of a real tracker', () => {
  let tracker: RunningTracker;
  let dash: Dashboard;

  before(async () => {
    tracker = await startTracker({ host: '127.0.0.1', port: 0 });
    dash = await startDashboard({ view: tracker.view, port: 0 });
    tracker.addObserver(dash.observer);
  });
  after(async () => {
    await dash.close();
    await tracker.close();
  });

  test('parses as Prometheus text and has the tracker families', async () => {
    const f = await scrape(dash.port);
    const types: Record<string, string> = {
      bugtorrent_tracker_requests_total: 'counter',
      bugtorrent_tracker_request_duration_seconds: 'histogram',
      bugtorrent_tracker_events_total: 'counter',
      bugtorrent_tracker_open_connections: 'gauge',
      bugtorrent_tracker_peers: 'gauge',
      bugtorrent_tracker_files: 'gauge',
      bugtorrent_tracker_file_parts: 'gauge',
      bugtorrent_tracker_parts_registered: 'gauge',
      bugtorrent_dashboard_stream_clients: 'gauge',
      process_cpu_seconds_total: 'counter',
    };
    for (const [name, type] of Object.entries(types)) assert.equal(f.get(name)?.type, type, name);
    for (const fam of f.values()) assert.ok(fam.help.length > 0, `${fam.name} has help`);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_peers'), 0);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_files'), 0);
  });

  test('counters, histogram and state gauges move with traffic over real sockets', async () => {
    const a = await login(tracker.port, '127.0.0.1', '::1', 5001);
    const b = await login(tracker.port, '127.0.0.2', '::2', 5002);
    assert.equal(await addFile(tracker.port, a, MD5, 'song.ogg', 2500, 1000), 3);
    assert.equal(await reportPart(tracker.port, b, MD5, 1), 1);
    assert.equal(await reportPart(tracker.port, b, MD5, 2), 2);
    // A request for an unknown session is refused; garbage is malformed.
    const refused = await exchange('127.0.0.1', tracker.port, Buffer.from(`RPAD${'F'.repeat(16)}${MD5}00000000`, 'latin1'));
    assert.equal(refused.closedByServer, true);
    const garbage = await exchange('127.0.0.1', tracker.port, Buffer.from('HELLO WORLD', 'latin1'));
    assert.equal(garbage.closedByServer, true);

    const f = await scrape(dash.port);
    const req = (command: string, outcome: string): number | undefined => sampleValue(f, 'bugtorrent_tracker_requests_total', { command, outcome });
    assert.equal(req('LOGI', 'ok'), 2);
    assert.equal(req('ADDR', 'ok'), 1);
    assert.equal(req('RPAD', 'ok'), 2);
    assert.equal(req('RPAD', 'refused'), 1);
    assert.equal(req('other', 'malformed'), 1);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_request_duration_seconds_count', { command: 'RPAD' }), 3);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_request_duration_seconds_bucket', { command: 'LOGI', le: '+Inf' }), 2);
    assert.ok(f.get('bugtorrent_tracker_request_duration_seconds')!.samples.some((s) => s.labels['le'] === '0.0001'), 'sub-ms buckets');
    assert.equal(sampleValue(f, 'bugtorrent_tracker_events_total', { type: 'login' }), 2);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_events_total', { type: 'part' }), 2);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_peers'), 2);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_files'), 1);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_file_parts'), 3);
    assert.equal(sampleValue(f, 'bugtorrent_tracker_parts_registered'), 5);

    // A connection held open shows in the gauge, and leaves it when closed.
    const held: Socket = await new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: tracker.port }, () => resolve(s));
      s.on('error', reject);
    });
    try {
      await until(async () => sampleValue(await scrape(dash.port), 'bugtorrent_tracker_open_connections') === 1);
    } finally {
      held.destroy();
    }
    await until(async () => sampleValue(await scrape(dash.port), 'bugtorrent_tracker_open_connections') === 0);
  });
});

async function until(check: () => Promise<boolean>, tries = 250): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition never held');
}
