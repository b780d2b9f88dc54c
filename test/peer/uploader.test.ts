/** The peer listener in-process: RETP served from disk in 4096-byte chunks, refusals closed without reply, QUER/AQUE dispatch. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { IGNORE_TRAFFIC, type RemoteKey, type Throttle, type TrafficRecorder, type UploadAdmission } from '../../src/peer/bandwidth.js';
import { FileStore } from '../../src/peer/files.js';
import { PeerListener, type RemoteInfo } from '../../src/peer/listener.js';
import { connect } from 'node:net';
import { type MessageOf, MessageReader, bitmapFromParts, encodeMessage, fullBitmap } from '../../src/protocol/index.js';
import { exchange } from '../support/net.js';

const HOST = '127.0.0.61';
const MD5 = 'a'.repeat(32);
const PARTIAL = 'b'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'bt-uploader-'));
const content = randomBytes(50_000);
const consumed: number[] = [];
const traffic: { up: number; remotes: Set<RemoteKey> } = { up: 0, remotes: new Set() };
let choke = false;
const quer: { msg: MessageOf<'QUER'>; remote: RemoteInfo }[] = [];
let querSeen: () => void = () => undefined;
let listener: PeerListener;

before(async () => {
  const path = join(dir, 'f.bin');
  writeFileSync(path, content);
  const store = new FileStore();
  store.add({ md5: MD5, fileName: 'f.bin', fileLength: content.length, partLength: 16384, parts: 4, bitmap: fullBitmap(4), path, complete: true });
  store.add({ md5: PARTIAL, fileName: 'f.bin', fileLength: content.length, partLength: 16384, parts: 4, bitmap: bitmapFromParts(4, [1]), path, complete: false });
  const throttle: Throttle = { consume: (n) => { consumed.push(n); return Promise.resolve(); } };
  const recorder: TrafficRecorder = { ...IGNORE_TRAFFIC, uploaded: (r, n) => { traffic.up += n; traffic.remotes.add(r); } };
  const admission: UploadAdmission = { admit: () => Promise.resolve(choke ? null : () => undefined) };
  listener = new PeerListener({
    ip4: HOST,
    ip6: '::1',
    port: 0,
    log: silentLogger(),
    handlers: { QUER: (msg, remote) => { quer.push({ msg, remote }); querSeen(); } },
    upload: { store, throttle, admission, traffic: recorder, chunkSize: 4096, log: silentLogger() },
  });
  await listener.start();
});
after(async () => {
  await listener.close();
  rmSync(dir, { recursive: true, force: true });
});

function retp(md5: string, part: number): Buffer {
  return encodeMessage({ command: 'RETP', md5, part });
}

// Pacing itself (no byte before the throttle lets it go) is in listener.test.ts.
test('RETP is answered with the part in 4096-byte chunks, every byte passed through the throttle and counted for the remote', async () => {
  consumed.length = 0;
  traffic.up = 0;
  const r = await exchange(HOST, listener.port, retp(MD5, 1), { accept: ['AREP'], localAddress: '127.0.0.62' });
  const msg = r.message as MessageOf<'AREP'>;
  assert.equal(msg.command, 'AREP');
  assert.deepEqual(msg.chunks.map((c) => c.data.length), [4096, 4096, 4096, 4096]);
  assert.deepEqual(Buffer.concat(msg.chunks.map((c) => c.data)), content.subarray(16384, 32768));
  // Unthrottled, the part is one batch (one readv, one write): the throttle sees it once, whole.
  assert.deepEqual(consumed, [16384]);
  assert.equal(traffic.up, 16384);
  assert.ok(traffic.remotes.has('127.0.0.62'), 'remote keyed by the address the request came from');
});

test('the short last part is cut exactly', async () => {
  const r = await exchange(HOST, listener.port, retp(MD5, 3), { accept: ['AREP'] });
  const msg = r.message as MessageOf<'AREP'>;
  assert.deepEqual(msg.chunks.map((c) => c.data.length), [848]);
  assert.deepEqual(msg.chunks[0]!.data, content.subarray(49152));
});

test('also over IPv6, and split requests', async () => {
  const bytes = retp(MD5, 0);
  const r = await exchange('::1', listener.port, [bytes.subarray(0, 7), bytes.subarray(7)], { accept: ['AREP'] });
  assert.deepEqual(Buffer.concat((r.message as MessageOf<'AREP'>).chunks.map((c) => c.data)), content.subarray(0, 16384));
});

test('unknown md5, part not held, part out of range, garbage and choked requests are closed without a reply', async () => {
  for (const request of [retp('c'.repeat(32), 0), retp(PARTIAL, 0), retp(MD5, 4), Buffer.from('HELLO WORLD'), encodeMessage({ command: 'LOGO', sessionId: '0123456789ABCDEF' })]) {
    const r = await exchange(HOST, listener.port, request, { accept: ['AREP'] });
    assert.equal(r.closedByServer, true);
    assert.equal(r.raw.length, 0, `no reply to ${request.toString('latin1').slice(0, 12)}`);
  }
  // A part a partial download holds is served.
  const ok = await exchange(HOST, listener.port, retp(PARTIAL, 1), { accept: ['AREP'] });
  assert.equal(ok.message?.command, 'AREP');
  choke = true;
  try {
    const r = await exchange(HOST, listener.port, retp(MD5, 0), { accept: ['AREP'] });
    assert.equal(r.closedByServer, true);
    assert.equal(r.raw.length, 0);
  } finally {
    choke = false;
  }
});

test('several requests on one connection are answered in order', async () => {
  const socket = connect({ host: HOST, port: listener.port });
  const reader = new MessageReader({ accept: ['AREP'] });
  const got: MessageOf<'AREP'>[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (c) => {
      got.push(...(reader.push(c) as MessageOf<'AREP'>[]));
      if (got.length === 2) resolve();
    });
    socket.write(Buffer.concat([retp(MD5, 0), retp(MD5, 3)]));
  });
  socket.destroy();
  assert.deepEqual(Buffer.concat(got[0]!.chunks.map((c) => c.data)), content.subarray(0, 16384));
  assert.deepEqual(Buffer.concat(got[1]!.chunks.map((c) => c.data)), content.subarray(49152));
});

test('QUER goes to the flood handler with the remote and gets no reply on its connection; AQUE without a handler is closed', async () => {
  const q = encodeMessage({ command: 'QUER', pktId: '0123456789ABCDEF', address: { ip4: '127.0.0.63', ip6: '::1' }, port: 5000, ttl: 3, query: 'foo' });
  const seen = new Promise<void>((resolve) => { querSeen = resolve; });
  // Half-closed after the QUER: the listener hands it over, then ends the connection.
  const r0 = await exchange(HOST, listener.port, q, { localAddress: '127.0.0.63', end: true });
  await seen;
  assert.equal(r0.closedByServer, true);
  assert.equal(r0.raw.length, 0, 'hits go on new connections, never back on this one');
  assert.equal(quer.length, 1);
  assert.equal(quer[0]!.msg.query, 'foo');
  assert.equal(quer[0]!.remote.key, '127.0.0.63');
  const a = encodeMessage({ command: 'AQUE', pktId: '0123456789ABCDEF', address: { ip4: '127.0.0.63', ip6: '::1' }, port: 5000, md5: MD5, fileName: 'x' });
  const r = await exchange(HOST, listener.port, a);
  assert.equal(r.closedByServer, true);
  assert.equal(r.raw.length, 0);
});
