/**
 * The modelled network: hosts with an upload and a download capacity (bytes/s),
 * and transfers between them as fluid flows whose rates are shared fairly.
 *
 * Sharing (a local max-min): when a flow starts or ends at uplink S -> downlink D,
 *  1. S's capacity is water-filled over S's flows, each capped by what its
 *     downlink can still take (its capacity minus the other flows' shares
 *     there, at least an equal share): `upAlloc`;
 *  2. D's capacity is water-filled over D's flows, each capped by what its
 *     uplink can still give (at least its upAlloc): that is the flow's rate;
 *  3. S's other flows get their new upAlloc as far as their downlink has room.
 * Invariants: at every uplink the upAllocs, and at every downlink the
 * downAllocs, sum to at most the capacity, and each rate is at most both, so the
 * rates are always feasible. It is exact for the cases the tests pin (flows
 * sharing one uplink get equal shares; a slow downlink takes its capacity and
 * the others share the rest; freed capacity goes to the flows left) and
 * conserves work approximately otherwise: capacity freed two hosts away is
 * taken up at that host's next change, which in a swarm is the next part that
 * starts or ends there. Cost per change: O(k log k + k²) for the k flows at S
 * and D (k <= a dozen here), so a swarm of 10^4 hosts stays fast.
 */
import type { EventQueue, SimEvent } from './events.js';

export class Host {
  readonly upFlows = new Set<Flow>();
  readonly downFlows = new Set<Flow>();
  constructor(
    readonly id: number,
    /** bytes/s, > 0 and finite for a host that uploads. */
    readonly up: number,
    /** bytes/s; Infinity = unlimited. */
    readonly down: number,
  ) {}
}

export class Flow {
  done = 0;
  rate = 0;
  upAlloc = 0;
  downAlloc = Infinity;
  last: number;
  event: SimEvent | null = null;
  finished = false;
  constructor(
    readonly src: Host,
    readonly dst: Host,
    readonly size: number,
    start: number,
    /** Bytes moved between `from` and `to` (ms). */
    readonly onProgress: (bytes: number, from: number, to: number) => void,
    readonly onDone: () => void,
  ) {
    this.last = start;
  }

  get remaining(): number {
    return this.size - this.done;
  }
}

interface Capped {
  cap: number;
  give: number;
}

/** Water-fills `capacity` over items with caps: each gets min(cap, a fair share of what is left). */
export function waterfill(capacity: number, items: Capped[]): void {
  items.sort((a, b) => a.cap - b.cap);
  let left = capacity;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Capped;
    const share = left / (items.length - i);
    item.give = Math.min(item.cap, share);
    left -= item.give;
    if (left < 0) left = 0;
  }
}

/**
 * What f's downlink can give it beyond the other flows' allocations. With
 * `fair`, at least an equal share (for the uplink's water-filling: a newcomer
 * must get a claim); without, strictly the room left (for a rate).
 */
function downRoom(f: Flow, fair: boolean): number {
  const d = f.dst;
  if (d.down === Infinity) return Infinity;
  let others = 0;
  for (const g of d.downFlows) if (g !== f) others += g.downAlloc === Infinity ? 0 : g.downAlloc;
  return Math.max(f.downAlloc === Infinity ? 0 : f.downAlloc, fair ? d.down / d.downFlows.size : 0, d.down - others);
}

/** What f's uplink can give it beyond the other flows' allocations (never less than it has). */
function upRoom(f: Flow): number {
  const s = f.src;
  let others = 0;
  for (const g of s.upFlows) if (g !== f) others += g.upAlloc;
  return Math.max(f.upAlloc, s.up - others);
}

export class FluidNetwork {
  private nextId = 0;
  /** Flows running now. */
  active = 0;

  constructor(private readonly queue: EventQueue) {}

  host(up: number, down: number): Host {
    if (!(up >= 0) || !Number.isFinite(up)) throw new RangeError(`upload capacity must be a finite number >= 0, got ${up}`);
    if (!(down > 0)) throw new RangeError(`download capacity must be > 0 (Infinity = unlimited), got ${down}`);
    return new Host(this.nextId++, up, down);
  }

  /** Starts moving `bytes` from `src` to `dst`; `onDone` runs when the last byte has left `src`. */
  start(src: Host, dst: Host, bytes: number, onProgress: Flow['onProgress'], onDone: () => void): Flow {
    if (!(src.up > 0)) throw new RangeError(`host ${src.id} has no upload capacity`);
    const flow = new Flow(src, dst, bytes, this.queue.now, onProgress, onDone);
    this.flushLinks(src, dst);
    src.upFlows.add(flow);
    dst.downFlows.add(flow);
    this.active++;
    this.reshare(src, dst);
    return flow;
  }

  /** Stops a flow that has not finished; returns the bytes it had moved. */
  cancel(flow: Flow): number {
    if (flow.finished) return flow.done;
    this.flushLinks(flow.src, flow.dst);
    this.remove(flow);
    this.reshare(flow.src, flow.dst);
    return flow.done;
  }

  /** Brings every flow of `host` up to now (their progress callbacks run); rates unchanged. */
  flush(host: Host): void {
    for (const f of host.upFlows) this.advance(f);
    for (const f of host.downFlows) this.advance(f);
  }

  private remove(flow: Flow): void {
    flow.finished = true;
    if (flow.event) flow.event.cancelled = true;
    flow.event = null;
    flow.src.upFlows.delete(flow);
    flow.dst.downFlows.delete(flow);
    this.active--;
  }

  private advance(f: Flow): void {
    const now = this.queue.now;
    if (now <= f.last) return;
    const bytes = Math.min(f.remaining, (f.rate * (now - f.last)) / 1000);
    const from = f.last;
    f.last = now;
    if (bytes > 0) {
      f.done += bytes;
      f.onProgress(bytes, from, now);
    }
  }

  private flushLinks(src: Host, dst: Host): void {
    for (const f of src.upFlows) this.advance(f);
    for (const f of dst.downFlows) this.advance(f);
  }

  private reshare(src: Host, dst: Host): void {
    // 1. src's uplink, each flow capped by what its downlink can still take.
    const ups: (Capped & { f: Flow })[] = [];
    for (const f of src.upFlows) ups.push({ f, cap: downRoom(f, true), give: 0 });
    waterfill(src.up, ups);
    for (const u of ups) u.f.upAlloc = u.give;
    // 2. dst's downlink, each flow capped by what its uplink can still give.
    const downs: (Capped & { f: Flow })[] = [];
    for (const f of dst.downFlows) downs.push({ f, cap: upRoom(f), give: 0 });
    if (dst.down === Infinity) for (const d of downs) d.give = d.cap;
    else waterfill(dst.down, downs);
    // A flow's claim on its uplink is its rate: a claim above it (the downlink took
    // less) would keep that uplink's capacity from flows whose downlinks have room.
    for (const d of downs) {
      d.f.upAlloc = d.give;
      d.f.downAlloc = dst.down === Infinity ? Infinity : d.give;
      this.setRate(d.f, d.give);
    }
    // 3. src's other flows: their new upAlloc, as far as their downlink has room.
    for (const u of ups) {
      const f = u.f;
      if (f.dst === dst) continue;
      const rate = Math.min(f.upAlloc, downRoom(f, false));
      f.upAlloc = rate;
      if (f.dst.down !== Infinity) f.downAlloc = rate;
      this.setRate(f, rate);
    }
  }

  private setRate(f: Flow, rate: number): void {
    if (rate === f.rate && f.event !== null) return;
    this.advance(f);
    f.rate = rate;
    if (f.event) f.event.cancelled = true;
    f.event = null;
    if (rate <= 0) return;
    const ms = (f.remaining * 1000) / rate;
    f.event = this.queue.after(ms, () => this.finish(f));
  }

  private finish(f: Flow): void {
    f.event = null;
    this.advance(f);
    if (f.remaining > 1e-6) {
      // float drift: a hair left, finish it at the current rate
      f.event = this.queue.after((f.remaining * 1000) / f.rate, () => this.finish(f));
      return;
    }
    f.done = f.size;
    const { src, dst } = f;
    this.flushLinks(src, dst);
    this.remove(f);
    this.reshare(src, dst);
    f.onDone();
  }
}
