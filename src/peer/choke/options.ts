/**
 * The choker's options, their defaults and their checks (choker.ts says what
 * each one does to a round or a verdict).
 */
import { DEFAULT_RECORD_OPTIONS } from './record.js';

export interface ChokerOptions {
  /** Regular upload slots (the optimistic slot comes on top). */
  uploadSlots: number;
  /** Re-choke period; the edge schedules rounds with it. */
  rechokeIntervalMs: number;
  /** The optimistic slot moves every this many rounds. */
  optimisticEveryRounds: number;
  /** Window of the rolling rates used for ranking. */
  rankWindowMs: number;
  /** Window of the rates shown in status snapshots. */
  statusWindowMs: number;
  /** A peer is interested while its last request is at most this old. */
  interestMs: number;
  /**
   * Between rounds, a slot holder that neither asked nor was sent anything for
   * this long (and is not being served) gives its slot to a peer that asks: it
   * finished or went elsewhere, and a slot must not sit idle until the next round.
   */
  slotIdleMs: number;
  /** A peer that sent us nothing for this long is snubbing (ranked last while downloading). */
  snubAfterMs: number;
  /** Newcomers' weight in the optimistic draw (others weigh 1). */
  newcomerWeight: number;
  /** Peers with no traffic, no interest and no slot for this long are dropped from the state. */
  forgetAfterMs: number;
  /**
   * Remotes kept at most (any remote that asks fills an entry): a newcomer beyond
   * it pushes out the idlest eighth of those that hold no slot. In a swarm of 10^4
   * a busy uploader is asked by thousands within `forgetAfterMs`.
   */
  maxRemotes: number;
  /** Seeding (by autoMode) once nothing came in for this long. */
  seedingAfterMs: number;
  /** A refused asker keeps its claim on the next free place this long. */
  claimMs: number;
  /** Our upload capacity, bytes/s (0 = unknown: the number of places stays fixed). */
  capacity: number;
  /** Window over which capacity use is measured. */
  capacityWindowMs: number;
  /**
   * Parts one peer may be sent at once (default unlimited). Each parallel part
   * splits the uplink further, so a newcomer's first part takes longer: with 5
   * peers × 4 parts at 2 MiB/s one part takes 2.5 s. A limit wants downloaders
   * that ask again soon after a refusal (today's back off 1-2 s).
   */
  partsPerPeer: number;
  /** Free-rider record thresholds (record.ts). */
  freeRiderMinHeld: number;
  freeRiderMinGiven: number;
  freeRiderMinRefusals: number;
  freeRiderGraceMs: number;
}

export const DEFAULT_CHOKER_OPTIONS: Readonly<ChokerOptions> = {
  uploadSlots: 4,
  rechokeIntervalMs: 10_000,
  optimisticEveryRounds: 3,
  rankWindowMs: 20_000,
  statusWindowMs: 5_000,
  interestMs: 20_000,
  slotIdleMs: 5_000,
  snubAfterMs: 60_000,
  newcomerWeight: 3,
  forgetAfterMs: 300_000,
  maxRemotes: 256,
  seedingAfterMs: 3000,
  claimMs: 1000,
  capacity: 0,
  partsPerPeer: Infinity,
  capacityWindowMs: 3000,
  freeRiderMinHeld: DEFAULT_RECORD_OPTIONS.minHeld,
  freeRiderMinGiven: DEFAULT_RECORD_OPTIONS.minGiven,
  freeRiderMinRefusals: DEFAULT_RECORD_OPTIONS.minRefusals,
  freeRiderGraceMs: DEFAULT_RECORD_OPTIONS.graceMs,
};

/** `options` over the defaults, checked (a RangeError names the first bad one) and frozen. */
export function chokerOptions(options: Partial<ChokerOptions> = {}): Readonly<ChokerOptions> {
  const o = { ...DEFAULT_CHOKER_OPTIONS, ...options };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'partsPerPeer' && v === Infinity) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`choker option ${k} must be a number >= 0, got ${v}`);
  }
  if (!Number.isInteger(o.maxRemotes) || o.maxRemotes < 1) throw new RangeError(`maxRemotes must be an integer >= 1, got ${o.maxRemotes}`);
  if (!Number.isInteger(o.uploadSlots)) throw new RangeError(`uploadSlots must be an integer, got ${o.uploadSlots}`);
  if (!(o.optimisticEveryRounds >= 1)) throw new RangeError('optimisticEveryRounds must be >= 1');
  if (!(o.capacityWindowMs > 0)) throw new RangeError('capacityWindowMs must be > 0');
  return Object.freeze(o);
}
