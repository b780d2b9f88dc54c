/**
 * Real `bugtorrent` processes for the flooding tests: a tracker child and peer
 * children on distinct 127.0.1.x addresses (::1 for IPv6). Neighbours are given
 * with --neighbor, so a peer's port must be known before it starts: ports are
 * picked below the kernel's ephemeral range (where no port-0 listener or
 * outgoing connection lands) and checked free on both addresses.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { CliProcess, JsonLine, Sandbox } from '../support/process.js';

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, ipv6Only: host.includes(':') }, () => s.close(() => resolve(true)));
  });
}

const taken = new Set<number>();

/** A port free on `ip4` and on ::1 now, in 20000..31999, never handed out twice by this process. */
export async function freePort(ip4: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    if ((await canListen('::1', port)) && (await canListen(ip4, port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no free port on ${ip4} and ::1`);
}

export async function spawnTracker(sandbox: Sandbox): Promise<{ proc: CliProcess; endpoint: string }> {
  const proc = sandbox.spawn(['tracker', '--host', '127.0.0.1', '--port', '0', '--db', ':memory:', '--no-http']);
  const line = await proc.waitForLog('listening');
  return { proc, endpoint: `127.0.0.1:${line['port'] as number}` };
}

export interface FloodPeer {
  readonly proc: CliProcess;
  readonly ip4: string;
  readonly port: number;
  readonly endpoint: string;
  readonly dir: string;
}

/** An address and port for a peer that does not run yet (so others can name it as a neighbour). */
export async function reserve(sandbox: Sandbox, host: number): Promise<{ ip4: string; port: number; endpoint: string; dir: string }> {
  const ip4 = `127.0.1.${host}`;
  const port = await freePort(ip4);
  return { ip4, port, endpoint: `${ip4}:${port}`, dir: sandbox.tempDir('bugtorrent-flood-') };
}

/** A file of random bytes in `dir`. */
export function writeFile(dir: string, name: string, size: number): string {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(size));
  return path;
}

/** Starts `bugtorrent peer --json --log-level debug` at a reserved address; resolves at `ready` (and every `shared`). */
export async function startPeer(
  sandbox: Sandbox,
  tracker: string,
  at: { ip4: string; port: number; endpoint: string; dir: string },
  options: { neighbors?: string[]; share?: string[]; extra?: string[] } = {},
): Promise<FloodPeer> {
  const args = ['peer', '--tracker', tracker, '--ip4', at.ip4, '--ip6', '::1', '--port', String(at.port), '--dir', at.dir];
  args.push('--json', '--log-level', 'debug', '--poll-interval', '0.5', '--stall-timeout', '3', '--logout-retry', '0.3');
  for (const n of options.neighbors ?? []) args.push('--neighbor', n);
  for (const s of options.share ?? []) args.push('--share', s);
  args.push(...(options.extra ?? []));
  const proc = sandbox.spawn(args);
  await proc.waitForEvent('ready');
  for (const s of options.share ?? []) await proc.waitForEvent('shared', (e) => e['path'] === s);
  return { proc, ...at };
}

/** The flood service's log lines about one Pktid with this message ("QUER served", "QUER dropped", ...). */
export function floodLogs(peer: FloodPeer, msg: string, pktId: string): JsonLine[] {
  return peer.proc.stderrLines.filter((l) => l['msg'] === msg && l['pktId'] === pktId);
}

export function waitFloodLog(peer: FloodPeer, msg: string, pktId: string, where: (l: JsonLine) => boolean = () => true): Promise<JsonLine> {
  return peer.proc.waitFor('stderr', (l) => l['msg'] === msg && l['pktId'] === pktId && where(l));
}

/** Waits until `count` hit events came from this originator; returns them all. */
export async function waitHits(peer: FloodPeer, count: number): Promise<JsonLine[]> {
  const hits = (): JsonLine[] => peer.proc.stdoutLines.filter((e) => e['event'] === 'hit');
  for (;;) {
    if (hits().length >= count) return hits();
    const seen = hits().length;
    await peer.proc.waitForEvent('hit', () => hits().length > seen);
  }
}
