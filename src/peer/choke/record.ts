/**
 * What the tracker's holder lists tell the choker about each remote peer, pure:
 *
 *  * complete: its bitmap for a file is full, so it is not interested in that
 *    file (whatever it asked before);
 *  * its record as an uploader: a peer that holds parts per the tracker but
 *    never served them, to us or to anyone we hear of, is a free rider.
 *
 * "Anyone we hear of": for each part we sent, we note who held it at that time
 * (the last holder list) and whom we sent it to. When a later list shows the
 * part at a peer outside that set, it came (directly or not) from our
 * recipient: if we sent it to one peer only, that peer is credited as an
 * uploader (with two recipients the spread may be the other's alone, so it
 * credits neither). A single source seeing its parts spread is exact; with
 * several sources it is lenient (a free rider may be credited by chance).
 *
 * A free rider, then: holds at least `minHeld` parts, never sent us a byte nor
 * was credited, and either was sent at least `minGiven` parts by us, the first
 * more than `graceMs` ago, or refused at least `minRefusals` of our requests,
 * the first more than `graceMs` ago. The second way needs no part of ours:
 * every uploader in a swarm is asked by a free rider's neighbours and learns
 * on its own (sim s3: each leecher gave each free rider its 2 parts before
 * judging it, 8 MiB of the contributors' uplinks in the first seconds). A
 * contributor that refuses us because its places are full is judged so only
 * until it sends us its first byte. Bounded: at most `MAX_TRACKED_PARTS` sent
 * parts are tracked per file (the first ones, which are what tells).
 */
import { countParts, hasPart } from '../../protocol/bitfield.js';
import type { RemoteKey } from '../bandwidth.js';
import { PerFile } from './per-file.js';

/** One entry of a holder list, as the choker needs it. */
export interface Holding {
  remote: RemoteKey;
  bitmap: Uint8Array;
}

export interface RecordOptions {
  /** Parts a peer must hold (per the tracker) before it can be judged. */
  minHeld: number;
  /** Parts we must have sent it. */
  minGiven: number;
  /** Requests of ours it refused (closed unanswered) that judge it without a part of ours. */
  minRefusals: number;
  /** How long after our first part to it, or its first refusal, before it can be judged (ms). */
  graceMs: number;
}

/**
 * Judged after 3 s and 2 parts: a contributor's parts spread within a poll or
 * two, and a misjudged one only comes last until its credit arrives, while each
 * second a free rider passes for a contributor it takes a place's share of the
 * uplink (sim s3: 10 s and 4 parts left the contributors at 1.30 × D_min, 3 s
 * and 2 parts at 1.23).
 */
export const DEFAULT_RECORD_OPTIONS: Readonly<RecordOptions> = { minHeld: 2, minGiven: 2, minRefusals: 4, graceMs: 3000 };

const MAX_TRACKED_PARTS = 4096;

interface Sent {
  /** Held it when we sent it (last list) or were sent it by us: a copy there proves nothing. */
  knew: Set<RemoteKey>;
  recipients: Set<RemoteKey>;
}

interface Remote {
  /** md5 -> parts it holds per the last list */
  held: PerFile;
  /** md5 -> 1 where its last list shows it complete */
  complete: PerFile;
  given: number;
  firstGivenAt: number;
  refusals: number;
  firstRefusedAt: number;
  credit: number;
}

export class PeerRecords {
  private readonly remotes = new Map<RemoteKey, Remote>();
  /** md5 -> part -> what we know about the copy we sent */
  private readonly sent = new Map<string, Map<number, Sent>>();
  /** md5 -> holders in its last list */
  private readonly lists = new Map<string, Map<RemoteKey, Uint8Array>>();

  constructor(readonly options: Readonly<RecordOptions> = DEFAULT_RECORD_OPTIONS) {}

  /**
   * One file's holder list (an FCHU answer); `parts` its part count. Returns the
   * peers now complete for it. `track`: which holders get a record (default all;
   * the choker's: those it keeps), so the records stay as bounded as its state.
   */
  learn(md5: string, parts: number, holders: readonly Holding[], track: (remote: RemoteKey) => boolean = () => true): RemoteKey[] {
    const list = new Map<RemoteKey, Uint8Array>();
    const complete: RemoteKey[] = [];
    for (const h of holders) {
      list.set(h.remote, h.bitmap);
      const r = this.remotes.get(h.remote) ?? (track(h.remote) ? this.remote(h.remote) : null);
      if (!r) continue;
      const held = countParts(h.bitmap);
      r.held.set(md5, held);
      if (parts > 0 && held >= parts) {
        r.complete.set(md5, 1);
        complete.push(h.remote);
      } else {
        r.complete.delete(md5);
      }
    }
    this.lists.set(md5, list);
    // Credit: a part we sent shows up at a peer that neither had it then nor got it from us.
    const sent = this.sent.get(md5);
    if (sent) {
      for (const [part, s] of sent) {
        if (s.recipients.size === 0) continue;
        let spread = false;
        for (const [remote, bitmap] of list) {
          if (!s.knew.has(remote) && part < bitmap.length * 8 && hasPart(bitmap, part)) {
            spread = true;
            s.knew.add(remote);
          }
        }
        if (!spread) continue;
        // Only a part we sent to one peer says who spread it: with two recipients the
        // spread may be the other's alone, and crediting both let free riders pass as
        // contributors whenever a contributor got the same part (sim s3: 8 judgements
        // in 500; the free riders took 25 % of the seed's upload).
        if (s.recipients.size === 1) for (const r of s.recipients) this.remote(r).credit++;
        // credited: who holds it from now on matters only for the next recipients (gave refills
        // `knew`), so the set does not grow to every holder in the swarm
        s.recipients.clear();
        s.knew.clear();
      }
    }
    return complete;
  }

  /** We are sending `part` of `md5` to `remote` (counted at admission). */
  gave(remote: RemoteKey, md5: string, part: number, now: number): void {
    const r = this.remote(remote);
    if (r.given++ === 0) r.firstGivenAt = now;
    let parts = this.sent.get(md5);
    if (!parts) this.sent.set(md5, (parts = new Map()));
    let s = parts.get(part);
    if (!s) {
      if (parts.size >= MAX_TRACKED_PARTS) return;
      parts.set(part, (s = { knew: new Set(), recipients: new Set() }));
    }
    if (s.recipients.size === 0) {
      s.knew.clear();
      for (const [holder, bitmap] of this.lists.get(md5) ?? []) if (part < bitmap.length * 8 && hasPart(bitmap, part)) s.knew.add(holder);
    }
    s.recipients.add(remote);
    s.knew.add(remote);
  }

  /** `remote` closed a request of ours unanswered (it choked us, or serves nobody). */
  refused(remote: RemoteKey, now: number): void {
    const r = this.remote(remote);
    if (r.refusals++ === 0) r.firstRefusedAt = now;
  }

  /** Its last list for `md5` shows it complete. */
  isComplete(remote: RemoteKey, md5: string): boolean {
    return this.remotes.get(remote)?.complete.has(md5) ?? false;
  }

  /** Some of the parts we sent it reached others. */
  credited(remote: RemoteKey): boolean {
    return (this.remotes.get(remote)?.credit ?? 0) > 0;
  }

  /** The free-rider rule (see the top); `downloadedFrom` is what it ever sent us. */
  isFreeRider(remote: RemoteKey, downloadedFrom: number, now: number): boolean {
    const r = this.remotes.get(remote);
    if (!r || downloadedFrom > 0 || r.credit > 0) return false;
    const o = this.options;
    if (Math.max(0, r.held.max()) < o.minHeld) return false;
    return (r.given >= o.minGiven && now - r.firstGivenAt >= o.graceMs) || (r.refusals >= o.minRefusals && now - r.firstRefusedAt >= o.graceMs);
  }

  forget(remote: RemoteKey): void {
    const r = this.remotes.get(remote);
    this.remotes.delete(remote);
    // only a peer we sent parts to is a recipient (gave makes its record): the others skip the walk
    // over every part sent (a 10^4-peer swarm forgets remotes by the thousand)
    if (r !== undefined && r.given > 0) {
      for (const parts of this.sent.values()) {
        for (const s of parts.values()) {
          s.recipients.delete(remote);
        }
      }
    }
    for (const list of this.lists.values()) list.delete(remote);
  }

  private remote(key: RemoteKey): Remote {
    let r = this.remotes.get(key);
    if (!r) this.remotes.set(key, (r = { held: new PerFile(), complete: new PerFile(), given: 0, firstGivenAt: -Infinity, refusals: 0, firstRefusedAt: -Infinity, credit: 0 }));
    return r;
  }
}
