import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PeerMetricsSnapshot, createPeerRegistry, startPeerMetricsServer } from '../../src/peer/metrics.js';
import { get } from '../dashboard/helpers.js';
import { parsePrometheus, sampleValue } from '../dashboard/prometheus.js';

test('peer metrics: one provider call per scrape, served at /metrics, counters follow the totals', async () => {
  const state: PeerMetricsSnapshot = { bytesUploaded: 0, bytesDownloaded: 0, uploadRate: 0, downloadRate: 0, peersChoked: 0, peersUnchoked: 0, partsDone: 0, partsTotal: 8 };
  let calls = 0;
  const registry = createPeerRegistry(() => {
    calls++;
    return { ...state };
  });
  const server = await startPeerMetricsServer({ registry, port: 0 });
  try {
    let f = parsePrometheus((await get(server.port, '/metrics')).body);
    assert.equal(calls, 1);
    assert.equal(f.get('bugtorrent_peer_uploaded_bytes_total')?.type, 'counter');
    assert.equal(sampleValue(f, 'bugtorrent_peer_downloaded_bytes_total'), 0);
    assert.equal(sampleValue(f, 'bugtorrent_peer_parts_total'), 8);

    Object.assign(state, { bytesUploaded: 1000, bytesDownloaded: 262144, uploadRate: 512, downloadRate: 65536, peersChoked: 3, peersUnchoked: 4, partsDone: 5, downloadsActive: 2 });
    f = parsePrometheus((await get(server.port, '/metrics')).body);
    assert.equal(calls, 2);
    assert.equal(sampleValue(f, 'bugtorrent_peer_uploaded_bytes_total'), 1000);
    assert.equal(sampleValue(f, 'bugtorrent_peer_downloaded_bytes_total'), 262144);
    assert.equal(sampleValue(f, 'bugtorrent_peer_download_rate_bytes'), 65536);
    assert.equal(sampleValue(f, 'bugtorrent_peer_remote_peers', { state: 'choked' }), 3);
    assert.equal(sampleValue(f, 'bugtorrent_peer_remote_peers', { state: 'unchoked' }), 4);
    assert.equal(sampleValue(f, 'bugtorrent_peer_parts_done'), 5);
    assert.equal(sampleValue(f, 'bugtorrent_peer_transfers', { direction: 'download' }), 2);
    assert.equal(sampleValue(f, 'bugtorrent_peer_transfers', { direction: 'upload' }), 0);

    assert.equal((await get(server.port, '/')).status, 404);
    assert.equal((await get(server.port, '/metrics', { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});

test('peer metrics: a provider that throws gives a 500, and garbage numbers read as 0', async () => {
  let fail = true;
  const registry = createPeerRegistry(() => {
    if (fail) throw new Error('boom');
    return { bytesUploaded: NaN, bytesDownloaded: -5, uploadRate: Infinity, downloadRate: 1, peersChoked: 0, peersUnchoked: 0, partsDone: 0 };
  }, { defaultMetrics: false });
  const server = await startPeerMetricsServer({ registry, port: 0 });
  try {
    assert.equal((await get(server.port, '/metrics')).status, 500);
    fail = false;
    const f = parsePrometheus((await get(server.port, '/metrics')).body);
    assert.equal(sampleValue(f, 'bugtorrent_peer_uploaded_bytes_total'), 0);
    assert.equal(sampleValue(f, 'bugtorrent_peer_downloaded_bytes_total'), 0);
    assert.equal(sampleValue(f, 'bugtorrent_peer_upload_rate_bytes'), 0);
  } finally {
    await server.close();
  }
});
