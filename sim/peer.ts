/**
 * One simulated peer. The downloader runs on the REAL OwnerSet (who holds what,
 * back-off after a choke or a fault) and Schedule (flights, the incremental
 * Availability, the picker), fed from FCHU answers as src/peer/download does:
 * poll with the real poll policy, pump after every answer and every flight,
 * first copy wins, RPAD per part. The uploader's admission is the choker
 * service's with the real Choker (`admit`: work-conserving, uploadSlots + 1
 * places, claims) and the source's real SeedSpread; a refused request is closed
 * unanswered after `admissionWaitMs` unless a place frees first (the peer's:
 * REFUSAL_HOLD_MS, 250 ms). Completed peers
 * and seeds poll FCHU every swarmWatchMs for the choker (src/peer/index.ts) and
 * every peer refreshes its LOGI every refreshMs. Only the network and the
 * tracker's queue are modelled.
 */
import { emptyBitmap, formatHostPort, fullBitmap, hasPart, setPart } from '../src/protocol/index.js';
import { nextPollInterval, pollDelay, pollNews } from '../src/peer/poll-policy.js';
import type { SimEvent } from './events.js';
import type { Flow, Host } from './network.js';
import { type Flight, type HolderEntry, type Owner, type OwnerSet, type Schedule, type SimChoker, type SimHolder, type SimSpread, crossCheckChance, newChoker, newDownloadState, newSpread, pickHolder } from './real.js';
import type { TrackerKind } from './tracker.js';
import type { PeerSpec, World } from './world.js';

const PORT = 5000;
/** The fetch's promise: the schedule never awaits it (the simulator settles flights itself). */
const NEVER: Promise<Buffer[]> = new Promise(() => undefined);

/** One RETP from `from` to `to`, from connect to the last byte. */
interface Request {
  readonly part: number;
  readonly from: SimPeer;
  readonly to: SimPeer;
  readonly owner: Owner;
  /** null for a cross-check copy (fetched outside the schedule, as heal.ts fetchCopy). */
  readonly flight: Flight | null;
  flow: Flow | null;
  expiry: SimEvent | null;
  /**
   * Without an uplink queue: when the uploader's hold of this refused request ends
   * (the close is on its way from then on; `expiry` is its arrival). Else Infinity.
   */
  holdEnd: number;
  /** Settled (landed, failed or cancelled): later events for it do nothing. */
  over: boolean;
  /** For a cross-check copy: who sent the part being checked. */
  readonly supplier?: Owner;
}

export class SimPeer {
  readonly key: string;
  readonly have: Uint8Array;
  haveCount = 0;
  session = '';
  doneAt: number | null = null;
  gone = false;
  uploaded = 0;
  downloaded = 0;
  private readonly owners: OwnerSet;
  private readonly schedule: Schedule;
  private readonly requests = new Map<Flight, Request>();
  private readonly checking = new Set<Request>();
  /** heal.ts: cross-checks done, and checks each owner passed. */
  private checks = 0;
  private readonly passed = new Map<string, number>();
  readonly choker: SimChoker | null;
  private readonly spread: SimSpread | null;
  private readonly serving = new Map<string, number>();
  private readonly incoming = new Set<Request>();
  private readonly waiters = new Set<Request>();
  private polling = false;
  private pollMs: number;
  private wake: SimEvent | null = null;
  private readonly timers = new Set<SimEvent>();

  constructor(
    readonly index: number,
    readonly spec: PeerSpec,
    readonly host: Host,
    readonly ip4: string,
    private readonly w: World,
  ) {
    this.key = String(index);
    this.have = spec.seed ? fullBitmap(w.parts) : emptyBitmap(w.parts);
    if (spec.seed) this.haveCount = w.parts;
    this.choker = spec.freeRider ? null : newChoker(w.config.choker, w.random);
    this.spread = spec.seed ? newSpread(w.parts) : null;
    this.pollMs = w.config.poll.minMs;
    const t = w.config.download;
    ({ owners: this.owners, schedule: this.schedule } = newDownloadState(
      { now: () => w.q.now, random: w.random, maxPerOwner: t.maxPerOwner, maxBackoffMs: t.maxBackoffMs, isSelf: (a) => a.ip4 === this.ip4 },
      // inOrderAlone as the real download (download.ts): equally rare parts in order while every owner is a seed
      { parts: w.parts, maxInFlight: t.maxInFlight, randomFirst: t.randomFirst, endgameCopies: t.endgameCopies, endgameParts: t.endgameParts, random: w.random, inOrderAlone: true },
    ));
  }

  /**
   * What a small message we send waits in our uplink's queue: a shaper's queue
   * (tc tbf) that our uploads keep full while they run, empty otherwise.
   */
  queueMs(): number {
    return this.host.upFlows.size > 0 ? this.w.config.uplinkQueueMs : 0;
  }

  /** A tracker request: its SYN and the request itself leave through our uplink's queue. */
  private call(kind: TrackerKind, requestBytes: number, serve: () => number, onReply: () => void): void {
    this.w.tracker.call(kind, requestBytes, serve, onReply, 2 * this.queueMs());
  }

  get complete(): boolean {
    return this.haveCount === this.w.parts;
  }

  private timer(ms: number, fn: () => void): void {
    const e = this.w.q.after(ms, () => {
      this.timers.delete(e);
      fn();
    });
    this.timers.add(e);
  }

  // ---- life ---------------------------------------------------------------------------

  arrive(): void {
    const { w } = this;
    this.session = w.tracker.registry.login({ ip4: this.ip4, ip6: '::' }, PORT);
    // LOGI as a request (the session is needed at once, so it is taken here and only counted).
    this.call('LOGI', w.sizes.request.LOGI, () => w.sizes.reply.ALGI, () => {
      if (this.gone) return;
      if (this.spec.seed) this.call('ADDR', 128, () => (w.tracker.registry.add(this.session, w.fileSize, w.partLength, w.md5), 12), () => this.watch());
      else this.poll();
    });
    if (this.choker) this.round();
    if (w.config.refreshMs > 0) this.refresh();
    if (this.spec.leaveAt !== undefined) this.timer(this.spec.leaveAt - w.q.now, () => this.leave());
  }

  leave(): void {
    if (this.gone) return;
    const { w } = this;
    this.gone = true;
    for (const t of this.timers) t.cancelled = true;
    this.timers.clear();
    if (this.wake) this.wake.cancelled = true;
    // Our downloads stop; our uploads break (the downloaders see a failed fetch).
    for (const r of [...this.requests.values(), ...this.checking]) this.cancel(r);
    for (const r of [...this.incoming]) if (!this.holdOver(r)) this.refuse(r, 'error');
    // LOGO; refused (NLOG) when we hold parts nobody else has: we leave anyway (the tracker still lists us).
    this.call('LOGO', w.sizes.request.LOGO, () => (w.tracker.registry.logout(this.session), w.sizes.reply.ALOG), () => undefined);
    w.departed(this);
  }

  /** The idempotent LOGI every refreshMs (src/peer/index.ts): only tracker load here. */
  private refresh(): void {
    const { w } = this;
    this.timer(w.config.refreshMs, () => {
      this.call('LOGI', w.sizes.request.LOGI, () => w.sizes.reply.ALGI, () => undefined);
      this.refresh();
    });
  }

  /** While seeding, an FCHU every swarmWatchMs tells the choker who is complete and who never uploads. */
  private watch(): void {
    const { w } = this;
    if (this.gone || !this.choker || !(w.config.swarmWatchMs > 0)) return;
    this.timer(w.config.swarmWatchMs, () =>
      this.fchu((holders) => {
        if (this.gone) return;
        this.learnHolders(holders);
        this.watch();
      }),
    );
  }

  /** One FCHU at the tracker (its request and answer sizes counted); `then` gets the holders. */
  private fchu(then: (holders: SimHolder[]) => void): void {
    const { w } = this;
    let holders: SimHolder[] = [];
    this.call(
      'FCHU',
      w.sizes.request.FCHU,
      () => {
        holders = w.tracker.registry.fetch(this.session, w.md5);
        return w.sizes.afch(holders.length);
      },
      () => then(holders),
    );
  }

  /** bandwidth/policy.ts learnHolders: the choker learns completeness and free riders. */
  private learnHolders(holders: readonly { ip4: string; bitmap: Uint8Array }[]): void {
    if (!this.choker) return;
    const holdings = [];
    for (const h of holders) if (h.ip4 !== this.ip4) holdings.push({ remote: this.w.byIp.get(h.ip4)!.key, bitmap: h.bitmap });
    this.choker.holders(this.w.parts, holdings, this.w.q.now);
  }

  // ---- downloading ----------------------------------------------------------------------

  private poll(): void {
    if (this.gone || this.complete || this.polling) return;
    const { w } = this;
    this.polling = true;
    this.fchu((holders) => {
      this.polling = false;
      if (this.gone || this.complete) return;
      this.learnHolders(holders);
      this.listed(holders);
      this.pump();
      this.timer(pollDelay(this.pollMs, w.random, w.config.poll), () => this.poll());
    });
  }

  /** One FCHU answer, as Download.poll takes it: poll news, then OwnerSet.update. */
  private listed(holders: readonly SimHolder[]): void {
    const { w } = this;
    // the bitmaps are already snapshots, as a decoded AFCH would carry (real.ts newRegistry)
    const entries: HolderEntry[] = holders.map((h) => ({ address: { ip4: h.ip4, ip6: '::' }, port: PORT, bitmap: h.bitmap }));
    if (w.config.poll.adaptive) {
      const known = new Map<string, Uint8Array>();
      for (const o of this.owners.values()) if (o.listed && o.banned === null) known.set(o.key, o.bitmap);
      const answer = entries.filter((h) => h.address.ip4 !== this.ip4).map((h) => ({ key: formatHostPort(h.address.ip4, h.port), bitmap: h.bitmap }));
      this.pollMs = nextPollInterval(this.pollMs, pollNews(known, answer, this.have, w.parts), this.schedule.count === 0, w.config.poll);
    }
    this.owners.update(entries, w.parts);
  }

  /** Fills free request slots with the real schedule's (and picker's) choices. */
  pump(): void {
    if (this.gone || this.complete) return;
    const now = this.w.q.now;
    for (let pick = this.schedule.next(this.have, this.owners, now); pick; pick = this.schedule.next(this.have, this.owners, now)) {
      this.w.picks++;
      this.request(pick.part, this.owners.get(pick.owner)!);
    }
    this.w.picks++;
    this.scheduleWake();
  }

  private scheduleWake(): void {
    if (this.wake && !this.wake.cancelled) return;
    const now = this.w.q.now;
    const next = this.owners.nextWake(now);
    if (next === null) return;
    this.wake = this.w.q.at(next + 5, () => {
      this.wake = null;
      this.pump();
    });
  }

  private request(part: number, owner: Owner): void {
    const { w } = this;
    const to = w.byIp.get(owner.address.ip4)!;
    const flight: Flight = { part, owner, handle: { done: NEVER, cancel: () => this.cancel(r) }, cancelled: false };
    const r: Request = { part, from: this, to, owner, flight, flow: null, expiry: null, holdEnd: Infinity, over: false };
    this.requests.set(flight, r);
    this.schedule.add(flight);
    // A new connection per part (the server closes after its reply): SYN and then the
    // RETP leave through our uplink's queue, the SYN-ACK through the owner's.
    w.q.after(3 * w.config.latencyMs + w.config.setupMs + 2 * this.queueMs() + to.queueMs(), () => r.to.retp(r));
  }

  /** heal.ts afterAccept: maybe fetch a second copy of `part` from another owner (idle ones first). */
  private maybeCheck(part: number, supplier: Owner): void {
    const { w } = this;
    const share = w.config.download.crossCheckShare;
    if (!(share > 0) || w.random() >= crossCheckChance(this.passed.get(supplier.key) ?? 0, w.parts, this.checks, share)) return;
    const now = w.q.now;
    const candidates = [...this.owners.values()].filter((o) => o.listed && o.banned === null && o !== supplier && hasPart(o.bitmap, part));
    const idle = candidates.filter((o) => this.owners.available(o, now));
    const other = pickHolder(idle.length > 0 ? idle : candidates, w.random);
    if (!other) return;
    this.checks++;
    const to = w.byIp.get(other.address.ip4)!;
    const r: Request = { part, from: this, to, owner: other, flight: null, flow: null, expiry: null, holdEnd: Infinity, over: false, supplier };
    other.load++;
    this.checking.add(r);
    w.q.after(3 * w.config.latencyMs + w.config.setupMs + 2 * this.queueMs() + to.queueMs(), () => r.to.retp(r));
  }

  /** The request is over for us (landed, failed, cancelled): free its slot. */
  private settle(r: Request): void {
    r.over = true;
    if (r.flight) {
      this.requests.delete(r.flight);
      this.schedule.remove(r.flight);
    } else {
      this.checking.delete(r);
      r.owner.load--;
    }
  }

  private cancel(r: Request): void {
    if (r.over) return;
    if (r.flight) r.flight.cancelled = true;
    this.settle(r);
    r.to.dropIncoming(r);
  }

  /** The whole part has arrived (Download.accept). */
  landed(r: Request): void {
    if (r.over) return;
    const { w } = this;
    const bytes = w.partBytes(r.part);
    if (this.gone) return this.settle(r);
    if (!r.flight) {
      // a cross-check copy: the swarm is honest, so the digests agree and both owners pass
      this.settle(r);
      w.checked += bytes;
      for (const key of [r.supplier!.key, r.owner.key]) this.passed.set(key, (this.passed.get(key) ?? 0) + 1);
      return this.pump();
    }
    if (hasPart(this.have, r.part)) {
      w.wasted += bytes;
      this.settle(r);
    } else {
      setPart(this.have, r.part);
      this.haveCount++;
      // first copy wins: the other endgame requests for this part stop
      this.schedule.cancelOthers(r.part, r.flight);
      this.owners.succeeded(r.owner);
      this.settle(r);
      this.maybeCheck(r.part, r.owner);
      this.call('RPAD', w.sizes.request.RPAD, () => (w.tracker.registry.reportPart(this.session, w.md5, r.part), w.sizes.reply.APAD), () => undefined);
      if (this.complete) {
        this.doneAt = w.q.now;
        w.completed(this);
        for (const o of [...this.requests.values()]) this.cancel(o);
        this.timer(0, () => this.watch());
        return;
      }
    }
    this.pump();
  }

  failed(r: Request, why: 'choked' | 'error'): void {
    if (r.over) return;
    const { w } = this;
    this.settle(r);
    // a cross-check that failed is only logged (heal.ts): no back-off
    if (!r.flight) return this.pump();
    if (why === 'choked') {
      w.choked++;
      this.owners.choked(r.owner);
    } else {
      this.owners.faulted(r.owner);
    }
    this.pump();
  }

  // ---- uploading ------------------------------------------------------------------------

  /** A RETP arrives (uploader.ts, then bandwidth/policy.ts admission, then ChokerService.admit). */
  retp(r: Request): void {
    if (r.over) return;
    if (this.gone || !this.choker || !hasPart(this.have, r.part)) return this.refuse(r, 'error');
    const c = this.choker;
    const now = this.w.q.now;
    this.incoming.add(r);
    // Seed spreading is for contention only: a duplicate part is refused when serving it would take the last free place.
    if (this.spread && this.serving.size >= c.places() - 1 && this.spread.refuse(r.part, r.from.key)) return this.refuse(r, 'choked');
    c.requested(r.from.key, now);
    // Finished downloading: seeding rules from now on, not at the next round.
    if (c.mode === 'downloading' && this.complete) this.rechoke();
    if (c.admit(r.from.key, now, this.serving)) return this.serve(r);
    const { choker: { admissionWaitMs: hold }, latencyMs, uplinkQueueMs } = this.w.config;
    if (!(hold > 0)) return this.refuse(r, 'choked');
    this.waiters.add(r);
    if (uplinkQueueMs > 0) {
      r.expiry = this.w.q.after(hold, () => {
        r.expiry = null;
        this.waiters.delete(r);
        this.refuse(r, 'choked');
      });
      return;
    }
    // No uplink queue: the close reaches the asker latencyMs after the hold ends whatever
    // our uplink does then, so one event is both the hold's end and the close's arrival
    // (a refusal's events 3 -> 2, and most of a big swarm's events are refusals). Until
    // it runs, the request counts as closed from holdEnd on (holdOver).
    r.holdEnd = now + hold;
    r.expiry = this.w.q.after(hold + latencyMs, () => {
      r.expiry = null;
      this.waiters.delete(r);
      this.incoming.delete(r);
      this.closed(r, true, 'choked');
    });
  }

  /** A held request whose hold has ended: closed already, though its close is still on the way. */
  private holdOver(r: Request): boolean {
    return r.holdEnd <= this.w.q.now;
  }

  /** ChokerService.grant, then the transfer. */
  private serve(r: Request): void {
    const { w } = this;
    if (r.expiry) r.expiry.cancelled = true;
    r.holdEnd = Infinity;
    this.choker!.gave(r.from.key, r.part, w.q.now);
    this.spread?.admitted(r.part, r.from.key);
    this.serving.set(r.from.key, (this.serving.get(r.from.key) ?? 0) + 1);
    const bytes = w.sizes.arep(w.partBytes(r.part));
    const from = r.from;
    r.flow = w.net.start(
      this.host,
      from.host,
      bytes,
      (n, t0, t1) => {
        this.uploaded += n;
        from.downloaded += n;
        this.choker!.uploaded(from.key, n, t1);
        from.choker?.downloaded(this.key, n, t1);
        w.delivered.spread(t0, t1, n);
      },
      () => {
        this.release(r);
        // the last bytes still sit in our uplink's queue (the fluid rate is the shaper's)
        w.q.after(w.config.latencyMs + w.config.uplinkQueueMs, () => from.landed(r));
      },
    );
  }

  private release(r: Request): void {
    if (!this.incoming.delete(r)) return;
    if (r.flow) {
      const n = (this.serving.get(r.from.key) ?? 1) - 1;
      if (n <= 0) this.serving.delete(r.from.key);
      else this.serving.set(r.from.key, n);
      this.wakeWaiters();
    }
  }

  /** The downloader hung up (endgame copy won elsewhere, or it left). */
  dropIncoming(r: Request): void {
    if (!this.incoming.has(r) || this.holdOver(r)) return;
    if (r.expiry) r.expiry.cancelled = true;
    this.waiters.delete(r);
    if (r.flow && !r.flow.finished) this.w.wasted += this.w.net.cancel(r.flow);
    this.release(r);
  }

  /** Closes a request unanswered (choked) or at once (error: gone, no upload, no such part). */
  private refuse(r: Request, why: 'choked' | 'error'): void {
    if (r.expiry) r.expiry.cancelled = true;
    this.waiters.delete(r);
    if (r.flow && !r.flow.finished) this.w.wasted += this.w.net.cancel(r.flow);
    if (this.incoming.has(r)) this.release(r);
    // The asker sees a close without a reply: a choke (a peer that uploads nothing closes so too).
    const refused = why === 'choked' || (!this.choker && !this.gone);
    this.w.q.after(this.w.config.latencyMs + this.queueMs(), () => this.closed(r, refused, why));
  }

  /** The asker sees our close (`refused`: without a reply, which its choker notes). */
  private closed(r: Request, refused: boolean, why: 'choked' | 'error'): void {
    if (refused) r.from.choker?.refusedBy(this.key, this.w.q.now);
    r.from.failed(r, why);
  }

  /** ChokerService.wakeWaiters: every held request that may be served now is, best priority first, then first come. */
  private wakeWaiters(): void {
    if (this.waiters.size === 0 || this.gone) return;
    const c = this.choker!;
    const now = this.w.q.now;
    const order = [...this.waiters].filter((r) => !this.holdOver(r)).map((r, i) => ({ r, i, p: c.priority(r.from.key, now) }));
    order.sort((a, b) => a.p - b.p || a.i - b.i);
    for (const { r } of order) {
      if (c.admit(r.from.key, now, this.serving)) {
        this.waiters.delete(r);
        this.w.servedFromHold++;
        this.serve(r);
      }
    }
  }

  private rechoke(): void {
    this.w.net.flush(this.host);
    this.choker!.round(this.w.q.now, this.complete ? 'seeding' : 'downloading');
    this.wakeWaiters();
  }

  private round(): void {
    if (this.gone || !this.choker) return;
    this.rechoke();
    this.timer(this.choker.rechokeIntervalMs, () => this.round());
  }
}
