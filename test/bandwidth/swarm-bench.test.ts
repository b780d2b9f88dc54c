import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArgumentError } from '../../src/errors.js';
import { DEFAULT_CLI, type PeerResult, fluidModel, formatTable, modelFor, parseSwarmArgs, report, summarize } from '../../bench/swarm.js';

const MiB = 1024 * 1024;

describe('bench:swarm arguments', () => {
  test('defaults: 8 leechers, 32 MiB, seed 1 MB/s, leechers 500 kB/s, no download limit', () => {
    assert.deepEqual(parseSwarmArgs([]), {
      leechers: 8, freeRiders: 0, size: 32 * MiB, seedUp: 1e6, leecherUp: 5e5, downRate: 0, timeout: 0, json: false, keep: false, cli: DEFAULT_CLI, peerFlags: [], seedFlags: [],
    });
    assert.match(DEFAULT_CLI, /bin[\\/]bugtorrent\.js$/);
  });

  test('every flag', () => {
    const c = parseSwarmArgs(['--leechers', '4', '--free-riders', '2', '--size', '8MiB', '--seed-up', '500KB', '--leecher-up', '250KB', '--down-rate', '1MB', '--timeout', '60', '--json', '--keep', '--cli', '/x/bt.js'])!;
    assert.deepEqual(c, { leechers: 4, freeRiders: 2, size: 8 * MiB, seedUp: 500_000, leecherUp: 250_000, downRate: 1e6, timeout: 60, json: true, keep: true, cli: '/x/bt.js', peerFlags: [], seedFlags: [] });
  });

  test('--help gives null', () => assert.equal(parseSwarmArgs(['--help']), null));

  for (const bad of [['--leechers', '0'], ['--leechers', 'x'], ['--size', '0'], ['--seed-up', '0'], ['--seed-up', 'fast'], ['--bogus'], ['--leechers', '200', '--free-riders', '100'], ['extra']]) {
    test(`refuses ${bad.join(' ')}`, () => assert.throws(() => parseSwarmArgs(bad), ArgumentError));
  }
});

describe('fluid model D_min', () => {
  test('capacity-bound swarm: N·F/(u_s + Σu_i)', () => {
    // 32 MiB, seed 1 MB/s, 8 × 500 kB/s: 8·F/5e6
    const m = modelFor(parseSwarmArgs([])!);
    const F = 32 * MiB;
    assert.equal(m.seedBound, F / 1e6);
    assert.equal(m.downloadBound, 0);
    assert.ok(Math.abs(m.capacityBound - (8 * F) / 5e6) < 1e-9);
    assert.equal(m.dMin, m.capacityBound);
  });

  test('seed-bound: one leecher, slow seed', () => {
    const m = fluidModel(1e6, 1e5, [1e6], [0]);
    assert.equal(m.dMin, 10);
    assert.equal(m.seedBound, 10);
    assert.equal(m.capacityBound, 1e6 / 1.1e6);
  });

  test('download-bound: the slowest downloader', () => {
    const m = fluidModel(1e6, 1e7, [1e7, 1e7], [1e6, 2e5]);
    assert.equal(m.downloadBound, 5);
    assert.equal(m.dMin, 5);
  });

  test('free riders count in N but add no capacity', () => {
    const c = parseSwarmArgs(['--leechers', '2', '--free-riders', '2', '--size', '1MB', '--seed-up', '1MB', '--leecher-up', '1MB'])!;
    const m = modelFor(c);
    assert.equal(m.capacityBound, (4 * 1e6) / 3e6);
    assert.equal(m.dMin, m.capacityBound);
  });

  test('unlimited leecher uploads: only the seed and downloads bound', () => {
    const m = fluidModel(1e6, 1e6, ['unlimited', 'unlimited'], [0, 0]);
    assert.equal(m.capacityBound, 0);
    assert.equal(m.dMin, 1);
  });
});

function peer(name: string, finish: number | null, role: PeerResult['role'] = 'leecher'): PeerResult {
  return { name, ip4: '127.0.0.9', role, finish, selfReported: finish, ready: 0.4, verified: finish === null ? null : true };
}

describe('summary and table', () => {
  test('last, mean and ratios to D_min', () => {
    const s = summarize([peer('L1', 10), peer('L2', 20), peer('L3', 30)], 10, false);
    assert.deepEqual(s, {
      d_min_s: 10, last_s: 30, mean_s: 20, ratio_last: 3, ratio_mean: 2, completed: 3, peers: 3,
      last_self_s: 30, mean_self_s: 20, ratio_last_self: 3, ratio_mean_self: 2,
    });
  });

  test('contributors vs free riders', () => {
    const s = summarize([peer('L1', 10), peer('L2', 20), peer('F1', 40, 'free-rider'), peer('F2', 60, 'free-rider')], 10, true);
    assert.equal(s.contributor_mean_s, 15);
    assert.equal(s.free_rider_mean_s, 50);
    assert.equal(s.ratio_last, 6);
  });

  test('an unfinished peer leaves last/mean null, not a flattering number', () => {
    const s = summarize([peer('L1', 10), peer('L2', null)], 10, false);
    assert.equal(s.last_s, null);
    assert.equal(s.ratio_mean, null);
    assert.equal(s.completed, 1);
    assert.equal(JSON.parse(JSON.stringify(s)).last_s, null);
  });

  test('formatTable aligns columns, numbers right, missing as "-"', () => {
    const t = formatTable(['peer', 'finish s'], [['L1', 9.25], ['L10', null], ['L2', 100]]);
    assert.equal(t, ['peer  finish s', '----  --------', 'L1         9.3', 'L10          -', 'L2       100.0'].join('\n'));
  });

  test('report names the reference, the ratios, the CPU note and the free-rider line', () => {
    const c = parseSwarmArgs(['--leechers', '2', '--free-riders', '1', '--size', '1MB', '--seed-up', '1MB', '--leecher-up', '1MB'])!;
    const m = modelFor(c);
    const text = report(c, m, [peer('L1', 2), peer('L2', 3), peer('F1', 5, 'free-rider')], { avg: 3.5, cores: 2 });
    assert.match(text, /WARNING: load average 3\.5 on 2 cores/);
    assert.match(text, /by each peer's own clock \(start-up excluded\): last 5\.0 s = 5\.00 x D_min/);
    assert.match(text, /D_min = max\(F\/u_s 1\.0 s, F\/d_min 0\.0 s, N·F\/\(u_s\+Σu_i\) 1\.0 s\) = 1\.0 s/);
    assert.match(text, /last \/ D_min = 5\.00/);
    assert.match(text, /two CPU cores were the bottleneck/);
    assert.match(text, /contributors mean 2\.5 s, free riders mean 5\.0 s/);
  });
});
