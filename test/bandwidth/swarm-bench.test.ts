import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArgumentError } from '../../src/errors.js';
import { DEFAULT_CLI, type PeerResult, cpuFigures, fluidModel, formatTable, modelFor, parseSwarmArgs, report, summarize } from '../../bench/swarm.js';
import { busyFraction, transferFigures } from '../../bench/swarm-figures.js';
import { NETNS_PREFIX, leftovers, parseNetnsList, parseQdiscSent, planNetns, runIdFor, tbfArgs } from '../../scripts/lib/netns.js';

const MiB = 1024 * 1024;

describe('bench:swarm arguments', () => {
  test('defaults: 8 leechers, 32 MiB, seed 1 MB/s, leechers 500 kB/s, no download limit', () => {
    assert.deepEqual(parseSwarmArgs([]), {
      leechers: 8, freeRiders: 0, size: 32 * MiB, seedUp: 1e6, leecherUp: 5e5, downRate: 0, timeout: 0, json: false, keep: false, cli: DEFAULT_CLI, peerFlags: [], seedFlags: [], nodeFlags: [],
      netns: false, limitMode: 'client', scenario: null, cleanup: false,
    });
    assert.match(DEFAULT_CLI, /bin[\\/]bugtorrent\.js$/);
  });

  test('every flag', () => {
    const c = parseSwarmArgs(['--leechers', '4', '--free-riders', '2', '--size', '8MiB', '--seed-up', '500KB', '--leecher-up', '250KB', '--down-rate', '1MB', '--timeout', '60', '--json', '--keep', '--cli', '/x/bt.js', '--node-flag=--cpu-prof --cpu-prof-dir=/tmp/p'])!;
    assert.deepEqual(c, {
      leechers: 4, freeRiders: 2, size: 8 * MiB, seedUp: 500_000, leecherUp: 250_000, downRate: 1e6, timeout: 60, json: true, keep: true, cli: '/x/bt.js', peerFlags: [], seedFlags: [], nodeFlags: ['--cpu-prof', '--cpu-prof-dir=/tmp/p'],
      netns: false, limitMode: 'client', scenario: null, cleanup: false,
    });
  });

  test('--help gives null', () => assert.equal(parseSwarmArgs(['--help']), null));

  test('scenarios S1/S2/S3 and their bounds; flags given override them', () => {
    const s1 = parseSwarmArgs(['--scenario', 'S1', '--netns', '--limit-mode', 'tc'])!;
    assert.deepEqual([s1.leechers, s1.freeRiders, s1.size, s1.seedUp, s1.leecherUp, s1.netns, s1.limitMode], [8, 0, 32 * MiB, 2 * MiB, MiB, true, 'tc']);
    assert.ok(Math.abs(modelFor(s1).dMin - 25.6) < 1e-9, 'D_min 25.6 s');
    const s2 = parseSwarmArgs(['--scenario', 'S2'])!;
    assert.ok(Math.abs(modelFor(s2).dMin - 51.2) < 1e-9);
    const s3 = parseSwarmArgs(['--scenario', 'S3'])!;
    assert.equal(s3.freeRiders, 2);
    assert.ok(Math.abs(modelFor(s3).dMin - 32) < 1e-9, 'free riders: 10 copies through the same capacity');
    assert.ok(Math.abs(modelFor({ ...s3, freeRiders: 0 }).dMin - 25.6) < 1e-9, "the contributors' own bound");
    assert.equal(parseSwarmArgs(['--scenario', 'S1', '--leechers', '3'])!.leechers, 3);
  });

  for (const bad of [['--scenario', 'S9'], ['--limit-mode', 'tc'], ['--netns', '--limit-mode', 'kernel'], ['--leechers', '0'], ['--leechers', 'x'], ['--size', '0'], ['--seed-up', '0'], ['--seed-up', 'fast'], ['--bogus'], ['--leechers', '200', '--free-riders', '100'], ['extra']]) {
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

describe('network namespace plan (pure)', () => {
  test('one namespace per host plus the bridge one, all named by the prefix; private addresses in order; veth ports', () => {
    const plan = planNetns('ab12-x', [{ role: 'tracker', egress: 0 }, { role: 'seed', egress: 2 * MiB }, { role: 'p1', egress: MiB }]);
    assert.equal(plan.bridgeNs, `${NETNS_PREFIX}ab12-x-br`);
    assert.deepEqual(plan.hosts.map((h) => [h.ns, h.ip4, h.port, h.egress]), [
      ['btbench-ab12-x-tracker', '10.213.0.1', 'v1', 0],
      ['btbench-ab12-x-seed', '10.213.0.2', 'v2', 2 * MiB],
      ['btbench-ab12-x-p1', '10.213.0.3', 'v3', MiB],
    ]);
    for (const h of plan.hosts) assert.ok(h.ns.startsWith(NETNS_PREFIX) && h.port.length <= 15);
    const many = planNetns('1-x', Array.from({ length: 250 }, (_, i) => ({ role: `p${i}`, egress: 0 })));
    assert.equal(many.hosts[249]!.ip4, '10.213.0.250');
    assert.equal(new Set(many.hosts.map((h) => h.ip4)).size, 250);
  });

  for (const [what, run] of [
    ['a bad run id', () => planNetns('A/B', [{ role: 'seed', egress: 0 }])],
    ['a run id without its pid', () => planNetns('x', [{ role: 'seed', egress: 0 }])],
    ['no hosts', () => planNetns('1-x', [])],
    ['a role twice', () => planNetns('1-x', [{ role: 'p1', egress: 0 }, { role: 'p1', egress: 0 }])],
    ['the bridge name as a role', () => planNetns('1-x', [{ role: 'br', egress: 0 }])],
    ['a negative rate', () => planNetns('1-x', [{ role: 'p1', egress: -1 }])],
  ] as const) {
    test(`refuses ${what}`, () => assert.throws(run, RangeError));
  }

  test('tbf: rate in bits (tc reads "bit"), 10 ms of burst but at least 16 KiB', () => {
    assert.deepEqual(tbfArgs('eth0', 2 * MiB), ['qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', `${2 * MiB * 8}bit`, 'burst', String(Math.ceil((2 * MiB) / 100)), 'latency', '100ms']);
    assert.equal(tbfArgs('eth0', 100_000)[9], String(16 * 1024));
    assert.throws(() => tbfArgs('eth0', 0), RangeError);
  });

  test('--cleanup removes only our namespaces whose bench process is gone', () => {
    const live = runIdFor(4242, 'ab');
    const dead = runIdFor(777, 'cd');
    assert.equal(live, `${(4242).toString(36)}-ab`);
    const names = [`btbench-${live}-br`, `btbench-${live}-seed`, `btbench-${dead}-br`, `btbench-${dead}-p1`, 'btbench-junk', 'someone-else'];
    assert.deepEqual(leftovers(names, (pid) => pid === 4242), [`btbench-${dead}-br`, `btbench-${dead}-p1`, 'btbench-junk']);
  });

  test('tc and ip output parsing', () => {
    const out = 'qdisc tbf 8001: root refcnt 2 rate 16Mbit burst 20971b lat 100ms\n Sent 33987654 bytes 23456 pkt (dropped 0, overlimits 12 requeues 0)\n backlog 0b 0p requeues 0\n';
    assert.equal(parseQdiscSent(out), 33_987_654);
    assert.equal(parseQdiscSent('nothing'), null);
    assert.deepEqual(parseNetnsList('btbench-a-br (id: 3)\nbtbench-a-seed\n\nother\n'), ['btbench-a-br', 'btbench-a-seed', 'other']);
  });
});

describe('transfer figures', () => {
  test('busy fraction: bytes sent over rate x time to the last finish', () => {
    assert.equal(busyFraction(2 * MiB * 25, 2 * MiB, 25), 1);
    assert.equal(busyFraction(MiB * 25, 2 * MiB, 25), 0.5);
    assert.equal(busyFraction(null, 2 * MiB, 25), null);
    assert.equal(busyFraction(1, 2 * MiB, null), null);
  });

  test('first part, bytes received over needed, contributors against their own bound; an unknown value is not averaged away', () => {
    const f = transferFigures(
      [
        { role: 'leecher', finish: 26, firstPart: 0.4, firstPartAfterReady: 0.1, received: 1.02 * MiB, needed: MiB },
        { role: 'leecher', finish: 28, firstPart: 0.6, firstPartAfterReady: 0.3, received: 1.1 * MiB, needed: MiB },
        { role: 'free-rider', finish: 40, firstPart: 1, firstPartAfterReady: 0.5, received: MiB, needed: MiB },
      ],
      { tcSent: 2 * MiB * 36, appSent: null, rate: 2 * MiB },
      25.6,
    );
    assert.equal(f.seed_busy, 0.9);
    assert.equal(f.seed_busy_app, null);
    assert.equal(f.first_part_max_s, 1);
    assert.equal(f.first_part_mean_s, 0.667);
    assert.equal(f.first_part_after_ready_max_s, 0.5);
    assert.equal(f.received_ratio_max, 1.1);
    assert.equal(f.received_ratio_mean, 1.04);
    assert.equal(f.contributors_last_s, 28);
    assert.equal(f.contributors_ratio_last, 1.094);
    const partial = transferFigures([{ role: 'leecher', finish: null, firstPart: null, firstPartAfterReady: null, received: 5, needed: 10 }], { tcSent: 1, appSent: 1, rate: 1 }, 1);
    assert.equal(partial.seed_busy, null, 'no last finish: no busy fraction');
    assert.equal(partial.first_part_max_s, null);
  });
});

test('CPU figures: tracker, seed, leechers and free riders together, processes without a figure left out', () => {
  const f = cpuFigures(new Map([['tracker', 2.5], ['seed', 4], ['L1', 3], ['L2', 5], ['F1', 1], ['L3', Number.NaN]]));
  assert.deepEqual(f, { tracker: 2.5, seed: 4, leecher_mean: 3, leecher_max: 5, total: 15.5 });
  assert.deepEqual(cpuFigures(new Map()), { tracker: null, seed: null, leecher_mean: null, leecher_max: null, total: 0 });
});
