/**
 * The peer's listener under hostile clients, over real sockets: stalled
 * readers against upload slots, close after the AREP (read-until-close
 * clients), per-client caps over both families, slowloris.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GuardLimits } from '../../src/net/guard.js';
import { IGNORE_TRAFFIC, UNLIMITED } from '../../src/peer/bandwidth.js';
import { ChokerService } from '../../src/peer/choke/index.js';
import { FileStore } from '../../src/peer/files.js';
import { PeerListener } from '../../src/peer/listener.js';
import type { UploadContext } from '../../src/peer/uploader.js';
import { type MessageOf, MessageReader, encodeMessage, fullBitmap } from '../../src/protocol/index.js';
import { exchange } from '../support/net.js';
import { dribble, readUntilClose } from '../support/flood.js';
import { memoryLogger, until } from '../tracker/helpers.js';

const MD5 = 'f'.repeat(32);
/** Parts this large cannot hide in the kernel's buffers of a reader that never reads. */
const PART = 768 * 1024;
const PARTS = 4;
const dir = mkdtempSync(join(tmpdir(), 'bt-listener-guard-'));
const content = randomBytes(PART * PARTS);
const store = new FileStore();

before(() => {
  const path = join(dir, 'big.bin');
  writeFileSync(path, content);
  store.add({ md5: MD5, fileName: 'big.bin', fileLength: content.length, partLength: PART, parts: PARTS, bitmap: fullBitmap(PARTS), path, complete: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const retp = (part: number): Buffer => encodeMessage({ command: 'RETP', md5: MD5, part });

async function listen(ip4: string, options: { limits?: Partial<GuardLimits>; upload?: Partial<UploadContext> } = {}) {
  const { logger, lines } = memoryLogger();
  const listener = new PeerListener({
    ip4,
    ip6: '::1',
    port: 0,
    log: logger,
    limits: options.limits,
    upload: { store, throttle: UNLIMITED, admission: { admit: () => Promise.resolve(() => undefined) }, traffic: IGNORE_TRAFFIC, chunkSize: 4096, log: logger, ...options.upload },
  });
  await listener.start();
  return { listener, lines };
}

describe('stalled readers against upload slots', () => {
  test('a dozen readers that never read lose their slots; a good RETP from another address is served', { timeout: 60_000 }, async () => {
    const choker = new ChokerService({ uploadSlots: 3, admissionWaitMs: 2000 });
    choker.start();
    const ip4 = '127.0.0.130';
    const { listener, lines } = await listen(ip4, {
      // A part may wait for its reader 300 ms in all (the rate floor is far above any reader's here).
      upload: { admission: choker, traffic: choker, stallFloorMs: 300, minRate: 1 << 30 },
      limits: { idleTimeoutMs: 60_000 },
    });
    const stalled = new Set<Socket>();
    let opened = 0;
    // Each of 12 addresses opens a stalled reader now and another every 200 ms (the old ones
    // stay open), 240 in all: each asks for eight whole parts (6 MiB: more than the kernel
    // buffers of a loopback connection whose reader never reads, about 4 MiB) and stops
    // reading at once.
    const stall = (n: number): void => {
      if (opened >= 240) return;
      opened++;
      const s = connect({ host: ip4, port: listener.port, localAddress: `127.0.0.${140 + n}` });
      stalled.add(s);
      s.on('error', () => undefined);
      s.on('connect', () => {
        s.write(Buffer.concat(Array.from({ length: 8 }, (_, i) => retp((n + i) % PARTS))));
        s.pause();
      });
      s.on('close', () => stalled.delete(s));
    };
    const attack = setInterval(() => {
      for (let n = 0; n < 12; n++) stall(n);
    }, 200);
    try {
      for (let n = 0; n < 12; n++) stall(n);
      // Every slot is taken by a stalled reader.
      await until(() => choker.servingPeers() >= 3, 'the stalled readers to hold the slots');
      // The good client asks as our downloader does: a close without a reply (choked) is
      // tried again a little later, a bounded number of times.
      let arep: MessageOf<'AREP'> | undefined;
      let attempt = 0;
      for (; attempt < 10 && !arep; attempt++) {
        const good = await exchange(ip4, listener.port, retp(2), { accept: ['AREP'], localAddress: '127.0.0.160', timeoutMs: 30_000 });
        arep = good.message as MessageOf<'AREP'> | undefined;
      }
      assert.ok(arep, 'the good RETP was never answered');
      assert.deepEqual(Buffer.concat(arep.chunks.map((c) => c.data)), content.subarray(2 * PART, 3 * PART));
      const cut = lines.filter((l) => l['msg'] === 'upload stalled: slot released, connection closed');
      assert.ok(cut.length >= 1, 'stalled uploads are logged');
      assert.equal(cut[0]!['code'], 'BT_TIMEOUT');
      assert.match(String(cut[0]!['reason']), /within 300 ms/);
      assert.ok((cut[0]!['sent'] as number) < PART);
      // Coming back (the attack opens more every 200 ms), a reader that stalled is refused for a while.
      await until(() => lines.some((l) => /stalled an upload; no uploads to it/.test(String(l['reason']))), 'a returning stalled reader to be refused');
    } finally {
      clearInterval(attack);
      for (const s of stalled) s.destroy();
      choker.stop();
      await listener.close(100);
    }
  });
});

describe('close after the AREP', () => {
  let listener: PeerListener;
  const ip4 = '127.0.0.131';
  before(async () => {
    ({ listener } = await listen(ip4, { limits: { idleTimeoutMs: 60_000, requestTimeoutMs: 60_000 } }));
  });
  after(() => listener.close(100));

  test('a client that reads until the close gets the whole AREP and then the close, over IPv4 and IPv6', async () => {
    for (const host of [ip4, '::1']) {
      // Far below the idle timeout of 60 s: a close that waits for it fails here.
      const bytes = await readUntilClose(host, listener.port, retp(1), 10_000);
      const reader = new MessageReader({ accept: ['AREP'] });
      const [arep, ...rest] = reader.push(bytes) as MessageOf<'AREP'>[];
      reader.end();
      assert.equal(rest.length, 0);
      assert.deepEqual(Buffer.concat(arep!.chunks.map((c) => c.data)), content.subarray(PART, 2 * PART));
    }
  });

  test('two RETPs pipelined in one write: both AREPs, in order, then the close', async () => {
    const bytes = await readUntilClose(ip4, listener.port, Buffer.concat([retp(3), retp(0)]), 10_000);
    const reader = new MessageReader({ accept: ['AREP'] });
    const areps = reader.push(bytes) as MessageOf<'AREP'>[];
    reader.end();
    assert.equal(areps.length, 2);
    assert.deepEqual(Buffer.concat(areps[0]!.chunks.map((c) => c.data)), content.subarray(3 * PART));
    assert.deepEqual(Buffer.concat(areps[1]!.chunks.map((c) => c.data)), content.subarray(0, PART));
  });
});

describe('per-client caps and slowloris on the listener', () => {
  test('IPv4 and IPv6 connections of one host count together; another client is untouched', async () => {
    const ip4 = '127.0.0.1';
    const { listener, lines } = await listen(ip4, { limits: { maxPerAddress: 2, idleTimeoutMs: 60_000, requestTimeoutMs: 60_000 } });
    const open: Socket[] = [];
    try {
      const hold = async (host: string, localAddress?: string) => {
        const socket = connect({ host, port: listener.port, localAddress });
        socket.on('error', () => undefined);
        const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        socket.write(retp(0).subarray(0, 10));
        open.push(socket);
        await until(() => listener.openConnections === open.length, `${open.length} connections`);
        return { socket, closed };
      };
      const v6 = await hold('::1');
      const v4 = await hold(ip4);
      const other = await hold(ip4, '127.0.0.9');
      // A third from the host: its IPv6 connection, waiting longest, makes room.
      const r = await exchange(ip4, listener.port, retp(3), { accept: ['AREP'] });
      assert.equal(r.message?.command, 'AREP');
      await v6.closed;
      for (const h of [v4, other]) {
        const done = readAll(h.socket);
        h.socket.write(retp(0).subarray(10));
        const reader = new MessageReader({ accept: ['AREP'] });
        assert.equal((reader.push(await done)[0] as MessageOf<'AREP'>).chunks.length, PART / 4096);
      }
      await until(() => lines.some((l) => ((l['dropped'] as Record<string, number> | undefined)?.['per-address'] ?? 0) >= 1), 'the summary line');
    } finally {
      for (const s of open) s.destroy();
      await listener.close(100);
    }
  });

  test('a RETP dribbled slower than the request deadline is closed before it completes', async () => {
    const ip4 = '127.0.0.132';
    const { listener, lines } = await listen(ip4, { limits: { requestTimeoutMs: 300, idleTimeoutMs: 60_000 } });
    try {
      const request = retp(1);
      const slow = await dribble(ip4, listener.port, request, 50, '127.0.0.133');
      assert.ok(slow.written < request.length, `closed after ${slow.written} of ${request.length} bytes`);
      await until(() => lines.some((l) => ((l['dropped'] as Record<string, number> | undefined)?.['request-timeout'] ?? 0) >= 1), 'the summary line');
    } finally {
      await listener.close(100);
    }
  });
});

/** Everything a socket receives until it closes. */
function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks))));
}

describe('names that are not UTF-8', () => {
  test('an AQUE whose name is Latin-1 reaches the flood handler repaired (U+FFFD), and the repair is logged', async () => {
    const { logger, lines } = memoryLogger();
    const seen: string[] = [];
    const ip4 = '127.0.0.132';
    const listener = new PeerListener({
      ip4,
      ip6: '::1',
      port: 0,
      log: logger,
      handlers: { AQUE: (m) => void seen.push(m.fileName) },
      upload: { store, throttle: UNLIMITED, admission: { admit: () => Promise.resolve(() => undefined) }, traffic: IGNORE_TRAFFIC, chunkSize: 4096, log: logger },
    });
    await listener.start();
    try {
      const good = encodeMessage({ command: 'AQUE', pktId: '0123456789ABCDEF', address: { ip4: '127.0.0.9', ip6: '::1' }, port: 5000, md5: 'a'.repeat(32), fileName: 'caf_.txt' });
      // 'caf' + 0xE9 (é in Latin-1) + '.txt': the name field starts after 4 + 16 + 55 + 5 + 32 bytes.
      const at = 4 + 16 + 55 + 5 + 32 + 3;
      good[at] = 0xe9;
      await readUntilClose(ip4, listener.port, good, 10_000);
      await until(() => seen.length === 1, 'the AQUE to reach its handler');
      assert.equal(seen[0], 'caf\ufffd.txt');
      assert.ok(lines.some((l) => l['msg'] === 'repaired a name that is not valid UTF-8'));
    } finally {
      await listener.close(100);
    }
  });
});
