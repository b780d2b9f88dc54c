/**
 * One connection guard for every server (the tracker, the peer's listener):
 * who may hold a connection, and for how long. Pure: no sockets, no timers; the
 * server reports what happens on each connection and destroys what the guard
 * hands back, and calls `expired()` from its own timer.
 *
 * * Per client, at most `maxPerAddress` connections. A client is its address with
 *   the IPv4 and IPv6 forms of one host counted together (`::ffff:a.b.c.d` is
 *   a.b.c.d, the loopback host's `::1` is 127.0.0.1), so no family is a second
 *   quota.
 * * At most `maxConnections` in all. A newcomer over either cap is NOT the one
 *   closed: the connection that has done least for longest is (one closing
 *   after its replies first, then one waiting for or still reading a request,
 *   the longest waiting first). Connections being served (an upload in
 *   progress) are never evicted: they have their own deadline. Only when every
 *   candidate is being served is the newcomer refused. A flood from a few
 *   addresses thus only churns its own connections, and a flood from many
 *   cannot keep a newcomer out.
 * * A request must arrive complete within `requestTimeoutMs` of its first byte
 *   (slowloris): the deadline is set once per request, bytes do not extend it.
 * * A connection that moves no byte for `idleTimeoutMs` while not being served
 *   is closed.
 */

export interface GuardLimits {
  /** Open connections at most, over every client. */
  readonly maxConnections: number;
  /** Open connections at most from one client (both address families together). */
  readonly maxPerAddress: number;
  /** From the first byte of a request to its last. */
  readonly requestTimeoutMs: number;
  /** No byte in or out, while not being served. */
  readonly idleTimeoutMs: number;
}

export type DropReason =
  /** Evicted to make room for a newcomer from the same client. */
  | 'per-address'
  /** Evicted to make room for a newcomer under the global cap. */
  | 'full'
  /** A newcomer refused: every connection it could replace is being served. */
  | 'refused'
  | 'request-timeout'
  | 'idle';

export interface Drop<T> {
  readonly handle: T;
  readonly key: string;
  readonly reason: DropReason;
}

/** What a connection is doing, for eviction and deadlines. */
type State = 'waiting' | 'reading' | 'closing';

/**
 * The client a connection counts under: IPv4-mapped IPv6 is that IPv4, and the
 * loopback host's IPv6 (::1) is its IPv4 (127.0.0.1).
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return '127.0.0.1';
  return a;
}

/** One admitted connection: the server reports its progress here. */
export class Slot<T> {
  /** Set once the guard has let go of it (closed, evicted or expired). */
  released = false;
  state: State = 'waiting';
  /** How many requests are being served now (not evictable, no idle deadline). */
  serving = 0;
  lastActive: number;
  /** When the request being read began (its first byte), while `state` is 'reading'. */
  requestStart = 0;
  /** When it last became an eviction candidate (a sequence number: smaller is longer ago). */
  since = 0;

  constructor(private readonly guard: ConnectionGuard<T>, readonly handle: T, readonly key: string, now: number) {
    this.lastActive = now;
  }

  /** Bytes moved in either direction. */
  active(): void {
    this.lastActive = this.guard.now();
  }

  /**
   * After bytes arrived: `completed` requests came out of them, and `partial`
   * says whether a request is still being read. A new partial request starts
   * its deadline now; one that carries on keeps its old deadline.
   */
  read(completed: number, partial: boolean): void {
    if (this.released || this.state === 'closing') return;
    if (!partial) this.state = 'waiting';
    else if (completed > 0 || this.state !== 'reading') {
      this.state = 'reading';
      this.requestStart = this.guard.now();
    }
  }

  /** A complete request is being served (e.g. an upload): not evictable until `served`. */
  serve(): void {
    if (this.released) return;
    if (this.serving++ === 0) this.guard.leaveCandidates(this);
  }

  served(): void {
    if (this.released || this.serving === 0) return;
    this.lastActive = this.guard.now();
    if (--this.serving === 0) this.guard.enterCandidates(this);
  }

  /** Everything is answered and the server is closing: first in line for eviction. */
  closing(): void {
    if (this.released || this.state === 'closing') return;
    this.state = 'closing';
    if (this.serving === 0) {
      this.guard.leaveCandidates(this);
      this.guard.enterCandidates(this);
    }
  }

  /** The connection is gone. Idempotent. */
  release(): void {
    this.guard.forget(this);
  }
}

export type Admission<T> = { readonly slot: Slot<T>; readonly drops: Drop<T>[] } | { readonly slot: null; readonly drops: Drop<T>[] };

export class ConnectionGuard<T> {
  private readonly all = new Set<Slot<T>>();
  private readonly byKey = new Map<string, Set<Slot<T>>>();
  /** Not being served, not closing; in the order they became so (oldest first). */
  private readonly waiting = new Set<Slot<T>>();
  /** Closing after their replies, oldest first. */
  private readonly closingSlots = new Set<Slot<T>>();
  /** Orders candidates by when they became one. */
  private sequence = 0;

  constructor(
    readonly limits: GuardLimits,
    readonly now: () => number,
    private readonly keyOf: (address: string | undefined) => string = clientKey,
  ) {
    for (const [name, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
    }
  }

  get size(): number {
    return this.all.size;
  }

  /** Open connections of the client `address` belongs to. */
  countOf(address: string | undefined): number {
    return this.byKey.get(this.keyOf(address))?.size ?? 0;
  }

  /**
   * A new connection from `address`. Returns its slot and the connections to
   * close to make room for it, or no slot (refused) when none could be closed.
   */
  open(address: string | undefined, handle: T): Admission<T> {
    const key = this.keyOf(address);
    const drops: Drop<T>[] = [];
    const own = this.byKey.get(key);
    if (own !== undefined && own.size >= this.limits.maxPerAddress) {
      const victim = this.victimAmong(own);
      if (victim === null) return { slot: null, drops: [{ handle, key, reason: 'refused' }] };
      drops.push(this.drop(victim, 'per-address'));
    }
    if (this.all.size >= this.limits.maxConnections) {
      const victim = this.firstOf(this.closingSlots) ?? this.firstOf(this.waiting);
      if (victim === null) return { slot: null, drops: [...drops, { handle, key, reason: 'refused' }] };
      drops.push(this.drop(victim, 'full'));
    }
    const slot = new Slot(this, handle, key, this.now());
    this.all.add(slot);
    let set = this.byKey.get(key);
    if (set === undefined) this.byKey.set(key, (set = new Set()));
    set.add(slot);
    this.enterCandidates(slot);
    return { slot, drops };
  }

  /** Connections past a deadline now; they are released (close them). */
  expired(): Drop<T>[] {
    const now = this.now();
    const out: Drop<T>[] = [];
    for (const s of this.all) {
      if (s.state === 'reading' && now - s.requestStart >= this.limits.requestTimeoutMs) out.push(this.drop(s, 'request-timeout'));
      else if (s.serving === 0 && now - s.lastActive >= this.limits.idleTimeoutMs) out.push(this.drop(s, 'idle'));
    }
    return out;
  }

  /** @internal (Slot) */
  leaveCandidates(slot: Slot<T>): void {
    this.waiting.delete(slot);
    this.closingSlots.delete(slot);
  }

  /** @internal (Slot) */
  enterCandidates(slot: Slot<T>): void {
    slot.since = this.sequence++;
    (slot.state === 'closing' ? this.closingSlots : this.waiting).add(slot);
  }

  /** @internal (Slot) */
  forget(slot: Slot<T>): void {
    if (slot.released) return;
    slot.released = true;
    this.all.delete(slot);
    this.leaveCandidates(slot);
    const set = this.byKey.get(slot.key);
    if (set !== undefined) {
      set.delete(slot);
      if (set.size === 0) this.byKey.delete(slot.key);
    }
  }

  private drop(slot: Slot<T>, reason: DropReason): Drop<T> {
    this.forget(slot);
    return { handle: slot.handle, key: slot.key, reason };
  }

  private firstOf(set: Set<Slot<T>>): Slot<T> | null {
    for (const s of set) return s;
    return null;
  }

  /** Within one client: a closing one first, else the one waiting longest; never one being served. */
  private victimAmong(own: Set<Slot<T>>): Slot<T> | null {
    let best: Slot<T> | null = null;
    for (const s of own) {
      if (s.serving > 0) continue;
      if (best === null) best = s;
      else if ((s.state === 'closing') !== (best.state === 'closing')) {
        if (s.state === 'closing') best = s;
      } else if (s.since < best.since) best = s;
    }
    return best;
  }
}
