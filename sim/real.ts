/**
 * The one file that knows the signatures of the real modules the simulator
 * drives: the downloader's owners and schedule (and through them the picker), the choker (and through it the ranking), the token bucket,
 * the tracker registry with the memory store, the codec (for message sizes) and
 * bench:swarm's fluid bound. When one of them changes shape, only this adapter
 * changes.
 *
 * Functions called (the report lists them too):
 *  * src/peer/picker.ts            pickPart and Availability, through Schedule below
 *  * src/peer/download/owners.ts   new OwnerSet(options, onBitmap); .update, .available,
 *                                  .choked, .faulted, .succeeded, .nextWake (the downloader's
 *                                  owners, back-off after chokes and faults)
 *  * src/peer/download/schedule.ts new Schedule(options); .bitmapChanged (the incremental
 *                                  Availability), .next (pickPart), .add, .remove, .cancelOthers
 *  * src/peer/bandwidth/spread.ts  new SeedSpread(origin); .refuse, .admitted (the source's seed spreading)
 *  * src/peer/download/blame.ts    checkChance, pickOne, CHECK_DEFAULTS (which parts are cross-checked, against whom)
 *  * src/peer/config.ts            PEER_DEFAULTS (the downloader's limits and poll bounds)
 *  * src/peer/choke/choker.ts      new Choker(options, random); .requested, .uploaded,
 *                                  .downloaded, .admit, .priority, .gave, .holders, .places,
 *                                  .roundAt, .forget
 *                                  (ranking.ts rank / pickWeighted run inside roundAt)
 *  * src/peer/bandwidth/token-bucket.ts  new TokenBucket({ rate, burst }, now); .delayFor, .tryTake
 *  * src/tracker/registry.ts       new Registry({ store, now, newId, maxHolders, random });
 *                                  .login, .add, .fetch(...).holders(), .reportPart, .logout
 *  * src/tracker/memory-store.ts   new MemoryStore()
 *  * src/protocol/codec.ts         encodeMessage (sizes of every message, measured once)
 *  * bench/swarm.ts                fluidModel (D_min)
 */
import { fluidModel } from '../bench/swarm.js';
import { Choker } from '../src/peer/choke/choker.js';
import type { ChokerOptions } from '../src/peer/choke/options.js';
import type { ChokeMode } from '../src/peer/choke/ranking.js';
import { TokenBucket, defaultBurst } from '../src/peer/bandwidth/token-bucket.js';
import { PEER_DEFAULTS } from '../src/peer/config.js';
import { type Flight, Schedule, type ScheduleOptions } from '../src/peer/download/schedule.js';
import { type HolderEntry, type Owner, OwnerSet, type OwnerSetOptions } from '../src/peer/download/owners.js';
import { SeedSpread } from '../src/peer/bandwidth/spread.js';
import { REFUSAL_HOLD_MS } from '../src/peer/bandwidth/policy.js';
import type { Holding } from '../src/peer/choke/record.js';
import { CHECK_DEFAULTS, checkChance, pickOne } from '../src/peer/download/blame.js';
import { type Message, type PeerAddress, emptyBitmap, encodeMessage } from '../src/protocol/index.js';
import { MemoryStore } from '../src/tracker/memory-store.js';
import { Registry } from '../src/tracker/registry.js';

export type { ChokeMode, Flight, Owner, HolderEntry, Holding };

// ---- the downloader's owners and schedule (the real ones) ---------------------------

/** The downloader's own defaults (src/peer/config.ts): limits, back-off cap, poll bounds. */
export const PEER_DOWNLOAD = {
  maxPerOwner: PEER_DEFAULTS.maxPerOwner,
  maxInFlight: PEER_DEFAULTS.maxInFlight,
  randomFirst: PEER_DEFAULTS.randomFirst,
  endgameCopies: PEER_DEFAULTS.endgameCopies,
  endgameParts: PEER_DEFAULTS.endgameParts,
  maxBackoffMs: PEER_DEFAULTS.maxBackoffMs,
  pollMs: PEER_DEFAULTS.pollMs,
  pollMaxMs: PEER_DEFAULTS.pollMaxMs,
  refreshMs: PEER_DEFAULTS.refreshMs,
  swarmWatchMs: PEER_DEFAULTS.swarmWatchMs,
  crossCheckShare: PEER_DEFAULTS.crossCheckShare,
} as const;

/** heal.ts afterAccept: the chance that a part just taken from an owner that passed `passed` checks is cross-checked. */
export function crossCheckChance(passed: number, parts: number, checks: number, share: number): number {
  return checkChance({ passed, disputed: false }, { parts, checks }, { ...CHECK_DEFAULTS, share });
}

/** heal.ts pickHolder's draw: one of `candidates` at random, or null. */
export function pickHolder<T>(candidates: readonly T[], random: () => number): T | null {
  return pickOne(candidates, random);
}

/** How long the peer holds a refused request before closing it (0: at once). */
export const PEER_REFUSAL_HOLD_MS = REFUSAL_HOLD_MS;

/** The download's OwnerSet, its bitmaps feeding the Schedule's incremental Availability. */
export function newDownloadState(owners: Omit<OwnerSetOptions, 'maxPerOwner' | 'maxBackoffMs'> & { maxPerOwner: number; maxBackoffMs: number }, schedule: ScheduleOptions): { owners: OwnerSet; schedule: Schedule } {
  const s = new Schedule(schedule);
  const o = new OwnerSet(owners, (owner, before, after) => s.bitmapChanged(owner, before, after));
  return { owners: o, schedule: s };
}

export type { OwnerSet, Schedule };

/** The source's seed spreading (src/peer/bandwidth/spread.ts), for one file of `parts` parts. */
export interface SimSpread {
  refuse(part: number, remote: string): boolean;
  admitted(part: number, remote: string): void;
}

export function newSpread(parts: number): SimSpread {
  const s = new SeedSpread(() => parts);
  return { refuse: (p, r) => s.refuse('sim', p, r), admitted: (p, r) => s.admitted('sim', p, r) };
}

// ---- choker -------------------------------------------------------------------------

/** What the simulated peer needs of its choker. */
export interface SimChoker {
  requested(remote: string, now: number): void;
  uploaded(remote: string, bytes: number, now: number): void;
  downloaded(remote: string, bytes: number, now: number): void;
  /** A request of ours that `remote` closed unanswered (fetch.ts: choked). */
  refusedBy(remote: string, now: number): void;
  /** choker.admit: may `remote` be served now, given who is being served (remote -> requests). */
  admit(remote: string, now: number, serving: ReadonlyMap<string, number>): boolean;
  priority(remote: string, now: number): number;
  gave(remote: string, part: number, now: number): void;
  /** One holder list (an FCHU answer, ourselves excluded). */
  holders(parts: number, holdings: readonly Holding[], now: number): void;
  places(): number;
  readonly mode: ChokeMode;
  round(now: number, mode: ChokeMode): void;
  forget(remote: string): void;
  readonly uploadSlots: number;
  readonly rechokeIntervalMs: number;
}

export function newChoker(options: Partial<ChokerOptions>, random: () => number): SimChoker {
  const c = new Choker(options, random);
  return {
    requested: (r, now) => c.requested(r, now),
    uploaded: (r, b, now) => c.uploaded(r, b, now),
    downloaded: (r, b, now) => c.downloaded(r, b, now),
    refusedBy: (r, now) => c.refusedBy(r, now),
    admit: (r, now, serving) => c.admit(r, now, serving),
    priority: (r, now) => c.priority(r, now),
    gave: (r, part, now) => c.gave(r, 'sim', part, now),
    holders: (parts, holdings, now) => void c.holders('sim', parts, holdings, now),
    places: () => c.places(),
    get mode() {
      return c.mode;
    },
    // the peer passes the mode (downloading() in src/peer/index.ts), not autoMode
    round: (now, mode) => void c.roundAt(now, mode),
    forget: (r) => c.forget(r),
    uploadSlots: c.options.uploadSlots,
    rechokeIntervalMs: c.options.rechokeIntervalMs,
  };
}

// ---- token bucket -------------------------------------------------------------------

export interface SimBucket {
  /** ms from now until `n` may be taken. */
  delayFor(n: number, now: number): number;
  take(n: number, now: number): void;
}

export function newBucket(rate: number, now: number, burst = defaultBurst(rate)): SimBucket {
  const b = new TokenBucket({ rate, burst }, now);
  return {
    delayFor: (n, t) => b.delayFor(n, t),
    take: (n, t) => void b.tryTake(n, t),
  };
}

// ---- tracker registry ----------------------------------------------------------------

export interface SimHolder {
  readonly ip4: string;
  /** A copy of the registry's bitmap at the time of the answer (shared between answers: never write to it). */
  readonly bitmap: Buffer;
}

export interface SimRegistry {
  login(address: PeerAddress, port: number): string;
  add(session: string, fileLength: number, partLength: number, md5: string): number;
  /** Holders of md5 as the AFCH would list them. */
  fetch(session: string, md5: string): SimHolder[];
  reportPart(session: string, md5: string, part: number): void;
  /** True when accepted (NLOG otherwise). */
  logout(session: string): boolean;
}

export function newRegistry(now: () => number, random: () => number, maxHolders: number): SimRegistry {
  let ids = 0;
  const r = new Registry({ store: new MemoryStore(), now, newId: () => (++ids).toString(16).toUpperCase().padStart(16, '0'), maxHolders, random });
  // A holder's bitmap as a decoded AFCH would carry it: a copy (the registry's changes in place),
  // one per holder and part count, shared by every answer until its next RPAD (never written to).
  // A copy per holder per answer was most of a 10^4-peer run's garbage.
  const ipOf = new Map<string, string>();
  const snapshots = new Map<string, Buffer>();
  const snapshot = (ip4: string, bitmap: Uint8Array): Buffer => {
    let b = snapshots.get(ip4);
    if (!b) snapshots.set(ip4, (b = Buffer.from(bitmap)));
    return b;
  };
  return {
    login: (address, port) => {
      const id = r.login(address, port).sessionId;
      ipOf.set(id, address.ip4);
      return id;
    },
    add: (s, fileLength, partLength, md5) => {
      snapshots.delete(ipOf.get(s) ?? '');
      return r.add(s, fileLength, partLength, 'sim.bin', md5).parts;
    },
    fetch: (s, md5) => (r.fetch(s, md5)?.holders() ?? []).map((h) => ({ ip4: h.address.ip4, bitmap: snapshot(h.address.ip4, h.bitmap) })),
    reportPart: (s, md5, part) => {
      snapshots.delete(ipOf.get(s) ?? '');
      r.reportPart(s, md5, part);
    },
    logout: (s) => {
      snapshots.delete(ipOf.get(s) ?? '');
      return r.logout(s).accepted;
    },
  };
}

// ---- message sizes, from the codec ----------------------------------------------------

export interface WireSizes {
  /** Bytes of a tracker request / its reply (AFCH: `afch(n)` for n holders). */
  readonly request: { readonly LOGI: number; readonly FCHU: number; readonly RPAD: number; readonly LOGO: number };
  readonly reply: { readonly ALGI: number; readonly APAD: number; readonly ALOG: number };
  afch(holders: number): number;
  readonly retp: number;
  /** AREP bytes for a part of `length` bytes sent in 4096-byte chunks. */
  arep(length: number): number;
}

const SID = '0123456789ABCDEF';
const MD5 = '0'.repeat(32);
const ADDRESS: PeerAddress = { ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001' };

export function wireSizes(parts: number): WireSizes {
  const size = (m: Message, ctx = {}): number => encodeMessage(m, ctx).length;
  const holder = { address: ADDRESS, port: 5000, bitmap: emptyBitmap(parts) };
  const afch0 = size({ command: 'AFCH', peers: [] });
  const afch1 = size({ command: 'AFCH', peers: [holder] }, { parts }) - afch0;
  const arep0 = size({ command: 'AREP', chunks: [] });
  const chunk = size({ command: 'AREP', chunks: [{ data: Buffer.alloc(1) }] }) - arep0 - 1;
  return {
    request: {
      LOGI: size({ command: 'LOGI', address: ADDRESS, port: 5000 }),
      FCHU: size({ command: 'FCHU', sessionId: SID, md5: MD5 }),
      RPAD: size({ command: 'RPAD', sessionId: SID, md5: MD5, part: 0 }),
      LOGO: size({ command: 'LOGO', sessionId: SID }),
    },
    reply: {
      ALGI: size({ command: 'ALGI', sessionId: SID }),
      APAD: size({ command: 'APAD', partsHeld: 1 }),
      ALOG: size({ command: 'ALOG', partsOwned: 1 }),
    },
    afch: (n) => afch0 + n * afch1,
    retp: size({ command: 'RETP', md5: MD5, part: 0 }),
    arep: (length) => arep0 + Math.ceil(length / 4096) * chunk + length,
  };
}

// ---- the bound -------------------------------------------------------------------------

/** D_min in seconds: rates in bytes/s, 0 = unlimited (as bench:swarm's fluidModel). */
export function dMinSeconds(size: number, seedUp: number, leecherUps: readonly number[], downRates: readonly number[]): number {
  return fluidModel(size, seedUp, leecherUps, downRates).dMin;
}
