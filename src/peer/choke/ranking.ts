/**
 * Who deserves an upload slot: the pure ranking rules of the choker.
 *
 * Downloading (tit-for-tat): peers that gave us the most bytes recently first.
 * A snubbing peer (nothing received for `snubAfterMs`) never ranks above one
 * that is not snubbing. Ties go to the peer we upload to fastest, then to chance.
 *
 * Seeding: round robin, the peers we uploaded least to over the ranking window
 * first, ties to chance. A seed's job is to spread parts to everyone: a peer that
 * got nothing from us has nothing to trade yet, and with "fastest takers first"
 * the same few keep the slots while the others starve (measured with
 * bench:swarm: peers left without a seed slot idled their upload for 10 s+).
 *
 * Optimistic unchoke: a weighted random pick, newcomers (never traded with us)
 * weighted higher so they get a first part to trade.
 */
import type { RemoteKey } from '../bandwidth.js';

/** What the ranking needs to know about one interested peer. */
export interface Candidate {
  remote: RemoteKey;
  /** Bytes/s they sent us over the ranking window. */
  downloadRate: number;
  /** Bytes/s we sent them over the ranking window. */
  uploadRate: number;
  /** Nothing received from them for a while (anti-snubbing). */
  snubbed: boolean;
  /** No bytes either way yet. */
  newcomer: boolean;
}

export type ChokeMode = 'downloading' | 'seeding';

/**
 * Orders candidates best first. `random` breaks ties: one draw per candidate, in
 * input order, so a seeded source gives a reproducible order.
 */
export function rank(candidates: readonly Candidate[], mode: ChokeMode, random: () => number): Candidate[] {
  const keyed = candidates.map((c) => ({ c, tie: random() }));
  keyed.sort((a, b) => {
    if (mode === 'downloading') {
      if (a.c.snubbed !== b.c.snubbed) return a.c.snubbed ? 1 : -1;
      if (a.c.downloadRate !== b.c.downloadRate) return b.c.downloadRate - a.c.downloadRate;
    }
    if (a.c.uploadRate !== b.c.uploadRate) return mode === 'seeding' ? a.c.uploadRate - b.c.uploadRate : b.c.uploadRate - a.c.uploadRate;
    return a.tie - b.tie;
  });
  return keyed.map((k) => k.c);
}

/**
 * Picks one candidate at random, newcomers counting `newcomerWeight` times, others
 * once. Returns null when there is none. Uses exactly one draw of `random`.
 */
export function pickWeighted(candidates: readonly Candidate[], newcomerWeight: number, random: () => number): Candidate | null {
  if (candidates.length === 0) return null;
  const weights = candidates.map((c) => (c.newcomer ? newcomerWeight : 1));
  const totalWeight = weights.reduce((s, w) => s + w, 0);
  let x = random() * totalWeight;
  for (let i = 0; i < candidates.length; i++) {
    x -= weights[i]!;
    if (x < 0) return candidates[i]!;
  }
  return candidates[candidates.length - 1]!;
}
