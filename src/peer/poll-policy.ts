/**
 * How often a downloader asks the tracker who holds what (FCHU), adapting to
 * the swarm. Pure: no timers; randomness is injected.
 *
 * Why: every downloading peer polling every second costs the tracker N answers
 * per second (up to 575 KB each unbounded), while most answers say nothing
 * new once a peer knows enough owners. So:
 *  * an answer with news resets the interval to `minMs`: a part we lack that
 *    no holder we knew had, or, while we know fewer than `enoughOwners` holders
 *    of parts we lack, a holder we did not know;
 *  * in a small swarm (an answer of at most `smallSwarm` holders), a known
 *    holder that gained a part we lack is news too: the protocol has no HAVE
 *    message, so its bitmap as the tracker last told it is all we know of what
 *    it can give, and with few owners a stale one leaves its upload idle while
 *    we queue at a choking seed (seen in bench:swarm S1: a seed holding every
 *    part made every answer "nothing new", polls drifted to 8 s apart and
 *    leechers served nothing for seconds at a time);
 *  * otherwise the interval is multiplied by `growth`, up to `maxMs`. (In a
 *    big swarm, bitmaps of known holders grow all the time and a bounded answer
 *    lists other random holders each time: neither alone is worth a quick
 *    poll once we have enough owners to keep our request slots busy, and a
 *    stale bitmap only hides choice, of which there is plenty.)
 *  * a starving downloader (nothing in flight and nothing it may ask for) polls
 *    at `minMs` whatever the news: only the tracker can tell it of new owners.
 * Each delay is spread by ±`jitter` at random so a flash crowd that arrived
 * together does not poll together.
 */
import { bitsInByte, hasPart } from '../protocol/bitfield.js';

export interface PollPolicyOptions {
  readonly minMs: number;
  readonly maxMs: number;
  /** Factor applied to the interval after an answer with nothing new (>= 1). */
  readonly growth: number;
  /** Relative spread of each delay, in [0, 1). */
  readonly jitter: number;
  /** Owners of parts we lack that keep a download busy (the downloader's 12 in flight, 4 per owner, with spares). */
  readonly enoughOwners: number;
  /** Up to this many holders in an answer, a known holder's new parts count as news. */
  readonly smallSwarm: number;
  /** In a small swarm the interval's floor is `minMs` times this (in (0, 1]). */
  readonly smallSwarmShare: number;
}

/** minMs as the peer's --poll-interval default (1 s). */
export const DEFAULT_POLL_POLICY: Readonly<PollPolicyOptions> = { minMs: 1000, maxMs: 30_000, growth: 2, jitter: 0.1, enoughOwners: 8, smallSwarm: 32, smallSwarmShare: 0.5 };

/** What one FCHU answer told us that the previous ones had not. */
export interface PollNews {
  /** Holders listed now that we did not know. */
  readonly newHolders: number;
  /** Parts we lack that some listed holder has and no holder we knew had. */
  readonly newParts: number;
  /** Listed holders that have a part we lack. */
  readonly usefulOwners: number;
  /** (holder, part) pairs for parts we lack that a known holder has now and had not before. */
  readonly gained: number;
  /** Holders in the answer. */
  readonly listed: number;
}

export function checkPollPolicy(o: PollPolicyOptions): PollPolicyOptions {
  if (!(o.minMs > 0) || !(o.maxMs >= o.minMs) || !Number.isFinite(o.maxMs)) throw new RangeError(`poll interval must satisfy 0 < minMs <= maxMs, got ${o.minMs}..${o.maxMs}`);
  if (!(o.growth >= 1) || !Number.isFinite(o.growth)) throw new RangeError(`poll growth must be >= 1, got ${o.growth}`);
  if (!(o.jitter >= 0 && o.jitter < 1)) throw new RangeError(`poll jitter must be in [0, 1), got ${o.jitter}`);
  if (!(o.enoughOwners >= 0)) throw new RangeError(`enoughOwners must be >= 0, got ${o.enoughOwners}`);
  if (!(o.smallSwarm >= 0)) throw new RangeError(`smallSwarm must be >= 0, got ${o.smallSwarm}`);
  if (!(o.smallSwarmShare > 0 && o.smallSwarmShare <= 1)) throw new RangeError(`smallSwarmShare must be in (0, 1], got ${o.smallSwarmShare}`);
  return o;
}

/**
 * Compares an answer with the owners we knew (key -> bitmap as of the previous
 * answers). O(holders x parts/8).
 */
export function pollNews(
  known: ReadonlyMap<string, Uint8Array>,
  answer: readonly { readonly key: string; readonly bitmap: Uint8Array }[],
  have: Uint8Array,
  parts: number,
): PollNews {
  let newHolders = 0;
  let usefulOwners = 0;
  let gained = 0;
  const wanted = new Uint8Array(Math.ceil(parts / 8));
  for (let i = 0; i < wanted.length; i++) wanted[i] = ~((have[i] as number) ?? 0) & 0xff;
  if (parts % 8 !== 0) wanted[wanted.length - 1]! &= (0xff << (8 - (parts % 8))) & 0xff;
  const before = new Uint8Array(Math.ceil(parts / 8));
  for (const bm of known.values()) for (let i = 0; i < before.length; i++) before[i] = (before[i] as number) | ((bm[i] as number) ?? 0);
  const now = new Uint8Array(before.length);
  for (const h of answer) {
    const old = known.get(h.key);
    if (!old) newHolders++;
    let useful = false;
    for (let i = 0; i < now.length; i++) {
      const b = (h.bitmap[i] as number) ?? 0;
      now[i] = (now[i] as number) | b;
      if (b & (wanted[i] as number)) useful = true;
      if (old) gained += bitsInByte(b & ~((old[i] as number) ?? 0) & (wanted[i] as number));
    }
    if (useful) usefulOwners++;
  }
  let newParts = 0;
  for (let p = 0; p < parts; p++) if (!hasPart(have, p) && hasPart(now, p) && !hasPart(before, p)) newParts++;
  return { newHolders, newParts, usefulOwners, gained, listed: answer.length };
}

/**
 * The interval after an answer: the floor on news or while starving, else grown
 * up to `maxMs`. The floor is `minMs`, and `minMs × smallSwarmShare` in a small
 * swarm: there a part a peer just got is what its idle uplink could send, and
 * only a poll tells the others (sim s1, with held requests at the uploader:
 * last 1.14 -> 1.11 × D_min at half the interval). A big swarm keeps `minMs`:
 * its answers are what load the tracker.
 */
export function nextPollInterval(currentMs: number, news: PollNews, starving: boolean, options: PollPolicyOptions = DEFAULT_POLL_POLICY): number {
  const short = news.usefulOwners < options.enoughOwners;
  const small = news.listed <= options.smallSwarm;
  const floor = small ? options.minMs * options.smallSwarmShare : options.minMs;
  const holdersMoved = news.gained > 0 && small;
  if (starving || news.newParts > 0 || (short && news.newHolders > 0) || holdersMoved) return floor;
  return Math.min(options.maxMs, Math.max(floor, currentMs * options.growth));
}

/** The delay until the next poll: the interval spread by ±jitter (one draw of `random`). */
export function pollDelay(intervalMs: number, random: () => number, options: PollPolicyOptions = DEFAULT_POLL_POLICY): number {
  return intervalMs * (1 + options.jitter * (2 * random() - 1));
}
