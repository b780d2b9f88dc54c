/**
 * bench:swarm's scenarios and the figures beyond finish times, pure (unit-tested
 * in test/bandwidth/swarm-bench.test.ts): how busy the seed's uplink was, how
 * soon each leecher had its first part, how many bytes it received for the ones
 * it needed.
 */

const MiB = 1024 * 1024;

export type ScenarioName = 'S1' | 'S2' | 'S3';

export interface Scenario {
  leechers: number;
  freeRiders: number;
  size: number;
  seedUp: number;
  leecherUp: number;
}

/**
 * The scenarios real BitTorrent clients were measured with on this machine
 * (issue 12). S1: D_min = 8·32 MiB / (2 + 8·1) MiB/s = 25.6 s; S2: 51.2 s;
 * S3 is S1 with two free riders (the contributors' own bound stays 25.6 s).
 */
export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  S1: { leechers: 8, freeRiders: 0, size: 32 * MiB, seedUp: 2 * MiB, leecherUp: MiB },
  S2: { leechers: 16, freeRiders: 0, size: 64 * MiB, seedUp: 4 * MiB, leecherUp: MiB },
  S3: { leechers: 8, freeRiders: 2, size: 32 * MiB, seedUp: 2 * MiB, leecherUp: MiB },
};

/**
 * The fraction of its capacity the seed used: bytes sent / (rate × seconds),
 * over the time until the last leecher finished. Null when unknown; above 1
 * only by the burst of a token bucket or framing overhead counted by tc.
 */
export function busyFraction(sentBytes: number | null, rate: number, seconds: number | null): number | null {
  if (sentBytes === null || seconds === null || !(rate > 0) || !(seconds > 0)) return null;
  return sentBytes / (rate * seconds);
}

/** What the bench saw of one leecher's transfer. */
export interface TransferSample {
  role: 'leecher' | 'free-rider';
  finish: number | null;
  /** Seconds from the common start to its first whole part. */
  firstPart: number | null;
  /** The same from its own `ready` event (its start-up excluded). */
  firstPartAfterReady: number | null;
  /** Bytes it received from peers (its own counter), and the bytes it lacked. */
  received: number | null;
  needed: number;
}

export interface TransferFigures {
  /** Seed uplink use until the last finish, from tc counters (netns + tc) or the seed's own count. */
  seed_busy: number | null;
  seed_busy_app: number | null;
  first_part_mean_s: number | null;
  first_part_max_s: number | null;
  first_part_after_ready_max_s: number | null;
  /** Bytes received / bytes needed, worst and mean leecher. */
  received_ratio_max: number | null;
  received_ratio_mean: number | null;
  /** Contributors alone: last finish, and over their own bound (the swarm without free riders). */
  contributors_last_s: number | null;
  contributors_ratio_last: number | null;
}

const round3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
const meanOf = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);
const maxOf = (xs: number[]): number | null => (xs.length === 0 ? null : Math.max(...xs));
/** Values of every sample, or none if any sample lacks it (a partial figure flatters). */
const all = (xs: (number | null)[]): number[] => (xs.some((x) => x === null) ? [] : (xs as number[]));

export function transferFigures(
  samples: readonly TransferSample[],
  seed: { tcSent: number | null; appSent: number | null; rate: number },
  contributorsDMin: number,
): TransferFigures {
  const finishes = samples.map((s) => s.finish);
  const last = finishes.some((f) => f === null) ? null : maxOf(finishes as number[]);
  const first = all(samples.map((s) => s.firstPart));
  const firstReady = all(samples.map((s) => s.firstPartAfterReady));
  const ratios = all(samples.map((s) => (s.received === null || s.needed === 0 ? null : s.received / s.needed)));
  const contributors = all(samples.filter((s) => s.role === 'leecher').map((s) => s.finish));
  const cLast = contributors.length > 0 ? maxOf(contributors) : null;
  return {
    seed_busy: round3(busyFraction(seed.tcSent, seed.rate, last)),
    seed_busy_app: round3(busyFraction(seed.appSent, seed.rate, last)),
    first_part_mean_s: round3(meanOf(first)),
    first_part_max_s: round3(maxOf(first)),
    first_part_after_ready_max_s: round3(maxOf(firstReady)),
    received_ratio_max: round3(maxOf(ratios)),
    received_ratio_mean: round3(meanOf(ratios)),
    contributors_last_s: round3(cLast),
    contributors_ratio_last: cLast === null || !(contributorsDMin > 0) ? null : round3(cLast / contributorsDMin),
  };
}

/** The figures as report lines. */
export function figureLines(f: TransferFigures): string[] {
  const n = (x: number | null, digits = 2): string => (x === null ? '-' : x.toFixed(digits));
  return [
    `seed busy until the last finish: ${n(f.seed_busy)} (tc counters), ${n(f.seed_busy_app)} (seed's own count)`,
    `first part (256 KiB): mean ${n(f.first_part_mean_s)} s, max ${n(f.first_part_max_s)} s from spawn; max ${n(f.first_part_after_ready_max_s)} s after ready`,
    `bytes received / needed: max ${n(f.received_ratio_max, 3)}, mean ${n(f.received_ratio_mean, 3)}`,
    `contributors: last ${n(f.contributors_last_s, 1)} s = ${n(f.contributors_ratio_last)} x their own D_min`,
  ];
}
