/**
 * Where the peer's settings come from: flags > BUGTORRENT_* variables > a JSON
 * config file > defaults, each through the flag's own parser; and the
 * --on-complete hook, run with the file in its environment.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { ArgumentError } from '../../src/errors.js';
import { addPeerOptions, mapPeerOptions, type RawPeerOptions } from '../../src/cli/peer/flags.js';
import { describeHook, hookFailed, runHook } from '../../src/cli/peer/hook.js';
import { applySettings, describeSettings } from '../../src/cli/settings.js';
import { Sandbox } from '../support/process.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

function parse(argv: string[], env: NodeJS.ProcessEnv, config?: unknown): Command {
  const command = addPeerOptions(new Command('peer').exitOverride());
  if (config !== undefined) {
    const path = join(sandbox.tempDir(), 'peer.json');
    writeFileSync(path, JSON.stringify(config));
    argv = ['--config', path, ...argv];
  }
  command.parse(argv, { from: 'user' });
  applySettings(command, env);
  return command;
}

test('flags win over the environment, which wins over the file, which wins over the defaults', () => {
  const config = { tracker: '10.0.0.1:3000', 'up-rate': '1MB', 'down-rate': '3MB', 'seed-time': 30, share: ['a.iso', 'b.iso'], upload: false };
  const env = { BUGTORRENT_UP_RATE: '2MB', BUGTORRENT_SEED_TIME: '60', BUGTORRENT_PORT: '6000' };
  const command = parse(['--port', '7000'], env, config);
  const { config: c, plan } = mapPeerOptions(command.opts<RawPeerOptions>());
  assert.deepEqual(c.tracker, { host: '10.0.0.1', port: 3000 }, 'file');
  assert.equal(c.upRate, 2_000_000, 'env over file');
  assert.equal(c.downRate, 3_000_000, 'file over default');
  assert.equal(c.port, 7000, 'flag over env');
  assert.equal(plan.seedTimeMs, 60_000, 'env over file');
  assert.deepEqual(plan.share, ['a.iso', 'b.iso']);
  assert.equal(c.noUpload, true, '"upload": false is --no-upload');
  assert.equal(c.uploadSlots, 4, 'default');
  const text = describeSettings(command);
  assert.match(text, /^--port\s+"7000"\s+\(flag\)$/m);
  assert.match(text, /^--up-rate\s+"2MB"\s+\(env BUGTORRENT_UP_RATE\)$/m);
  assert.match(text, /^--down-rate\s+"3MB"\s+\(config\)$/m);
  assert.match(text, /^--no-upload\s+true\s+\(config\)$/m);
  assert.match(text, /^--upload-slots\s+"4"\s+\(default\)$/m);
});

test('booleans and repeatable flags from the environment; a bad value names its variable', () => {
  const command = parse(['--tracker', 'h:1'], { BUGTORRENT_EXIT_WHEN_DONE: 'yes', BUGTORRENT_NO_UPLOAD: '1', BUGTORRENT_GET: 'a'.repeat(32) });
  const { config, plan } = mapPeerOptions(command.opts<RawPeerOptions>());
  assert.equal(plan.exitWhenDone, true);
  assert.equal(config.noUpload, true);
  assert.deepEqual(plan.get, ['a'.repeat(32)]);
  assert.throws(() => parse(['--tracker', 'h:1'], { BUGTORRENT_JSON: 'maybe' }), (e: Error) => e instanceof ArgumentError && /BUGTORRENT_JSON/.test(e.message));
  assert.throws(() => mapPeerOptions(parse(['--tracker', 'h:1'], { BUGTORRENT_UP_RATE: 'fast' }).opts<RawPeerOptions>()), /--up-rate: invalid rate "fast"/);
});

test('the config file: unknown keys and bad JSON are errors naming the file; --tracker may come from any source', () => {
  assert.throws(() => parse([], {}, { trackr: 'x:1' }), /unknown setting "trackr"/);
  const bad = join(sandbox.tempDir(), 'bad.json');
  writeFileSync(bad, '{ not json');
  assert.throws(() => parse(['--config', bad], {}), (e: Error) => e instanceof ArgumentError && e.message.startsWith(`--config ${bad}:`));
  assert.throws(() => parse(['--config', join(sandbox.tempDir(), 'none.json')], {}), /no such file/);
  assert.throws(() => mapPeerOptions(parse([], {}).opts<RawPeerOptions>()), /--tracker HOST:PORT is required/);
  assert.deepEqual(mapPeerOptions(parse([], { BUGTORRENT_TRACKER: '127.0.0.1:4000' }).opts<RawPeerOptions>()).config.tracker, { host: '127.0.0.1', port: 4000 });
});

test('--on-complete runs with the file in its environment; a failure is reported, with its code', async () => {
  const dir = sandbox.tempDir();
  const out = join(dir, 'hook.txt');
  const ok = await runHook(`printf '%s|%s|%s|%s' "$BUGTORRENT_PATH" "$BUGTORRENT_MD5" "$BUGTORRENT_NAME" "$BUGTORRENT_SIZE" > '${out}'`, { path: '/data/film.mkv', md5: 'c'.repeat(32), size: 42 });
  assert.equal(hookFailed(ok), false);
  assert.equal(readFileSync(out, 'utf8'), `/data/film.mkv|${'c'.repeat(32)}|film.mkv|42`);
  const bad = await runHook('exit 3', { path: '/data/film.mkv', md5: 'c'.repeat(32) });
  assert.equal(hookFailed(bad), true);
  assert.equal(describeHook(bad), 'on-complete for /data/film.mkv: "exit 3" exited with code 3');
});
