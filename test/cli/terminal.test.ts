/**
 * `bugtorrent` in a real pseudo-terminal, as a person runs it: what shows on the
 * screen, what goes to stderr, and how it exits. The seed is an in-process
 * peer (startPeer); the CLI under test is a real process.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { type PeerHandle, startPeer } from '../../src/peer/index.js';
import type { RunningTracker } from '../../src/tracker/index.js';
import { Sandbox } from '../support/process.js';
import { md5OfFile, testTracker, writeRandomFile } from '../support/peer.js';
import { type TerminalProcess, terminalIn } from '../support/terminal.js';

const sandbox = new Sandbox();
const terminals: TerminalProcess[] = [];
let tracker: RunningTracker;
let seed: PeerHandle;
let md5: string;
let logs: string;

before(async () => {
  tracker = await testTracker();
  logs = sandbox.tempDir();
  const dir = sandbox.tempDir();
  const file = join(dir, 'screen.bin');
  writeRandomFile(file, 5 * 65536 + 100);
  md5 = await md5OfFile(file);
  seed = await startPeer({ tracker: { host: '127.0.0.1', port: tracker.port }, ip4: '127.0.0.91', ip6: '::1', port: 0, dir, partSize: 65536, log: silentLogger() });
  await seed.share(file);
});
after(async () => {
  await Promise.all(terminals.map((t) => t.kill()));
  await seed?.close();
  await tracker?.close();
  await sandbox.cleanup();
});

const peerArgs = (n: number, dir: string, extra: string[]): string[] => [
  'peer', '--tracker', `127.0.0.1:${tracker.port}`, '--ip4', `127.0.0.${n}`, '--ip6', '::1', '--port', '0', '--dir', dir, '--poll-interval', '0.2', ...extra,
];

describe('the peer in a terminal', { concurrency: true, timeout: 90_000 }, () => {
  test('--get --exit-when-done exits 0 after the download, with a final full progress frame, no prompt', async () => {
    const dir = sandbox.tempDir();
    const t = terminalIn(terminals, logs, peerArgs(92, dir, ['--get', md5, '--exit-when-done']));
    assert.equal(await t.exited, 0, t.output + t.stderr);
    assert.match(t.output, /complete: .*screen\.bin in [\d.]+ s \(verified\)/);
    assert.match(t.output, /6\/6 parts/, 'the last frame shows every part');
    assert.doesNotMatch(t.output, /bugtorrent> /, 'no prompt was started');
    assert.equal(await md5OfFile(join(dir, 'screen.bin')), md5);
  });

  test('an md5 the tracker does not know: one error on stderr naming it, exit 1', async () => {
    const unknown = 'e'.repeat(32);
    const t = terminalIn(terminals, logs, peerArgs(93, sandbox.tempDir(), ['--get', unknown, '--exit-when-done', '--find-timeout', '0.5']));
    assert.equal(await t.exited, 1, t.output + t.stderr);
    const errors = t.stderr.split('\n').filter((l) => l.includes(unknown));
    assert.equal(errors.length, 1, `once on stderr:\n${t.stderr}`);
    assert.match(errors[0]!, /^error \[BT_UNKNOWN_FILE\]: the tracker does not know a file with md5 e{32}$/);
    assert.doesNotMatch(t.output, /error \[/, 'nothing of it on stdout');
  });

  test('an md5 the tracker does not know, at the prompt: reported above it; quitting then exits 1', async () => {
    const t = terminalIn(terminals, logs, peerArgs(94, sandbox.tempDir(), ['--get', 'd'.repeat(32), '--find-timeout', '0.5']));
    // stdin is a terminal: the prompt starts; the failed get is reported above it.
    await t.waitFor(/type "help" for commands/);
    await t.waitFor(/bugtorrent> /);
    await t.waitForStderr(/error \[BT_UNKNOWN_FILE\]: the tracker does not know a file with md5 d{32}/);
    t.type('status\n');
    await t.waitFor(/get d{32} : failed/);
    t.type('quit\n');
    assert.equal(await t.exited, 1, t.output + t.stderr);
    assert.match(t.stderr, /error \[BT_UNKNOWN_FILE\]/);
  });

  test('--share of a missing file: the error on stderr, exit 1, nothing left running', async () => {
    const missing = join(sandbox.tempDir(), 'no-such-file.iso');
    const t = terminalIn(terminals, logs, peerArgs(95, sandbox.tempDir(), ['--share', missing]));
    assert.equal(await t.exited, 1, t.output + t.stderr);
    assert.match(t.stderr, new RegExp(`cannot share ${missing.replace(/[.]/g, '\\.')}`));
    assert.equal(t.stderr.split('\n').filter((l) => l.includes(missing)).length, 1);
    assert.doesNotMatch(t.output, /error/);
  });

  test('a busy tracker port: one sentence naming the port and --port, no stack trace, exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const t = terminalIn(terminals, logs, ['tracker', '--host', '127.0.0.1', '--port', String(port), '--db', ':memory:', '--no-http']);
      assert.equal(await t.exited, 1);
      const text = `${t.output}${t.stderr}`.trim();
      assert.equal(text.split('\n').length, 1, text);
      assert.match(text, new RegExp(`port ${port} is already in use .*--port`));
      assert.doesNotMatch(text, /\bat .*\(node:/);
    } finally {
      busy.close();
    }
  });

  test('one SIGTERM stops a seeder the tracker refuses to log out, with a warning', async () => {
    const dir = sandbox.tempDir();
    const only = join(dir, 'only-copy.bin');
    writeFileSync(only, 'the only copy of this file');
    const t = terminalIn(terminals, logs, peerArgs(96, dir, ['--share', only]));
    await t.waitFor(/sharing only-copy\.bin/);
    await t.signal('SIGTERM');
    assert.equal(await t.exited, 0, t.output + t.stderr);
    assert.match(t.output, /tracker refused to log us out/);
    assert.match(t.output, /leaving with the only copy/);
  });

  test('--on-complete runs with the file in its environment; its failure is reported, never fatal', async () => {
    const dir = sandbox.tempDir();
    const out = join(dir, 'hook-env.txt');
    const proc = sandbox.spawn(peerArgs(98, dir, ['--get', md5, '--exit-when-done', '--json', '--on-complete', `printf '%s %s' "$BUGTORRENT_NAME" "$BUGTORRENT_MD5" > '${out}'; exit 3`]));
    const { code } = await proc.exited;
    assert.equal(code, 0, proc.rawStderr.join('\n'));
    assert.equal(readFileSync(out, 'utf8'), `screen.bin ${md5}`);
    const hook = proc.stdoutLines.find((e) => e['event'] === 'hook');
    assert.deepEqual({ ok: hook?.['ok'], code: hook?.['code'] }, { ok: false, code: 3 });
    const error = proc.stdoutLines.find((e) => e['event'] === 'error');
    assert.equal(error?.['code'], 'BT_HOOK_FAILED');
    assert.ok(proc.stdoutLines.some((e) => e['event'] === 'complete'));
  });

  test('--quiet in a terminal: no progress, no messages, just the exit code', async () => {
    const t = terminalIn(terminals, logs, peerArgs(99, sandbox.tempDir(), ['--get', md5, '--exit-when-done', '--quiet']));
    assert.equal(await t.exited, 0, t.output + t.stderr);
    assert.equal(t.output.trim(), '');
    assert.equal(t.stderr.trim(), '');
  });

  test('the prompt: share ~/file expands the home folder; status in plain words; quit twice leaves the only copy', async () => {
    const home = sandbox.tempDir();
    writeFileSync(join(home, 'notes.txt'), 'shared from home');
    const t = terminalIn(terminals, logs, peerArgs(97, sandbox.tempDir(), []), { env: { HOME: home } });
    await t.waitFor(/bugtorrent> /);
    t.type('share ~/notes.txt\n');
    await t.waitFor(/sharing notes\.txt \(16 bytes, 1 parts\)/);
    t.type('status\n');
    await t.waitFor(/share [0-9a-f]{32} notes\.txt: 1 parts, 16 bytes/);
    await t.waitFor(/sent 0 B, now 0 B\/s \(upload limit unlimited\)/);
    t.type('quit\n');
    await t.waitFor(/seeding until other peers hold our parts \(quit again to leave anyway\)/);
    t.type('quit\n');
    assert.equal(await t.exited, 130, t.output + t.stderr);
    assert.match(t.output, /leaving without the tracker's consent/);
  });
});
