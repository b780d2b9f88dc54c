/**
 * Real `bugtorrent` processes for the flooding tests: a tracker child and peer
 * children on distinct 127.0.1.x addresses (::1 for IPv6). Every peer binds
 * port 0 and reports the port it got in its `ready` event: no port is picked,
 * checked and released for another process to bind (a race on a shared machine).
 * Neighbours are given with --neighbor, so where a topology names a peer before
 * it runs (a ring, a two-way chain), `reserve` gives it a stand-in endpoint: a
 * relay the test holds open on the peer's address, port 0.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { CliProcess, JsonLine, Sandbox } from '../support/process.js';

/**
 * Listens on ip4:0 and relays each connection to the peer's real port once it is
 * known, connecting from the address the connection came from, so the peer sees
 * who is asking (flooding tells the sender apart by its address). Bytes go both
 * ways untouched; either side's close or reset closes the other.
 */
class Relay {
  private target: number | null = null;
  private readonly waiting: (() => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly ip4: string,
    readonly port: number,
  ) {}

  static async open(ip4: string): Promise<Relay> {
    let relay: Relay | null = null;
    const server = createServer({ allowHalfOpen: true }, (socket) => relay?.pipe(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, ip4, () => resolve());
    });
    relay = new Relay(server, ip4, (server.address() as { port: number }).port);
    return relay;
  }

  /** The peer runs: relay to its port. */
  point(port: number): void {
    this.target = port;
    for (const go of this.waiting.splice(0)) go();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  private async pipe(inbound: Socket): Promise<void> {
    this.track(inbound);
    inbound.pause();
    if (this.target === null) await new Promise<void>((r) => this.waiting.push(r));
    if (inbound.destroyed) return;
    const outbound = connect({ host: this.ip4, port: this.target as number, localAddress: inbound.remoteAddress, allowHalfOpen: true });
    this.track(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.resume();
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
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

export interface PeerPlace {
  readonly ip4: string;
  readonly dir: string;
  /** Where other peers reach it, known before it runs: its relay. */
  readonly endpoint: string;
  readonly relay: Relay;
}

/** An address and a stand-in endpoint for a peer that does not run yet (so others can name it as a neighbour). */
export async function reserve(sandbox: Sandbox, host: number): Promise<PeerPlace> {
  const ip4 = `127.0.1.${host}`;
  const relay = await Relay.open(ip4);
  sandbox.defer(() => relay.close());
  return { ip4, endpoint: `${ip4}:${relay.port}`, relay, dir: sandbox.tempDir('bugtorrent-flood-') };
}

/** An address for a peer nobody names before it runs: it is reached at its own port. */
export function place(sandbox: Sandbox, host: number): { ip4: string; dir: string } {
  return { ip4: `127.0.1.${host}`, dir: sandbox.tempDir('bugtorrent-flood-') };
}

/** A file of random bytes in `dir`. */
export function writeFile(dir: string, name: string, size: number): string {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(size));
  return path;
}

/**
 * Starts `bugtorrent peer --json --log-level debug` on `at.ip4`, port 0; resolves
 * at `ready` (and every `shared`). `port` is the peer's own port (what it
 * announces); `endpoint` is where others reach it: its relay if it has one.
 */
export async function startPeer(
  sandbox: Sandbox,
  tracker: string,
  at: { ip4: string; dir: string; relay?: Relay },
  options: { neighbors?: string[]; share?: string[]; extra?: string[] } = {},
): Promise<FloodPeer> {
  const args = ['peer', '--tracker', tracker, '--ip4', at.ip4, '--ip6', '::1', '--port', '0', '--dir', at.dir];
  args.push('--json', '--log-level', 'debug', '--poll-interval', '0.5', '--stall-timeout', '3', '--logout-retry', '0.3');
  for (const n of options.neighbors ?? []) args.push('--neighbor', n);
  for (const s of options.share ?? []) args.push('--share', s);
  args.push(...(options.extra ?? []));
  const proc = sandbox.spawn(args);
  const port = (await proc.waitForEvent('ready'))['port'] as number;
  at.relay?.point(port);
  for (const s of options.share ?? []) await proc.waitForEvent('shared', (e) => e['path'] === s);
  return { proc, ip4: at.ip4, port, dir: at.dir, endpoint: at.relay ? `${at.ip4}:${at.relay.port}` : `${at.ip4}:${port}` };
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
