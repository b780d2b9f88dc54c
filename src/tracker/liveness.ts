/**
 * Who is alive, as a pure policy (no sockets, no timers; the clock is injected).
 * Like the classic BitTorrent tracker's NAT check (BitTornado `--nat_check`),
 * a peer that has sent nothing for `idleMs` is probed by a TCP connect to its
 * listed address and port; an answered probe counts as seen, and after
 * `failures` failed probes in a row, `spacingMs` apart, the session is dropped.
 * The edge that opens the sockets is prober.ts; the registry keeps `lastSeen`.
 *
 * "Seen" is the registry's lastSeen: any request of the session, an idempotent
 * LOGI from its address and port, or an answered probe. A failure only counts
 * while the peer stays silent: anything seen after it starts the count again.
 */

export interface LivenessSettings {
  /** Probe a peer that sent nothing for this long. */
  readonly idleMs: number;
  /** Drop the session after this many failed probes in a row. */
  readonly failures: number;
  /** Time from a failed probe to the next probe of the same peer. */
  readonly spacingMs: number;
  /** Connect timeout of one probe (both address families are tried at once). */
  readonly probeTimeoutMs: number;
  /** Probes in flight at most (each holds up to two sockets). */
  readonly maxProbes: number;
}

/**
 * Defaults: a peer killed just after its last request is probed 30 s later and
 * dropped at its third failure, 5 s apart: under 30 + 1 + 3 × 3 + 2 × (5 + 1) = 52 s
 * even when every probe runs into its 3 s timeout (the 1 s terms are the
 * prober's tick), so a killed peer is gone from AFCH within a minute.
 */
export const DEFAULT_LIVENESS: LivenessSettings = { idleMs: 30_000, failures: 3, spacingMs: 5_000, probeTimeoutMs: 3_000, maxProbes: 64 };

/** What the policy needs to know of a session. */
export interface LivenessEntry {
  readonly id: string;
  readonly lastSeen: number;
}

/** After a probe: `alive` (count it as seen), `failed` (probe again later), `drop` (the session is dead), `gone` (it ended meanwhile). */
export type ProbeVerdict = 'alive' | 'failed' | 'drop' | 'gone';

interface ProbeState {
  /** Failed probes since the peer was last seen at `seenAt`. */
  failures: number;
  /** The peer's lastSeen when these failures were counted. */
  seenAt: number;
  /** No probe before this time. */
  nextAt: number;
  inFlight: boolean;
  /** The policy's sweep generation in which the session was last listed (to forget the gone). */
  mark: number;
}

export function checkLivenessSettings(s: LivenessSettings): LivenessSettings {
  const positive = (name: keyof LivenessSettings): void => {
    const v = s[name];
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`liveness ${name} must be a positive integer, got ${v}`);
  };
  for (const name of ['idleMs', 'failures', 'spacingMs', 'probeTimeoutMs', 'maxProbes'] as const) positive(name);
  return s;
}

export class LivenessPolicy {
  private readonly states = new Map<string, ProbeState>();
  private inFlight = 0;
  private generation = 0;

  constructor(
    readonly settings: LivenessSettings,
    private readonly now: () => number,
  ) {
    checkLivenessSettings(settings);
  }

  /** Probes running now. */
  get probesInFlight(): number {
    return this.inFlight;
  }

  /**
   * The sessions to probe now, given every session there is (state about
   * sessions not listed is forgotten), at most maxProbes in flight. Each one
   * returned is in flight until `settle` is called for it.
   */
  due<T extends LivenessEntry>(sessions: Iterable<T>): T[] {
    const now = this.now();
    const mark = ++this.generation;
    const out: T[] = [];
    for (const s of sessions) {
      let state = this.states.get(s.id);
      if (state) {
        state.mark = mark;
        // Seen since the failures were counted: they no longer count.
        if (!state.inFlight && state.seenAt !== s.lastSeen) {
          this.states.delete(s.id);
          state = undefined;
        }
      }
      if (state?.inFlight) continue;
      if (now - s.lastSeen < this.settings.idleMs) continue;
      if (state && now < state.nextAt) continue;
      if (this.inFlight >= this.settings.maxProbes) continue;
      if (!state) {
        state = { failures: 0, seenAt: s.lastSeen, nextAt: now, inFlight: false, mark };
        this.states.set(s.id, state);
      }
      state.inFlight = true;
      this.inFlight++;
      out.push(s);
    }
    for (const [id, state] of this.states) {
      if (state.mark === mark) continue;
      if (state.inFlight) this.inFlight--;
      this.states.delete(id);
    }
    return out;
  }

  /**
   * A probe returned by `due` ended; `lastSeen` is the session's last-seen time
   * now (it may have spoken while the probe ran), undefined when it is gone.
   */
  settle(id: string, answered: boolean, lastSeen: number | undefined): ProbeVerdict {
    const state = this.states.get(id);
    if (state?.inFlight) {
      state.inFlight = false;
      this.inFlight--;
    }
    if (lastSeen === undefined) {
      this.states.delete(id);
      return 'gone';
    }
    if (answered || !state || lastSeen !== state.seenAt) {
      this.states.delete(id);
      return 'alive';
    }
    state.failures++;
    if (state.failures >= this.settings.failures) {
      this.states.delete(id);
      return 'drop';
    }
    state.nextAt = this.now() + this.settings.spacingMs;
    return 'failed';
  }

  /**
   * False while the session's probes are failing and it has not been seen since:
   * the LOGO rule does not count such a peer as a holder (its parts may be gone).
   */
  live(id: string, lastSeen: number): boolean {
    const state = this.states.get(id);
    return !state || state.failures === 0 || state.seenAt !== lastSeen;
  }

  /** Failed probes in a row of a session not seen since (0 when none). */
  failuresOf(id: string): number {
    return this.states.get(id)?.failures ?? 0;
  }
}
