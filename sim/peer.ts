/**
 * One simulated peer: the downloader's loop (poll FCHU, pick with the real
 * picker, at most `maxPerOwner` requests per owner and `maxInFlight` in all,
 * back off after a choke or a failure, endgame, RPAD per part) and the
 * uploader's admission (the real choker: interest, vacancies, rounds; the
 * service's cap of uploadSlots + 1 peers served at once, and a choked request
 * waits `admissionWaitMs` for a slot, then is closed unanswered). Mirrors
 * src/peer/downloader.ts and src/peer/choke/service.ts, with the network and
 * the tracker modelled.
 */
import { emptyBitmap, fullBitmap, hasPart, setPart } from '../src/protocol/index.js';
import { nextPollInterval, pollDelay, pollNews } from '../src/peer/poll-policy.js';
import type { SimEvent } from './events.js';
import type { Flow, Host } from './network.js';
import { type OwnerView, type SimChoker, newChoker, pick } from './real.js';
import type { PeerSpec, World } from './world.js';

interface Owner {
  readonly peer: SimPeer;
  readonly view: { key: string; bitmap: Uint8Array; load: number; available: boolean };
  failures: number;
  backoffUntil: number;
  listed: boolean;
}

/** One RETP from `from` to `to`, from connect to the last byte. */
interface Request {
  readonly part: number;
  readonly from: SimPeer;
  readonly to: SimPeer;
  readonly owner: Owner;
  flow: Flow | null;
  expiry: SimEvent | null;
  /** Settled (landed, failed or cancelled): later events for it do nothing. */
  over: boolean;
}

const CHOKED_RETRY_MS = 1000;

export class SimPeer {
  readonly key: string;
  readonly have: Uint8Array;
  haveCount = 0;
  session = '';
  doneAt: number | null = null;
  gone = false;
  uploaded = 0;
  downloaded = 0;
  private readonly owners = new Map<SimPeer, Owner>();
  private readonly inFlight = new Map<number, Map<SimPeer, Request>>();
  private readonly inFlightKeys = new Map<number, Set<string>>();
  private inFlightCount = 0;
  readonly choker: SimChoker | null;
  private readonly serving = new Map<string, number>();
  private readonly incoming = new Set<Request>();
  private readonly waiters = new Set<Request>();
  private polling = false;
  private pollMs: number;
  private wake: SimEvent | null = null;
  private pollTimer: SimEvent | null = null;
  private roundTimer: SimEvent | null = null;
  private leaveTimer: SimEvent | null = null;

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
    this.pollMs = w.config.poll.minMs;
  }

  get complete(): boolean {
    return this.haveCount === this.w.parts;
  }

  // ---- life ---------------------------------------------------------------------------

  arrive(): void {
    const { w } = this;
    this.session = w.tracker.registry.login({ ip4: this.ip4, ip6: '::' }, 5000);
    // LOGI as a request (the session is needed at once, so it is taken here and only counted).
    w.tracker.call('LOGI', w.sizes.request.LOGI, () => w.sizes.reply.ALGI, () => {
      if (this.gone) return;
      if (this.spec.seed) w.tracker.call('ADDR', 128, () => (w.tracker.registry.add(this.session, w.fileSize, w.partLength, w.md5), 12), () => undefined);
      else this.poll();
    });
    if (this.choker) this.round();
    if (this.spec.leaveAt !== undefined) this.leaveTimer = w.q.at(this.spec.leaveAt, () => this.leave());
  }

  leave(): void {
    if (this.gone) return;
    const { w } = this;
    this.gone = true;
    for (const t of [this.pollTimer, this.roundTimer, this.leaveTimer]) if (t) t.cancelled = true;
    if (this.wake) this.wake.cancelled = true;
    // Our downloads stop; our uploads break (the downloaders see a failed fetch).
    for (const m of this.inFlight.values()) for (const r of m.values()) this.cancel(r);
    for (const r of [...this.incoming]) this.refuse(r, 'error');
    // LOGO; refused (NLOG) when we hold parts nobody else has: we leave anyway (the tracker still lists us).
    w.tracker.call('LOGO', w.sizes.request.LOGO, () => (w.tracker.registry.logout(this.session), w.sizes.reply.ALOG), () => undefined);
    w.departed(this);
  }

  // ---- downloading ----------------------------------------------------------------------

  private poll(): void {
    if (this.gone || this.complete || this.polling) return;
    const { w } = this;
    this.polling = true;
    let holders: { ip4: string; bitmap: Uint8Array }[] = [];
    w.tracker.call(
      'FCHU',
      w.sizes.request.FCHU,
      () => {
        holders = w.tracker.registry.fetch(this.session, w.md5);
        return w.sizes.afch(holders.length);
      },
      () => {
        this.polling = false;
        if (this.gone || this.complete) return;
        this.listed(holders);
        this.pump();
        this.pollTimer = w.q.after(pollDelay(this.pollMs, w.random, w.config.poll), () => this.poll());
      },
    );
  }

  private listed(holders: readonly { ip4: string; bitmap: Uint8Array }[]): void {
    const { w } = this;
    if (w.config.poll.adaptive) {
      const known = new Map<string, Uint8Array>();
      for (const o of this.owners.values()) if (o.listed) known.set(o.view.key, o.view.bitmap);
      const answer = holders.filter((h) => h.ip4 !== this.ip4).map((h) => ({ key: w.byIp.get(h.ip4)!.key, bitmap: h.bitmap }));
      const starving = this.inFlightCount === 0;
      this.pollMs = nextPollInterval(this.pollMs, pollNews(known, answer, this.have, w.parts), starving, w.config.poll);
    }
    for (const o of this.owners.values()) o.listed = false;
    for (const h of holders) {
      const peer = w.byIp.get(h.ip4);
      if (!peer || peer === this) continue;
      const known = this.owners.get(peer);
      // a snapshot, as a decoded AFCH would be (the registry's bitmaps change in place)
      if (known) {
        (known.view.bitmap as Buffer).set(h.bitmap);
        known.listed = true;
      } else {
        this.owners.set(peer, { peer, view: { key: peer.key, bitmap: Buffer.from(h.bitmap), load: 0, available: true }, failures: 0, backoffUntil: 0, listed: true });
      }
    }
    for (const [p, o] of this.owners) if (!o.listed && o.view.load === 0) this.owners.delete(p);
  }

  /** Fills free request slots with the real picker's choices. */
  pump(): void {
    const { w } = this;
    const t = w.config.download;
    if (this.gone || this.complete || this.inFlightCount >= t.maxInFlight) return;
    const now = w.q.now;
    const views: OwnerView[] = [];
    for (const o of this.owners.values()) {
      if (!o.listed) continue;
      o.view.available = o.view.load < t.maxPerOwner && o.backoffUntil <= now;
      views.push(o.view);
    }
    if (views.length === 0) return;
    while (this.inFlightCount < t.maxInFlight) {
      w.picks++;
      const choice = pick({ parts: w.parts, have: this.have, inFlight: this.inFlightKeys, owners: views, randomFirst: t.randomFirst, endgameCopies: t.endgameCopies, random: w.random });
      if (!choice) break;
      const owner = this.owners.get(w.peers[Number(choice.owner)]!)!;
      this.request(choice.part, owner);
      owner.view.available = owner.view.load < t.maxPerOwner;
    }
    this.scheduleWake();
  }

  private scheduleWake(): void {
    if (this.wake && !this.wake.cancelled) return;
    const now = this.w.q.now;
    let next = Infinity;
    for (const o of this.owners.values()) if (o.backoffUntil > now) next = Math.min(next, o.backoffUntil);
    if (next === Infinity) return;
    this.wake = this.w.q.at(next + 5, () => {
      this.wake = null;
      this.pump();
    });
  }

  private request(part: number, owner: Owner): void {
    const { w } = this;
    const r: Request = { part, from: this, to: owner.peer, owner, flow: null, expiry: null, over: false };
    let m = this.inFlight.get(part);
    if (!m) this.inFlight.set(part, (m = new Map()));
    m.set(owner.peer, r);
    let keys = this.inFlightKeys.get(part);
    if (!keys) this.inFlightKeys.set(part, (keys = new Set()));
    keys.add(owner.view.key);
    owner.view.load++;
    this.inFlightCount++;
    // A new connection per part (the server closes after its reply): connect, then RETP.
    w.q.after(3 * w.config.latencyMs + w.config.setupMs, () => r.to.retp(r));
  }

  /** The request is over for us (landed, failed, cancelled): free its slot. */
  private settle(r: Request): void {
    r.over = true;
    r.owner.view.load--;
    this.inFlightCount--;
    const m = this.inFlight.get(r.part);
    m?.delete(r.to);
    if (m && m.size === 0) this.inFlight.delete(r.part);
    const keys = this.inFlightKeys.get(r.part);
    keys?.delete(r.to.key);
    if (keys && keys.size === 0) this.inFlightKeys.delete(r.part);
  }

  private cancel(r: Request): void {
    if (r.over) return;
    this.settle(r);
    r.to.dropIncoming(r);
  }

  /** The whole part has arrived. */
  landed(r: Request): void {
    if (r.over) return;
    const { w } = this;
    this.settle(r);
    const bytes = w.partBytes(r.part);
    if (this.gone) return;
    if (hasPart(this.have, r.part)) {
      w.wasted += bytes;
    } else {
      setPart(this.have, r.part);
      this.haveCount++;
      r.owner.failures = 0;
      // first copy wins: the other endgame requests for this part stop
      for (const other of [...(this.inFlight.get(r.part)?.values() ?? [])]) this.cancel(other);
      w.tracker.call('RPAD', w.sizes.request.RPAD, () => (w.tracker.registry.reportPart(this.session, w.md5, r.part), w.sizes.reply.APAD), () => undefined);
      if (this.complete) {
        this.doneAt = w.q.now;
        w.completed(this);
        for (const m of this.inFlight.values()) for (const o of [...m.values()]) this.cancel(o);
        return;
      }
    }
    this.pump();
  }

  failed(r: Request, why: 'choked' | 'error'): void {
    if (r.over) return;
    const { w } = this;
    this.settle(r);
    const now = w.q.now;
    const o = r.owner;
    if (why === 'choked') {
      w.choked++;
      o.backoffUntil = Math.max(o.backoffUntil, now + CHOKED_RETRY_MS + Math.floor(w.random() * CHOKED_RETRY_MS));
    } else {
      o.failures++;
      o.backoffUntil = now + Math.min(w.config.download.maxBackoffMs, 500 * 2 ** (o.failures - 1));
    }
    this.pump();
  }

  // ---- uploading ------------------------------------------------------------------------

  /** A RETP arrives. */
  retp(r: Request): void {
    if (r.over) return;
    if (this.gone || !this.choker || !hasPart(this.have, r.part)) return this.refuse(r, 'error');
    this.incoming.add(r);
    const now = this.w.q.now;
    this.choker.requested(r.from.key, now);
    if (this.mayServe(r.from.key, now)) return this.serve(r);
    this.waiters.add(r);
    let waited = 0;
    const expire = (): void => {
      waited += this.w.config.choker.admissionWaitMs;
      const c = this.choker!;
      if (c.isUnchoked(r.from.key) && !this.mayServe(r.from.key, this.w.q.now) && waited < 4 * this.w.config.choker.admissionWaitMs) {
        r.expiry = this.w.q.after(this.w.config.choker.admissionWaitMs, expire);
        return;
      }
      this.waiters.delete(r);
      if (this.mayServe(r.from.key, this.w.q.now)) this.serve(r);
      else this.refuse(r, 'choked');
    };
    r.expiry = this.w.q.after(this.w.config.choker.admissionWaitMs, expire);
  }

  private readonly busy = (remote: string): boolean => (this.serving.get(remote) ?? 0) > 0;

  /** As ChokerService.mayServe: unchoked (or takes a vacancy), and at most uploadSlots + 1 peers served. */
  private mayServe(remote: string, now: number): boolean {
    const c = this.choker!;
    if (!c.claimVacancy(remote, now, this.busy)) return false;
    return this.busy(remote) || this.serving.size < c.uploadSlots + 1;
  }

  private serve(r: Request): void {
    const { w } = this;
    if (r.expiry) r.expiry.cancelled = true;
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
        w.q.after(w.config.latencyMs, () => from.landed(r));
      },
    );
  }

  private release(r: Request): void {
    if (!this.incoming.delete(r)) return;
    const n = (this.serving.get(r.from.key) ?? 1) - 1;
    if (r.flow) {
      if (n <= 0) this.serving.delete(r.from.key);
      else this.serving.set(r.from.key, n);
    }
    this.wakeWaiters();
  }

  /** The downloader hung up (endgame copy won elsewhere, or it left). */
  dropIncoming(r: Request): void {
    if (!this.incoming.has(r)) return;
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
    this.w.q.after(this.w.config.latencyMs, () => r.from.failed(r, why));
  }

  /**
   * As the service's wakeWaiters: every waiter that may be served now is, first
   * come first served. A remote refused once stays refused until someone is
   * served (nothing else in the pass changes the choker's answer), so its other
   * waiters are not asked again: the pass is O(waiters), not O(waiters x slots).
   */
  private wakeWaiters(): void {
    if (this.waiters.size === 0 || this.gone) return;
    const now = this.w.q.now;
    let refused = new Set<string>();
    for (const r of this.waiters) {
      if (refused.has(r.from.key)) continue;
      if (this.mayServe(r.from.key, now)) {
        this.waiters.delete(r);
        this.serve(r);
        refused = new Set();
      } else {
        refused.add(r.from.key);
      }
    }
  }

  private round(): void {
    if (this.gone || !this.choker) return;
    const { w } = this;
    w.net.flush(this.host);
    this.choker.round(w.q.now);
    this.wakeWaiters();
    this.roundTimer = w.q.after(this.choker.rechokeIntervalMs, () => this.round());
  }
}
