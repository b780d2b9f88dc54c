/**
 * The download state kept beside a partial file: who sent each part and its
 * digest, bans, version-1 files from older peers, and a resume that re-checks
 * held parts against their recorded digests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bitmapFromParts } from '../../src/protocol/index.js';
import { UNKNOWN_SENDER } from '../../src/peer/download/blame.js';
import { PartialFile, partDigest } from '../../src/peer/download/partial.js';
import { statePath } from '../../src/peer/download/state.js';
import { Sandbox } from '../support/process.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

const PART = 4096;
const info = (md5: string) => ({ md5, fileName: 'x.bin', fileLength: 5 * PART + 10, partLength: PART, parts: 6 });
const md5s = (): string => randomBytes(16).toString('hex');

test('senders, digests and bans survive a restart; a part whose bytes changed on disk is fetched again', async () => {
  const dir = sandbox.tempDir();
  const md5 = md5s();
  const content = randomBytes(5 * PART + 10);
  const part = (p: number): Buffer => content.subarray(p * PART, Math.min(content.length, (p + 1) * PART));
  const first = await PartialFile.open(dir, info(md5), 'x.bin');
  assert.equal(first.resumed, null);
  await first.write(0, [part(0)], '127.0.0.5:7000');
  await first.write(2, [part(2)], '127.0.0.6:7000');
  await first.write(5, [part(5)], '127.0.0.6:7000');
  await first.witness(2, '127.0.0.7:7000', 'f'.repeat(64));
  await first.ban('127.0.0.7:7000', 'sent wrong bytes for part 2');
  await first.close();

  // Part 2's bytes rot on disk (or a write was lost): the resume must not trust them.
  const partial = join(dir, `.${md5}.bt-part`);
  const bytes = readFileSync(partial);
  bytes[2 * PART + 17] ^= 0xff;
  writeFileSync(partial, bytes);

  const second = await PartialFile.open(dir, info(md5), 'x.bin');
  assert.deepEqual(second.resumed, { kept: 2, dropped: [2], version: 2 });
  assert.deepEqual(second.heldParts(), [0, 5]);
  assert.deepEqual(second.journal.records.get(0), { owner: '127.0.0.5:7000', digest: partDigest([part(0)]) });
  assert.equal(second.journal.records.get(5)?.owner, '127.0.0.6:7000');
  assert.equal(second.journal.evidence.get(2)?.get('127.0.0.7:7000'), 'f'.repeat(64), 'cross-checks are evidence kept too');
  assert.deepEqual([...second.journal.bans], [['127.0.0.7:7000', 'sent wrong bytes for part 2']]);
  await second.ban('127.0.0.7:7000', null);
  await second.close();

  // A crash mid-line leaves a torn journal tail: skipped, the rest still loads.
  appendFileSync(statePath(dir, md5), '{"p":1,"f":"127.0.0');
  const third = await PartialFile.open(dir, info(md5), 'x.bin');
  assert.deepEqual(third.heldParts(), [0, 5]);
  assert.equal(third.journal.bans.size, 0, 'a lifted ban stays lifted');
  await third.close();
});

test('a version-1 state file (header and bitmap only) still resumes: parts kept, digests recorded, sender unknown', async () => {
  const dir = sandbox.tempDir();
  const md5 = md5s();
  const content = randomBytes(5 * PART + 10);
  writeFileSync(join(dir, `.${md5}.bt-part`), content);
  const header = { version: 1, md5, fileName: 'x.bin', fileLength: content.length, partLength: PART };
  writeFileSync(statePath(dir, md5), Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), bitmapFromParts(6, [1, 3, 4])]));

  const p = await PartialFile.open(dir, info(md5), 'x.bin');
  assert.deepEqual(p.resumed, { kept: 3, dropped: [], version: 1 });
  assert.deepEqual(p.heldParts(), [1, 3, 4]);
  assert.deepEqual(p.journal.records.get(3), { owner: UNKNOWN_SENDER, digest: partDigest([content.subarray(3 * PART, 4 * PART)]) });
  await p.close();
  const rewritten = readFileSync(statePath(dir, md5));
  assert.equal(JSON.parse(rewritten.subarray(0, rewritten.indexOf(0x0a)).toString()).version, 2, 'written back as version 2');

  // And that version-2 file resumes with the recorded digests.
  const again = await PartialFile.open(dir, info(md5), 'x.bin');
  assert.deepEqual(again.resumed, { kept: 3, dropped: [], version: 2 });
  await again.close();
});
