/**
 * The liveness check's edge: a timer that asks the pure LivenessPolicy whom to
 * probe, TCP connects to those peers' listed addresses (the classic tracker's
 * NAT check), and hands each outcome back to the policy and the registry.
 * Bounded: at most `maxProbes` probes in flight, each connect with a timeout.
 */
import { type Socket, connect } from 'node:net';
import type { Logger } from '../log.js';
import { formatHostPort } from '../protocol/index.js';
import type { LivenessPolicy } from './liveness.js';
import type { ProbeTarget, Registry } from './registry.js';

const UNSPECIFIED_IP4 = '0.0.0.0';
const UNSPECIFIED_IP6 = '0000:0000:0000:0000:0000:0000:0000:0000';

/** Where a peer can be probed: its listed IPv4 and IPv6, except the unspecified addresses (they would reach this host). */
export function probeHosts(target: Pick<ProbeTarget, 'address'>): string[] {
  const hosts: string[] = [];
  if (target.address.ip4 !== UNSPECIFIED_IP4) hosts.push(target.address.ip4);
  if (target.address.ip6 !== UNSPECIFIED_IP6) hosts.push(target.address.ip6);
  return hosts;
}

/**
 * Resolves true once a TCP connection to host:port is established (and closes
 * it at once, sending nothing), false on an error or after `timeoutMs`. Never
 * rejects. `sockets` holds it while it is open, so a closing tracker can end it.
 */
export function tcpProbe(host: string, port: number, timeoutMs: number, sockets: Set<Socket>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    sockets.add(socket);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sockets.delete(socket);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    // Destroyed from outside (the tracker closing): the probe did not succeed.
    socket.once('close', () => finish(false));
  });
}

export class Prober {
  private readonly timer: NodeJS.Timeout;
  /** The sockets of each probe in flight. */
  private readonly probes = new Set<Set<Socket>>();
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly policy: LivenessPolicy,
    private readonly log: Logger,
  ) {
    const { idleMs, spacingMs } = policy.settings;
    // Often enough that a due probe waits at most a quarter of the shortest interval (and never more than 1 s).
    const every = Math.max(10, Math.min(1000, Math.floor(Math.min(idleMs, spacingMs) / 4)));
    this.timer = setInterval(() => this.tick(), every).unref();
  }

  /** Starts the probes that are due (also called by the timer). */
  tick(): void {
    if (this.closed) return;
    for (const target of this.policy.due(this.registry.probeTargets())) {
      this.probe(target).catch((err: unknown) => this.log.error({ err }, 'liveness probe failed unexpectedly'));
    }
  }

  /** Stops the timer and ends the probes in flight; their outcomes are ignored. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const sockets of this.probes) for (const s of sockets) s.destroy();
  }

  private async probe(target: ProbeTarget): Promise<void> {
    // Read now: the registry's object may change while the probe runs.
    const { id, address, port, lastSeen } = target;
    const hosts = probeHosts(target);
    const timeoutMs = this.policy.settings.probeTimeoutMs;
    // Both families at once: the probe takes one timeout at most, and either answering is enough.
    const sockets = new Set<Socket>();
    this.probes.add(sockets);
    const answered = hosts.length > 0 && (await anyTrue(hosts.map((h) => tcpProbe(h, port, timeoutMs, sockets))));
    // One family answered: the other's connect is not needed any more.
    for (const s of sockets) s.destroy();
    this.probes.delete(sockets);
    if (this.closed) return;
    const verdict = this.policy.settle(id, answered, this.registry.lastSeenOf(id));
    const peer = formatHostPort(address.ip4, port);
    if (verdict === 'alive') {
      this.registry.seen(id);
      return;
    }
    if (verdict !== 'drop') {
      if (verdict === 'failed' && this.log.isLevelEnabled('debug')) {
        this.log.debug({ peer, ip6: address.ip6, failures: this.policy.failuresOf(id), lastSeen }, 'liveness probe failed');
      }
      return;
    }
    const { failures, idleMs } = this.policy.settings;
    const reason =
      hosts.length === 0
        ? `silent for ${idleMs} ms or more and no address to probe (both listed addresses unspecified)`
        : `silent for ${idleMs} ms or more and ${failures} probes in a row got no TCP connection to ${hosts.map((h) => formatHostPort(h, port)).join(' or ')}`;
    try {
      const dropped = this.registry.drop(id, reason);
      if (dropped) this.log.info({ peer, ip6: address.ip6, partsOwned: dropped.partsOwned, lastSeen, reason }, 'peer dropped: not alive');
    } catch (err) {
      // The store failed: the session stays (and is probed again).
      this.log.error({ peer, err }, 'dropping a dead peer failed');
    }
  }
}

/** True as soon as one of the promises resolves true; false when all resolve false. */
function anyTrue(promises: Promise<boolean>[]): Promise<boolean> {
  return new Promise((resolve) => {
    let pending = promises.length;
    for (const p of promises) {
      void p.then((ok) => {
        pending--;
        if (ok) resolve(true);
        else if (pending === 0) resolve(false);
      });
    }
  });
}
