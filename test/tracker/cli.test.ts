/** `bugtorrent tracker` as a real child process: flags, log lines, signals, kill -9 and restart. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { bitmapFromParts, fullBitmap } from '../../src/protocol/index.js';
import { Sandbox } from '../support/process.js';
import { addr, callFor, expectClosed, fchu, logi, login, look, md5Of, peer, rpad } from './helpers.js';

let sandbox = new Sandbox();
afterEach(async () => {
  await sandbox.cleanup();
  sandbox = new Sandbox();
});

const HOST = '127.0.0.1';

async function startChild(db: string, extra: string[] = []) {
  // --no-http unless a test asks for the dashboard: the default 8080 is one port for every tracker on the machine.
  const http = extra.some((a) => a.startsWith('--http')) ? [] : ['--no-http'];
  const child = sandbox.spawn(['tracker', '--port', '0', '--host', HOST, '--db', db, ...http, ...extra]);
  const line = await child.waitForLog('listening');
  return { child, line, port: line['port'] as number };
}

test('logs "listening" with host, the real port and the database', async () => {
  const dir = sandbox.tempDir();
  const db = join(dir, 'tracker.db');
  const { line, port } = await startChild(db);
  assert.equal(line['host'], HOST);
  assert.ok(Number.isInteger(port) && port > 0);
  assert.equal(line['db'], db);
  assert.ok(existsSync(db));
});

test('--http-port serves the dashboard and /metrics beside the tracker, and its counters follow requests', async () => {
  const { child, port } = await startChild(':memory:', ['--http-port', '0']);
  const web = await child.waitForLog('dashboard listening');
  const base = `http://127.0.0.1:${web['port'] as number}`;
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /BugTorrent/);
  await login(HOST, port, peer(1));
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /command="LOGI",outcome="ok"\} 1\b/);
});

test('an explicit --http-port that cannot be bound stops the tracker with a clear log line', async () => {
  const first = await startChild(':memory:', ['--http-port', '0']);
  const taken = (await first.child.waitForLog('dashboard listening'))['port'] as number;
  const second = sandbox.spawn(['tracker', '--port', '0', '--host', HOST, '--db', ':memory:', '--http-port', String(taken)]);
  const fatal = await second.waitForLog('dashboard failed to start');
  assert.equal(fatal['code'], 'EADDRINUSE');
  assert.equal((await second.exited).code, 1);
});

test('SIGTERM closes cleanly with exit code 0', async () => {
  const { child, port } = await startChild(':memory:');
  await login(HOST, port, peer(1));
  await child.kill('SIGTERM');
  assert.deepEqual(await child.exited, { code: 0, signal: null });
  await child.waitForLog('closed');
});

/** A connection that sends nothing; resolves once it is open, with the bytes it got when it closed. */
async function holdOpen(port: number) {
  const { connect } = await import('node:net');
  const held = connect({ host: HOST, port });
  const received: Buffer[] = [];
  held.on('data', (c: Buffer) => received.push(c));
  held.on('error', () => {});
  const closed = new Promise<Buffer>((resolve) => held.on('close', () => resolve(Buffer.concat(received))));
  await new Promise<void>((resolve) => held.once('connect', () => resolve()));
  return { held, closed };
}

test('--max-connections: a connection beyond the limit is closed at once and logged', async () => {
  // An idle timeout no test run reaches: the held connection stays open however slow the machine.
  const { child, port } = await startChild(':memory:', ['--max-connections', '1', '--idle-timeout', '600000']);
  const { held, closed } = await holdOpen(port);
  // The tracker accepts in arrival order, so the held connection is counted first: one more is too many.
  await expectClosed(HOST, port, logi(peer(1)));
  const line = await child.waitForLog('connection closed: too many open connections');
  assert.equal(line['limit'], 1);
  held.destroy();
  await closed;
});

test('--idle-timeout: a silent connection is closed without a reply, logged with the configured timeout', async () => {
  const { child, port } = await startChild(':memory:', ['--idle-timeout', '200']);
  const { closed } = await holdOpen(port);
  assert.equal((await closed).length, 0);
  const line = await child.waitForLog('connection closed: idle timeout');
  assert.equal(line['idleTimeoutMs'], 200);
});

test('--max-buffer: a request waiting for more bytes than the limit is closed and logged', async () => {
  // 120 bytes of an ADDR: 84 of them wait for the 100-byte Filename field, over the limit of 64.
  const small = await startChild(':memory:', ['--max-buffer', '64']);
  const id = await login(HOST, small.port, peer(2));
  await expectClosed(HOST, small.port, addr(id, md5Of(1), 10, 1, 'x').subarray(0, 120));
  const buffer = await small.child.waitFor('stderr', (l) => l['code'] === 'BT_BUFFER_LIMIT');
  assert.equal(buffer['command'], 'ADDR');
});

test('bad flag values exit with code 2 and say why', async () => {
  for (const args of [['--port', '70000'], ['--port', 'abc'], ['--log-level', 'loud'], ['--host', 'not-an-ip'], ['--idle-timeout', '0']]) {
    const child = sandbox.spawn(['tracker', '--db', ':memory:', ...args]);
    const { code } = await child.exited;
    assert.equal(code, 2, args.join(' '));
    assert.match(child.rawStderr.join('\n'), /BT_BAD_ARGUMENT/);
  }
});

test('a port in use, or a database another tracker holds, exits 1 with a log line', async () => {
  const dir = sandbox.tempDir();
  const db = join(dir, 'tracker.db');
  const first = await startChild(db);
  const samePort = sandbox.spawn(['tracker', '--port', String(first.port), '--host', HOST, '--db', ':memory:']);
  assert.equal((await samePort.exited).code, 1);
  assert.equal((await samePort.waitForLog('tracker failed to start'))['code'], 'EADDRINUSE');
  const sameDb = sandbox.spawn(['tracker', '--port', '0', '--host', HOST, '--db', db]);
  assert.equal((await sameDb.exited).code, 1);
  assert.match(String((await sameDb.waitForLog('tracker failed to start'))['reason']), /locked/);
  // The first one is undisturbed.
  await login(HOST, first.port, peer(1));
});

test('kill -9 loses nothing acknowledged: a restarted tracker has the same sessions, files and bitmaps', async () => {
  const dir = sandbox.tempDir();
  const db = join(dir, 'tracker.db');
  const first = await startChild(db);
  const a = await login(HOST, first.port, peer(1));
  const b = await login(HOST, first.port, peer(2));
  const md5 = md5Of(0xdead);
  assert.equal((await callFor('AADR', HOST, first.port, addr(a, md5, 1000, 100, 'Survivor.bin'))).parts, 10);
  for (const part of [1, 4, 9]) await callFor('APAD', HOST, first.port, rpad(b, md5, part));
  const before = await callFor('AFCH', HOST, first.port, fchu(a, md5), { parts: 10 });
  // The very last acknowledged change before the kill.
  assert.equal((await callFor('APAD', HOST, first.port, rpad(b, md5, 5))).partsHeld, 4);
  await first.child.kill('SIGKILL');
  assert.equal((await first.child.exited).signal, 'SIGKILL');

  const second = await startChild(db);
  assert.equal(second.line['peers'], 2);
  // The same session ids work, and LOGI from the same address gives the same id back.
  assert.equal(await login(HOST, second.port, peer(1)), a);
  const after = await callFor('AFCH', HOST, second.port, fchu(b, md5), { parts: 10 });
  assert.equal(after.peers.length, 2);
  assert.deepEqual(after.peers[0]?.bitmap, before.peers[0]?.bitmap);
  assert.deepEqual(after.peers[0]?.bitmap, fullBitmap(10));
  assert.deepEqual(after.peers[1]?.bitmap, bitmapFromParts(10, [1, 4, 5, 9]));
  assert.equal((await callFor('ALOO', HOST, second.port, look(b, 'survivor'))).files[0]?.md5, md5);
  assert.equal((await callFor('APAD', HOST, second.port, rpad(b, md5, 5))).partsHeld, 4);
  assert.equal((await callFor('APAD', HOST, second.port, rpad(b, md5, 6))).partsHeld, 5);
  assert.match((await callFor('ALGI', HOST, second.port, logi(peer(3)))).sessionId, /^[0-9A-F]{16}$/);
});
