/**
 * The listener and uploader at their edges, asserted by what a client sees on
 * the socket (bytes, and when the connection closes), not by internals: pacing
 * by the throttle, a file that fails to read after the AREP header went out,
 * close(grace) never cutting a part, the idle timeout (the connection caps are listener-guard.test.ts's). Time is
 * never measured: a gated throttle decides when each chunk may go.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { ADMIT_ALL, IGNORE_TRAFFIC, type Throttle, UNLIMITED } from '../../src/peer/bandwidth.js';
import { FileStore } from '../../src/peer/files.js';
import { PeerListener } from '../../src/peer/listener.js';
import { PartReceiver, encodeMessage, fullBitmap } from '../../src/protocol/index.js';

const HOST = '127.0.0.81';
const PART = 16_384;
const CHUNK = 4096;
/** 'AREP' + #chunk[6]; each chunk is Lenchunk[5] + data. */
const HEAD = 4 + 6;
const FRAME = 5 + CHUNK;
const dir = mkdtempSync(join(tmpdir(), 'bt-listener-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Everything a test opened, closed after it whatever happened. */
const open: { listeners: PeerListener[]; sockets: Socket[] } = { listeners: [], sockets: [] };
afterEach(async () => {
  for (const s of open.sockets.splice(0)) s.destroy();
  await Promise.all(open.listeners.splice(0).map((l) => l.close(0)));
});

/** A throttle that lets each consume() through only when the test says so. */
class GatedThrottle implements Throttle {
  granted = 0;
  private readonly pending: { bytes: number; go: () => void }[] = [];
  private readonly callWaiters: (() => void)[] = [];

  consume(bytes: number): Promise<void> {
    return new Promise((go) => {
      this.pending.push({ bytes, go });
      for (const w of this.callWaiters.splice(0)) w();
    });
  }

  /** Resolves once a consume() is waiting. */
  async waiting(): Promise<void> {
    while (this.pending.length === 0) await new Promise<void>((r) => this.callWaiters.push(r));
  }

  /** Lets the oldest waiting consume() through (after one is waiting). */
  async grant(): Promise<void> {
    await this.waiting();
    const next = this.pending.shift()!;
    this.granted += next.bytes;
    next.go();
  }
}

interface Shared {
  readonly md5: string;
  readonly content: Buffer;
  readonly path: string;
}

function shareFile(name: string, size: number): { store: FileStore; file: Shared } {
  const content = randomBytes(size);
  const path = join(dir, name);
  writeFileSync(path, content);
  const md5 = Buffer.from(name.padEnd(16, '_')).toString('hex').slice(0, 32);
  const parts = Math.ceil(size / PART);
  const store = new FileStore();
  store.add({ md5, fileName: name, fileLength: size, partLength: PART, parts, bitmap: fullBitmap(parts), path, complete: true });
  return { store, file: { md5, content, path } };
}

async function listen(store: FileStore, options: { throttle?: Throttle; batchBytes?: number; idleTimeoutMs?: number } = {}): Promise<PeerListener> {
  const listener = new PeerListener({
    ip4: HOST,
    ip6: '::1',
    port: 0,
    log: silentLogger(),
    ...(options.idleTimeoutMs !== undefined ? { limits: { idleTimeoutMs: options.idleTimeoutMs } } : {}),
    upload: {
      store,
      throttle: options.throttle ?? UNLIMITED,
      admission: ADMIT_ALL,
      traffic: IGNORE_TRAFFIC,
      chunkSize: CHUNK,
      batchBytes: options.batchBytes,
      log: silentLogger(),
    },
  });
  open.listeners.push(listener);
  await listener.start();
  return listener;
}

/** A raw client: every byte it receives, and a promise of the close. */
class Client {
  readonly socket: Socket;
  private readonly chunks: Buffer[] = [];
  private waiters: (() => void)[] = [];
  readonly connected: Promise<void>;
  /** Resolves when the connection has closed; true if it ended in an error (a reset). */
  readonly closed: Promise<boolean>;
  isClosed = false;

  constructor(port: number, host = HOST) {
    this.socket = connect({ host, port });
    open.sockets.push(this.socket);
    this.socket.on('error', () => undefined);
    this.socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.wake();
    });
    this.connected = new Promise((r) => this.socket.once('connect', () => r()));
    this.closed = new Promise((r) =>
      this.socket.on('close', (hadError) => {
        this.isClosed = true;
        this.wake();
        r(hadError);
      }),
    );
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Waits until at least `n` bytes came, or the connection closed. */
  async bytes(n: number): Promise<Buffer> {
    while (this.received.length < n && !this.isClosed) await new Promise<void>((r) => this.waiters.push(r));
    return this.received;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function retp(md5: string, part: number): Buffer {
  return encodeMessage({ command: 'RETP', md5, part });
}

/** Reads `wire` as the AREP of a `length`-byte part: the part, or null if it is not whole. */
function partOf(wire: Buffer, length: number): Buffer | null {
  const r = new PartReceiver(length);
  return r.feed(wire) ? Buffer.from(r.part) : null;
}

test('chunks go on the wire only once the throttle lets them, and each one it lets through arrives', async () => {
  const { store, file } = shareFile('paced.bin', PART);
  const gate = new GatedThrottle();
  // One chunk per write, as when throttled: pacing is then per chunk.
  const listener = await listen(store, { throttle: gate, batchBytes: CHUNK });
  const client = new Client(listener.port);
  let overrun = '';
  client.socket.on('data', () => {
    const allowed = gate.granted === 0 ? 0 : HEAD + (gate.granted / CHUNK) * FRAME;
    if (client.received.length > allowed) overrun ||= `${client.received.length} bytes received with ${gate.granted} granted`;
  });
  client.socket.write(retp(file.md5, 0));
  await gate.waiting();
  // Nothing has been sent before the first chunk was allowed: not even the header.
  assert.equal(client.received.length, 0);
  for (let k = 1; k <= PART / CHUNK; k++) {
    await gate.grant();
    await client.bytes(HEAD + k * FRAME);
    assert.equal(client.received.length, HEAD + k * FRAME, `after ${k} chunks let through`);
  }
  assert.equal(overrun, '');
  assert.deepEqual(partOf(client.received, PART), file.content);
});

test('a file that fails to read after the AREP header went out: the chunks read are whole, then the connection closes', async () => {
  const { store, file } = shareFile('shrinks.bin', 2 * PART);
  const listener = await listen(store, { batchBytes: CHUNK });
  // Part 1 starts at 16384; the file now ends 100 bytes into its third chunk.
  truncateSync(file.path, PART + 2 * CHUNK + 100);
  const client = new Client(listener.port);
  client.socket.write(retp(file.md5, 1));
  await client.closed;
  const wire = client.received;
  // The header and two whole chunks, the file's own bytes, and not one byte more:
  // no partial chunk, no padding, nothing the file does not hold.
  assert.equal(wire.length, HEAD + 2 * FRAME);
  assert.equal(wire.subarray(0, HEAD + 5).toString('latin1'), 'AREP00000404096');
  assert.deepEqual(wire.subarray(HEAD + 5, HEAD + FRAME), file.content.subarray(PART, PART + CHUNK));
  assert.deepEqual(wire.subarray(HEAD + FRAME + 5), file.content.subarray(PART + CHUNK, PART + 2 * CHUNK));
  assert.equal(partOf(wire, PART), null, 'the client does not get a whole part');
  // The listener serves on: part 0 is still on disk in full.
  const next = new Client(listener.port);
  next.socket.write(retp(file.md5, 0));
  assert.deepEqual(partOf(await next.bytes(HEAD + 4 * FRAME), PART), file.content.subarray(0, PART));
});

test('close(grace) lets a part in progress finish whole, accepts nothing new meanwhile, then closes', async () => {
  const { store, file } = shareFile('grace.bin', PART);
  const gate = new GatedThrottle();
  const listener = await listen(store, { throttle: gate, batchBytes: CHUNK });
  const idle = new Client(listener.port);
  await idle.connected;
  const client = new Client(listener.port);
  client.socket.write(retp(file.md5, 0));
  await gate.grant();
  // The header and the first chunk are on the wire: the part is in progress.
  await client.bytes(HEAD + FRAME);
  await gate.waiting();
  let closeDone = false;
  const closing = listener.close(600_000).then(() => {
    closeDone = true;
  });
  // An idle connection goes at once; a new one is refused.
  await idle.closed;
  const late = new Client(listener.port);
  await late.closed;
  assert.equal(late.received.length, 0);
  assert.equal(closeDone, false);
  assert.equal(client.isClosed, false);
  for (let k = 2; k <= PART / CHUNK; k++) await gate.grant();
  await closing;
  await client.closed;
  assert.deepEqual(partOf(client.received, PART), file.content);
});

test('close(grace) cuts a part that is still in progress when the grace runs out', async () => {
  const { store, file } = shareFile('cut.bin', PART);
  const gate = new GatedThrottle();
  const listener = await listen(store, { throttle: gate, batchBytes: CHUNK });
  const client = new Client(listener.port);
  client.socket.write(retp(file.md5, 0));
  await gate.grant();
  await client.bytes(HEAD + FRAME);
  // The throttle never lets the second chunk go: close() must still end.
  await listener.close(10);
  await client.closed;
  assert.equal(client.received.length, HEAD + FRAME);
  // Let the stalled upload run on into the closed socket: it stops there, quietly.
  await gate.grant();
});

test('the idle timeout closes a silent connection without a reply, but not an upload the throttle holds longer than it', async () => {
  const { store, file } = shareFile('idle.bin', PART);
  const gate = new GatedThrottle();
  const listener = await listen(store, { throttle: gate, batchBytes: CHUNK, idleTimeoutMs: 50 });
  const client = new Client(listener.port);
  client.socket.write(retp(file.md5, 0));
  await gate.grant();
  await client.bytes(HEAD + FRAME);
  // A connection opened after the upload's last write, silent: the idle timeout
  // closes it. Its timer was armed after the upload's, so by then the upload's
  // idle time has passed too (timers of one event loop fire in deadline order).
  const silent = new Client(listener.port);
  await silent.connected;
  await silent.closed;
  assert.equal(silent.received.length, 0);
  assert.equal(client.isClosed, false, 'the upload in progress was cut by the idle timeout');
  for (let k = 2; k <= PART / CHUNK; k++) await gate.grant();
  assert.deepEqual(partOf(await client.bytes(HEAD + 4 * FRAME), PART), file.content);
});

