/**
 * Network namespaces for benchmarks: every process (tracker, seed, each
 * leecher) in a namespace of its own, linked by a veth pair to one bridge that
 * lives in a namespace of the bench's own, so the root namespace (and the
 * machine's real network) is never touched: no address, no route, no link is
 * added outside the namespaces created here, and they are removed by name.
 *
 * The pure part (`planNetns`, `tbfArgs`, `parseQdiscSent`) says what to create;
 * `NetnsLab` runs `ip`/`tc` (root needed) and removes what it made, also after
 * a crash of an earlier run (`cleanupNetns(prefix)`: every namespace whose name
 * starts with the prefix, its processes killed by PID first).
 *
 * Addresses: 10.213.0.0/16, only ever assigned inside the namespaces. A
 * namespace has no default route, so nothing can leave it but toward the bridge.
 */
import { execFileSync } from 'node:child_process';

/** Every namespace a bench creates starts with this (what `--cleanup` removes). */
export const NETNS_PREFIX = 'btbench-';
/** The private range used inside the namespaces (never in the root namespace). */
export const NETNS_SUBNET = '10.213';

export interface NetnsHost {
  /** A short role name: `tracker`, `seed`, `p1`, ... */
  role: string;
  /** Namespace name (prefix + run id + role). */
  ns: string;
  /** IPv4 address inside the namespace (/16). */
  ip4: string;
  /** The bridge-side end of its veth pair (in the bridge namespace). */
  port: string;
  /** Egress limit in bytes/s applied with tbf on its own NIC (0 = none). */
  egress: number;
}

export interface NetnsPlan {
  runId: string;
  /** The namespace holding the bridge. */
  bridgeNs: string;
  hosts: NetnsHost[];
}

/** The NIC name inside each host namespace. */
export const HOST_NIC = 'eth0';

/**
 * What to create: one host per role, addresses 10.213.0.1, .0.2, ... in order
 * (at most 250 hosts), names `btbench-<runId>-<role>` (Linux allows up to 255
 * characters for a namespace name; interface names are at most 15, so the
 * bridge ports are `v<index>`).
 */
export function planNetns(runId: string, hosts: readonly { role: string; egress: number }[]): NetnsPlan {
  if (!/^[a-z0-9]{1,8}-[a-z0-9]{1,8}$/.test(runId)) throw new RangeError(`run id must be <pid in base 36>-<tag>, got ${JSON.stringify(runId)}`);
  if (hosts.length === 0 || hosts.length > 250) throw new RangeError(`1..250 hosts, got ${hosts.length}`);
  const roles = new Set<string>();
  const planned = hosts.map((h, i): NetnsHost => {
    if (!/^[a-z0-9]{1,16}$/.test(h.role) || h.role === 'br') throw new RangeError(`bad role name ${JSON.stringify(h.role)}`);
    if (roles.has(h.role)) throw new RangeError(`role ${h.role} twice`);
    roles.add(h.role);
    if (!(h.egress >= 0) || !Number.isFinite(h.egress)) throw new RangeError(`egress of ${h.role} must be a rate >= 0`);
    return { role: h.role, ns: `${NETNS_PREFIX}${runId}-${h.role}`, ip4: `${NETNS_SUBNET}.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}`, port: `v${i + 1}`, egress: h.egress };
  });
  return { runId, bridgeNs: `${NETNS_PREFIX}${runId}-br`, hosts: planned };
}

/**
 * `tc qdisc add` arguments for a token bucket filter of `rate` bytes/s on
 * `dev`, as an uplink would have: the burst is 10 ms of the rate (at least
 * 16 KiB, so one maximum-size segment always fits), and the queue holds 100 ms.
 * tc reads `bit` as bits per second, so the rate is given in bits.
 */
export function tbfArgs(dev: string, rate: number): string[] {
  if (!(rate > 0)) throw new RangeError('tbf rate must be > 0');
  const burst = Math.max(16 * 1024, Math.ceil(rate / 100));
  return ['qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${Math.round(rate * 8)}bit`, 'burst', String(burst), 'latency', '100ms'];
}

/** The "Sent N bytes" counter of the root qdisc in `tc -s qdisc show` output (null if absent). */
export function parseQdiscSent(text: string): number | null {
  const m = /Sent (\d+) bytes/.exec(text);
  return m ? Number(m[1]) : null;
}

/** The run id of a bench process: its PID (base 36, so `--cleanup` can tell a live run) and a tag. */
export function runIdFor(pid: number, tag: string): string {
  return `${pid.toString(36)}-${tag}`;
}

/**
 * The namespaces of `names` that are ours (prefix) and left over: the bench
 * process named in them (its PID) is gone. A live run's namespaces are kept.
 */
export function leftovers(names: readonly string[], alive: (pid: number) => boolean, prefix: string = NETNS_PREFIX): string[] {
  return names.filter((n) => {
    if (!n.startsWith(prefix)) return false;
    const m = /^([a-z0-9]{1,8})-/.exec(n.slice(prefix.length));
    const pid = m ? parseInt(m[1]!, 36) : NaN;
    return !(Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid));
  });
}

/** Namespace names in `ip netns list` output (each line `name` or `name (id: N)`). */
export function parseNetnsList(text: string): string[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}

// ---------------------------------------------------------------- the shell

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Whether we may create namespaces here (root, `ip` present). */
export function netnsAvailable(): { ok: boolean; reason?: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' };
  try {
    run('ip', ['netns', 'list']);
    run('tc', ['-V']);
  } catch (err) {
    return { ok: false, reason: `ip/tc not usable: ${(err as Error).message}` };
  }
  return { ok: true };
}

/** PIDs of the processes inside namespace `ns`. */
function pidsIn(ns: string): number[] {
  try {
    return run('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
}

/** Kills every process inside `names` (SIGKILL, by PID) and deletes the namespaces. Returns the ones deleted. */
export function removeNamespaces(names: readonly string[]): string[] {
  const removed: string[] = [];
  for (const ns of names) {
    for (const pid of pidsIn(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of names) {
    try {
      run('ip', ['netns', 'del', ns]);
      removed.push(ns);
    } catch {
      // not there (any more)
    }
  }
  return removed;
}

/** Removes every namespace whose name starts with `prefix` and whose bench process is gone (an interrupted run). */
export function cleanupNetns(prefix: string = NETNS_PREFIX): string[] {
  if (!prefix.startsWith(NETNS_PREFIX)) throw new RangeError(`only namespaces named ${NETNS_PREFIX}* are ours`);
  let names: string[];
  try {
    names = parseNetnsList(run('ip', ['netns', 'list']));
  } catch {
    return [];
  }
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  return removeNamespaces(leftovers(names, alive, prefix));
}

/**
 * Creates the namespaces of a plan; `remove()` deletes them (idempotent, also
 * right after a failed `create`). Veth pairs are created inside the bridge
 * namespace with their other end moved straight into the host's namespace: no
 * interface ever appears in the root namespace.
 */
export class NetnsLab {
  private readonly created: string[] = [];

  constructor(readonly plan: NetnsPlan) {}

  create(): void {
    const { bridgeNs, hosts } = this.plan;
    const add = (ns: string): void => {
      run('ip', ['netns', 'add', ns]);
      this.created.push(ns);
    };
    add(bridgeNs);
    run('ip', ['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    for (const h of hosts) {
      add(h.ns);
      run('ip', ['-n', bridgeNs, 'link', 'add', h.port, 'type', 'veth', 'peer', 'name', HOST_NIC, 'netns', h.ns]);
      run('ip', ['-n', bridgeNs, 'link', 'set', h.port, 'master', 'br0', 'up']);
      run('ip', ['-n', h.ns, 'addr', 'add', `${h.ip4}/16`, 'dev', HOST_NIC]);
      run('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
      run('ip', ['-n', h.ns, 'link', 'set', HOST_NIC, 'up']);
      if (h.egress > 0) run('ip', ['netns', 'exec', h.ns, 'tc', ...tbfArgs(HOST_NIC, h.egress)]);
    }
  }

  /** Bytes the host's NIC qdisc sent so far (tc counters; null without a tbf or on error). */
  sentBytes(role: string): number | null {
    const h = this.plan.hosts.find((x) => x.role === role);
    if (!h) return null;
    try {
      return parseQdiscSent(run('ip', ['netns', 'exec', h.ns, 'tc', '-s', 'qdisc', 'show', 'dev', HOST_NIC]));
    } catch {
      return null;
    }
  }

  /** The command prefix that runs a program inside the host's namespace. */
  exec(role: string): string[] {
    const h = this.plan.hosts.find((x) => x.role === role);
    if (!h) throw new RangeError(`no host ${role}`);
    return ['ip', 'netns', 'exec', h.ns];
  }

  host(role: string): NetnsHost {
    const h = this.plan.hosts.find((x) => x.role === role);
    if (!h) throw new RangeError(`no host ${role}`);
    return h;
  }

  remove(): string[] {
    const names = this.created.splice(0).reverse();
    return removeNamespaces(names);
  }
}
