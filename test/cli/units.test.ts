/** Values from the command line: one parser each for numbers, seconds and rates, with the flag named in every error. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError } from '../../src/errors.js';
import { integerArg, numberArg, rateArg, secondsArg } from '../../src/units.js';
import { expandHome } from '../../src/cli/peer/prompt.js';
import { formatDuration, progressFields } from '../../src/cli/peer/progress.js';

test('seconds: decimals allowed, returned in ms; an explicit 0 stays 0 unless a minimum says otherwise', () => {
  assert.equal(secondsArg('--seed-time', '0'), 0);
  assert.equal(secondsArg('--seed-time', '1.5'), 1500);
  assert.throws(() => secondsArg('--poll-interval', '0', { min: 0.1 }), (e: Error) => e instanceof ArgumentError && /--poll-interval must be a number in 0.1\.\./.test(e.message));
  assert.throws(() => secondsArg('--x', '-1'), ArgumentError);
  assert.throws(() => secondsArg('--x', '1e3'), ArgumentError);
  assert.throws(() => secondsArg('--x', ''), ArgumentError);
});

test('whole numbers within bounds; the flag is named', () => {
  assert.equal(integerArg('--port', '0', 0, 65535), 0);
  assert.equal(integerArg('--port', ' 5000 ', 0, 65535), 5000);
  assert.throws(() => integerArg('--port', '65536', 0, 65535), /--port must be a whole number in 0..65535, got "65536"/);
  assert.throws(() => integerArg('--port', '1.5', 0, 65535), ArgumentError);
  assert.equal(numberArg('--ratio', '1.25', 0, 10, false), 1.25);
});

test('rates and sizes name the flag in their error', () => {
  assert.equal(rateArg('--up-rate', '2MB'), 2_000_000);
  assert.equal(rateArg('--up-rate', '1.5MiB'), 1_572_864);
  assert.throws(() => rateArg('--up-rate', 'fast'), /--up-rate: invalid rate "fast"/);
});

test('~ and ~/x expand to the home folder; other paths are left alone', () => {
  assert.equal(expandHome('~', '/home/ann'), '/home/ann');
  assert.equal(expandHome('~/a/b.txt', '/home/ann'), '/home/ann/a/b.txt');
  assert.equal(expandHome('~bob/x', '/home/ann'), '~bob/x');
  assert.equal(expandHome('./~/x', '/home/ann'), './~/x');
});

test('progress: ETA is "—" when nobody holds the file or nothing arrives; "1 peer", "2 peers"', () => {
  const d = { have: 2, parts: 10, size: 1000, bytesDone: 200, owners: 0, activeOwners: 0 };
  assert.deepEqual(progressFields(d, 100), { rate: '100 B/s', eta: '—', peers: '0 peers' });
  assert.equal(progressFields({ ...d, owners: 1, activeOwners: 1 }, 0).eta, '—');
  assert.deepEqual(progressFields({ ...d, owners: 1, activeOwners: 1 }, 100), { rate: '100 B/s', eta: '8s', peers: '1 peer' });
  assert.equal(progressFields({ ...d, owners: 3, activeOwners: 2 }, 100).peers, '2 peers');
  assert.equal(progressFields({ ...d, bytesDone: 1000, owners: 0 }, 0).eta, '0s');
  assert.deepEqual([formatDuration(59.4), formatDuration(61), formatDuration(3725)], ['59s', '1m01s', '1h02m']);
});
