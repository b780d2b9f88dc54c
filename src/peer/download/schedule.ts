/**
 * What is being fetched of whom, and what to ask next. Keeps the picker's input
 * up to date as it changes — availability as owners' bitmaps change, the
 * requests in flight as they start and end, one view per owner — instead of
 * rebuilding it for every pick; the choice itself is the pure picker's.
 */
import { countParts, isComplete } from '../../protocol/index.js';
import type { FetchHandle } from '../fetch.js';
import { Availability, type Pick, pickPart } from '../picker.js';
import type { Owner, OwnerSet } from './owners.js';

export interface Flight {
  readonly part: number;
  readonly owner: Owner;
  readonly handle: FetchHandle;
  cancelled: boolean;
}

export interface ScheduleOptions {
  readonly parts: number;
  readonly maxInFlight: number;
  readonly randomFirst: number;
  readonly endgameCopies: number;
  readonly endgameParts?: number;
  readonly random: () => number;
  /**
   * While every owner holds the whole file (nobody else is known to be
   * downloading it), equally rare parts are asked in order (the picker's
   * `inOrder`): the md5 then follows the parts as they land. Off by default.
   */
  readonly inOrderAlone?: boolean;
  /** While we hold fewer parts than this, each owner is asked for one part at a time (default `ONE_EACH_UNTIL`). */
  readonly oneEachUntil?: number;
}

/**
 * A newcomer asks each owner for one part at a time until it holds this many.
 * An uplink splits evenly between the parts it sends, so four parts asked of
 * one seed at once arrive together, four times later than the first could
 * have, and meanwhile the newcomer has nothing to give (sim: the first
 * leecher's four parts took 4 of the seed's 8 flows and every first part came
 * after 1.0 s instead of 0.7 s). Beyond it, `maxPerOwner` keeps a lone
 * owner's pipeline full. Sim, 5 seeds: s1 last 1.187 -> 1.172 x D_min, s2
 * (3 seeds) 1.136 / 1.096 -> 1.105 / 1.086, s3 contributors 1.271 -> 1.227;
 * 1 to 16 parts gave the same within 0.01.
 */
export const ONE_EACH_UNTIL = 4;

export class Schedule {
  readonly availability: Availability;
  private readonly flights = new Map<number, Map<string, Flight>>();
  /** The picker's view of `flights`: part -> keys of the owners asked. */
  private readonly asked = new Map<number, Set<string>>();
  /**
   * Owners whose bitmap counts (not banned), each its own picker view (`Owner`
   * has the OwnerView fields): one object per owner read per pick, not a view
   * and its owner (10^4-peer simulation: the loop below was 16 % of the run,
   * most of it waiting for memory).
   */
  private readonly views = new Map<string, Owner>();
  /** `views` as the picker's list, in its order; rebuilt only after an owner comes or goes (not for every pick). */
  private list: Owner[] | null = null;
  /** Owners whose bitmap lacks some part (others downloading it too). */
  private readonly partialOwners = new Set<string>();
  private inFlight = 0;
  /**
   * A part's emptied flight map and asked set, kept for the next part asked (at most
   * maxInFlight of them): a part in flight made a Map and a Set and dropped them again,
   * ~6 % of a flash crowd's allocations.
   */
  private readonly spare: { flights: Map<string, Flight>; asked: Set<string> }[] = [];

  constructor(private readonly options: ScheduleOptions) {
    this.availability = new Availability(options.parts);
  }

  get count(): number {
    return this.inFlight;
  }

  get full(): boolean {
    return this.inFlight >= this.options.maxInFlight;
  }

  /** An owner's bitmap appeared, changed or went (OwnerSet's onBitmap). */
  bitmapChanged(owner: Owner, before: Buffer | null, after: Buffer | null): void {
    this.availability.change(before, after);
    if (after !== null && !isComplete(after, this.options.parts)) this.partialOwners.add(owner.key);
    else this.partialOwners.delete(owner.key);
    // the OwnerSet sets owner.bitmap to `after` before telling us
    if (after === null) {
      if (this.views.delete(owner.key)) this.list = null;
    } else if (this.views.get(owner.key) !== owner) {
      this.views.set(owner.key, owner);
      this.list = null;
    }
  }

  /** The next part to ask for and of whom, or null (nothing useful may be asked now). */
  next(have: Uint8Array, owners: OwnerSet, now: number): Pick | null {
    if (this.full) return null;
    const list = (this.list ??= [...this.views.values()]);
    let usable = false;
    const oneEach = countParts(have) < (this.options.oneEachUntil ?? ONE_EACH_UNTIL);
    // in a long run of chokes, few requests at once to owners that have not been giving us parts (owners.ts PROBES_CAPPED_AFTER)
    const probes = owners.probeRoom(this.options.maxInFlight);
    for (const o of list) {
      o.available = owners.available(o, now) && (!oneEach || o.load === 0) && (probes > 0 || !owners.unproven(o));
      if (o.available) usable = true;
    }
    // nobody may be asked: the picker's answer, without its work (most calls in a swarm whose places are taken)
    if (!usable) return null;
    return pickPart({
      parts: this.options.parts,
      have,
      inFlight: this.asked,
      owners: list,
      randomFirst: this.options.randomFirst,
      endgameCopies: this.options.endgameCopies,
      ...(this.options.endgameParts !== undefined ? { endgameParts: this.options.endgameParts } : {}),
      random: this.options.random,
      availability: this.availability.counts,
      inOrder: this.options.inOrderAlone === true && this.partialOwners.size === 0,
    });
  }

  add(flight: Flight): void {
    let m = this.flights.get(flight.part);
    let asked = this.asked.get(flight.part);
    if (!m || !asked) {
      const spare = this.spare.pop();
      this.flights.set(flight.part, (m = spare?.flights ?? new Map()));
      this.asked.set(flight.part, (asked = spare?.asked ?? new Set()));
    }
    m.set(flight.owner.key, flight);
    asked.add(flight.owner.key);
    flight.owner.load++;
    this.inFlight++;
  }

  remove(flight: Flight): void {
    const m = this.flights.get(flight.part);
    if (!m || m.get(flight.owner.key) !== flight) return;
    m.delete(flight.owner.key);
    const asked = this.asked.get(flight.part);
    asked?.delete(flight.owner.key);
    if (m.size === 0) {
      this.flights.delete(flight.part);
      this.asked.delete(flight.part);
      if (asked && this.spare.length < this.options.maxInFlight) this.spare.push({ flights: m, asked });
    }
    flight.owner.load--;
    this.inFlight--;
  }

  /** Cancels every other request for `part` (the first whole copy won). */
  cancelOthers(part: number, winner: Flight): void {
    // a copy: a cancel may settle flights synchronously, and an emptied map is reused for the next part
    for (const f of [...(this.flights.get(part)?.values() ?? [])]) {
      if (f !== winner) this.cancel(f);
    }
  }

  cancel(f: Flight): void {
    f.cancelled = true;
    f.handle.cancel();
  }

  cancelAll(): void {
    for (const m of [...this.flights.values()]) for (const f of [...m.values()]) this.cancel(f);
  }
}
