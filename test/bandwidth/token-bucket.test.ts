import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ArgumentError, ErrorCode } from '../../src/errors.js';
import { CHUNK_BYTES, TokenBucket, createThrottle, defaultBurst } from '../../src/peer/bandwidth/index.js';
import { parseRate } from '../../src/units.js';
import { FakeClock, seededRandom } from './fake-clock.js';

describe('TokenBucket (pure)', () => {
  test('starts full, refuses beyond the burst, refills at the rate up to the burst', () => {
    const b = new TokenBucket({ rate: 1000, burst: 500 }, 0);
    assert.equal(b.tryTake(500, 0), true);
    assert.equal(b.tryTake(1, 0), false);
    assert.equal(b.delayFor(100, 0), 100);
    assert.equal(b.tryTake(100, 99), false);
    assert.equal(b.tryTake(100, 100), true);
    assert.equal(b.available(10_000), 500, 'capped at the burst after a long idle');
  });

  test('delayFor takes nothing and agrees with tryTake', () => {
    const b = new TokenBucket({ rate: 4096, burst: 4096, startFull: false }, 0);
    const d = b.delayFor(4096, 0);
    assert.equal(d, 1000);
    assert.equal(b.delayFor(4096, 0), 1000);
    assert.equal(b.tryTake(4096, d - 1), false);
    assert.equal(b.tryTake(4096, d), true);
  });

  test('a take larger than the burst passes when full, then the debt is repaid', () => {
    const b = new TokenBucket({ rate: 1000, burst: 100 }, 0);
    assert.equal(b.delayFor(1000, 0), 0);
    assert.equal(b.tryTake(1000, 0), true);
    assert.equal(b.available(0), -900);
    // next 100 bytes wait for the 900 debt plus 100 tokens: 1 s
    assert.equal(b.delayFor(100, 0), 1000);
  });

  test('rejects a non-positive rate or burst', () => {
    assert.throws(() => new TokenBucket({ rate: 0 }, 0), RangeError);
    assert.throws(() => new TokenBucket({ rate: 10, burst: 0 }, 0), RangeError);
    assert.throws(() => new TokenBucket({ rate: NaN }, 0), RangeError);
  });

  test('default burst: one chunk plus 20 ms of bytes at the rate', () => {
    assert.equal(defaultBurst(50_000), CHUNK_BYTES + 1000);
    assert.equal(defaultBurst(10_000_000), CHUNK_BYTES + 200_000);
  });
});

interface Grant { conn: number; bytes: number; at: number }

/** `conns` connections each send `chunk`-byte chunks as fast as the throttle lets them until `seconds` pass. */
async function simulate(opts: { rate: number; burst?: number; conns: number; chunk: number; seconds: number; clock: FakeClock }): Promise<{ grants: Grant[]; burst: number }> {
  const { clock } = opts;
  const throttle = createThrottle({ rate: opts.rate, burst: opts.burst, now: clock.now, sleep: clock.sleep });
  const start = clock.now();
  const end = start + opts.seconds * 1000;
  const grants: Grant[] = [];
  await Promise.all(
    Array.from({ length: opts.conns }, async (_, conn) => {
      while (clock.now() < end) {
        await throttle.consume(opts.chunk);
        if (clock.now() < end) grants.push({ conn, bytes: opts.chunk, at: clock.now() });
      }
    }),
  );
  return { grants, burst: throttle.burst };
}

function total(grants: Grant[]): number {
  return grants.reduce((s, g) => s + g.bytes, 0);
}

/** Largest excess over the rate in any window [grant i, grant j]. */
function maxExcess(grants: Grant[], rate: number): number {
  let worst = 0;
  for (let i = 0; i < grants.length; i++) {
    let bytes = 0;
    for (let j = i; j < grants.length; j++) {
      bytes += grants[j]!.bytes;
      worst = Math.max(worst, bytes - (rate * (grants[j]!.at - grants[i]!.at)) / 1000);
    }
  }
  return worst;
}

describe('createThrottle (fake clock)', () => {
  test('one connection: within 5 % of the rate over 5 simulated seconds', async () => {
    const clock = new FakeClock();
    const rate = 100_000;
    const { grants } = await simulate({ rate, conns: 1, chunk: 4096, seconds: 5, clock });
    const got = total(grants) / 5;
    assert.ok(Math.abs(got - rate) / rate < 0.05, `got ${got} B/s for ${rate}`);
  });

  test('eight connections sharing one throttle: within 5 % overall, equal shares', async () => {
    const clock = new FakeClock();
    const rate = 500_000;
    const { grants } = await simulate({ rate, conns: 8, chunk: 4096, seconds: 4, clock });
    const got = total(grants) / 4;
    assert.ok(Math.abs(got - rate) / rate < 0.05, `got ${got} B/s for ${rate}`);
    const per = Array.from({ length: 8 }, (_, c) => grants.filter((g) => g.conn === c).length);
    assert.ok(Math.max(...per) - Math.min(...per) <= 1, `chunks per connection ${per.join(',')}`);
  });

  test('no burst above the cap: any window carries at most burst + rate·window', async () => {
    const clock = new FakeClock();
    const rate = 200_000;
    const { grants, burst } = await simulate({ rate, burst: 4096, conns: 3, chunk: 4096, seconds: 3, clock });
    assert.equal(burst, 4096);
    let excess = maxExcess(grants, rate);
    assert.ok(excess <= burst + 1e-6, `excess ${excess} > burst ${burst}`);
    // and with the default burst: never more than one chunk + 20 ms of bytes
    const again = await simulate({ rate, conns: 3, chunk: 4096, seconds: 3, clock });
    assert.equal(again.burst, 4096 + 4000);
    excess = maxExcess(again.grants, rate);
    assert.ok(excess <= again.burst + 1e-6, `excess ${excess} > burst ${again.burst}`);
  });

  test('late timers (a busy machine) do not make the rate drop below 95 % or exceed it', async () => {
    const clock = new FakeClock();
    const random = seededRandom(7);
    clock.lateness = () => 1 + random() * 14; // 1–15 ms late
    const rate = 2_000_000;
    const { grants, burst } = await simulate({ rate, conns: 4, chunk: 4096, seconds: 4, clock });
    const got = total(grants) / 4;
    assert.ok(Math.abs(got - rate) / rate < 0.05, `got ${got} B/s for ${rate}`);
    assert.ok(maxExcess(grants, rate) <= burst + 1e-6);
  });

  test('late timers at a low rate: one connection still within 5 % (the 20 ms slack absorbs lateness)', async () => {
    const clock = new FakeClock();
    const random = seededRandom(11);
    clock.lateness = () => 1 + random() * 14;
    const rate = 100_000;
    const { grants } = await simulate({ rate, conns: 1, chunk: 4096, seconds: 6, clock });
    const got = total(grants) / 6;
    assert.ok(Math.abs(got - rate) / rate < 0.05, `got ${got} B/s for ${rate}`);
  });

  test('a chunk larger than the burst passes, taking proportionally longer', async () => {
    const clock = new FakeClock();
    const rate = 10_000;
    const { grants } = await simulate({ rate, burst: 4096, conns: 2, chunk: 65_536, seconds: 20, clock });
    assert.ok(grants.length >= 2);
    const got = total(grants) / 20;
    // 65 536-byte grains over 20 s: allow one chunk of slack on top of 5 %
    assert.ok(got <= rate * 1.05 + 65_536 / 20 && got >= rate * 0.95 - 65_536 / 20, `got ${got} B/s`);
    assert.ok(maxExcess(grants, rate) <= 65_536 + 1e-6, 'at most one chunk above the rate');
  });

  test('FIFO: waiters are granted in the order they asked, whatever their size', async () => {
    const clock = new FakeClock();
    const throttle = createThrottle({ rate: 1000, burst: 1000, now: clock.now, sleep: clock.sleep });
    await throttle.consume(1000); // empty the bucket
    const order: number[] = [];
    const sizes = [900, 10, 500, 10, 1000, 1];
    await Promise.all(sizes.map((n, i) => throttle.consume(n).then(() => order.push(i))));
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  test('unlimited (rate 0): resolves at once and never sleeps', async () => {
    const clock = new FakeClock();
    const throttle = createThrottle({ rate: 0, now: clock.now, sleep: clock.sleep });
    for (let i = 0; i < 1000; i++) await throttle.consume(1_000_000);
    assert.equal(clock.sleeps, 0);
    assert.equal(clock.now(), 1_000_000);
    assert.equal(throttle.rate, 0);
  });

  test('an aborted waiter leaves the queue without taking tokens', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // a sleep that blocks until the test releases it, so the abort happens mid-wait
    const throttle = createThrottle({ rate: 1000, burst: 1000, now: clock.now, sleep: async (ms) => { await gate; clock.t += ms; } });
    await throttle.consume(1000);
    const ac = new AbortController();
    const first = throttle.consume(1000, ac.signal);
    const second = throttle.consume(1000);
    assert.equal(throttle.waiting(), 2);
    ac.abort(new Error('connection closed'));
    await assert.rejects(first, /connection closed/);
    assert.equal(throttle.waiting(), 1);
    release();
    await second;
    assert.equal(clock.now(), 1_000_000 + 1000, 'the second waiter only waited for its own bytes');
  });

  test('rejects negative sizes and bad rates', async () => {
    const throttle = createThrottle({ rate: 100 });
    await assert.rejects(throttle.consume(-1), RangeError);
    assert.throws(() => createThrottle({ rate: -5 }), RangeError);
  });
});

describe('parseRate', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['1000', 1000],
    ['2MB', 2_000_000],
    ['500KB', 500_000],
    ['500kb', 500_000],
    ['500k', 500_000],
    ['1.5MiB', 1_572_864],
    ['1.5 MiB/s', 1_572_864],
    ['64KiB', 65_536],
    ['1GB', 1e9],
    ['1Gi', 1024 ** 3],
    ['10B', 10],
    [' 7 ', 7],
    ['.5KB', 500],
    ['unlimited', 0],
    ['off', 0],
  ];
  for (const [text, bytes] of cases) {
    test(`"${text}" = ${bytes} B/s`, () => assert.equal(parseRate(text), bytes));
  }
  for (const junk of ['', 'fast', '-1', '1e6', '2 MBps', '1.2.3', 'MB', '5XB', '0.1', '200GB', '1,5MB', '0x10']) {
    test(`"${junk}" is refused with ArgumentError`, () => {
      assert.throws(
        () => parseRate(junk),
        (err: unknown) => err instanceof ArgumentError && err.code === ErrorCode.BAD_ARGUMENT && /rate/.test(err.message),
      );
    });
  }
});
