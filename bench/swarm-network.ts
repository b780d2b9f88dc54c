/**
 * Where bench:swarm's processes run: distinct loopback addresses (the default),
 * or a network namespace each (`--netns`, scripts/lib/netns.ts), with the
 * uplink limits in tc or in the peers.
 */
import { createServer } from 'node:net';
import { NetnsLab, planNetns, runIdFor } from '../scripts/lib/netns.js';
import type { SwarmConfig } from './swarm.js';

/** A port free on both 127.0.0.1 and ::1 right now. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer().listen(0, '::1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
      s.on('error', reject);
    });
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer().listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return port;
  }
}

/** Where the processes run: loopback addresses, or namespaces of the bench's own. */
export interface Network {
  readonly trackerHost: string;
  trackerPort(): Promise<number>;
  ip4(role: string): string;
  port(role: string): Promise<number>;
  /** Command prefix that runs a process as `role`. */
  wrap(role: string): string[];
  /** Bytes the seed's NIC sent (tc counters), null when not measured that way. */
  seedSent(): number | null;
  close(): void;
}

export function loopbackNetwork(): Network {
  const ips = new Map<string, string>([['tracker', '127.0.0.1'], ['seed', '127.0.0.2']]);
  return {
    trackerHost: '127.0.0.1',
    trackerPort: () => Promise.resolve(0),
    ip4: (role) => ips.get(role) ?? `127.0.0.${2 + Number(role.slice(1))}`,
    port: () => freePort(),
    wrap: () => [],
    seedSent: () => null,
    close: () => undefined,
  };
}

/** Roles: `tracker`, `seed`, `p1`..`pN` (leechers, then free riders). */
export function netnsNetwork(config: SwarmConfig): Network {
  const tc = config.limitMode === 'tc';
  const total = config.leechers + config.freeRiders;
  const hosts = [
    { role: 'tracker', egress: 0 },
    { role: 'seed', egress: tc ? config.seedUp : 0 },
    ...Array.from({ length: total }, (_, i) => ({ role: `p${i + 1}`, egress: tc && i < config.leechers ? config.leecherUp : 0 })),
  ];
  const runId = runIdFor(process.pid, Date.now().toString(36).slice(-4));
  const lab = new NetnsLab(planNetns(runId, hosts));
  try {
    lab.create();
  } catch (err) {
    lab.remove();
    throw err;
  }
  return {
    trackerHost: lab.host('tracker').ip4,
    trackerPort: () => Promise.resolve(6881),
    ip4: (role) => lab.host(role).ip4,
    // Distinct ports although each host has its own addresses: every peer announces ::1 as its
    // IPv6, and a holder on our port with our IPv6 would read as ourselves.
    port: (role) => Promise.resolve(role === 'seed' ? 7000 : 7000 + Number(role.slice(1))),
    wrap: (role) => lab.exec(role),
    seedSent: () => (tc ? lab.sentBytes('seed') : null),
    close: () => void lab.remove(),
  };
}

