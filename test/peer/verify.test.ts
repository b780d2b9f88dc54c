/** The md5 check accepts both Filemd5 conventions and tells corrupt from unverified. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { verifyFile } from '../../src/peer/files.js';
import { peerAddress } from '../../src/protocol/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-verify-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const content = randomBytes(10_000);
const path = join(dir, 'f');
writeFileSync(path, content);
const md5 = (...parts: (Buffer | string)[]): string => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const owner = peerAddress('172.16.99.2', 'fd99::2');
const other = peerAddress('10.0.0.1', '::1');

test('md5 of the content alone', async () => {
  assert.deepEqual(await verifyFile(path, md5(content), [], false), { status: 'verified', convention: 'content' });
});

test('md5 of content + owner IPv4 + owner IPv6, compressed or full', async () => {
  const compressed = await verifyFile(path, md5(content, '172.16.99.2', 'fd99::2'), [other, owner], true);
  assert.equal(compressed.status, 'verified');
  const full = await verifyFile(path, md5(content, '172.16.99.2', 'fd99:0000:0000:0000:0000:0000:0000:0002'), [other, owner], true);
  assert.equal(full.status, 'verified');
});

test('no candidate matches: corrupt when a full owner was known, unverified otherwise', async () => {
  const foreign = md5(content, '192.168.1.1', 'fe80::1');
  assert.equal((await verifyFile(path, foreign, [owner], true)).status, 'corrupt');
  assert.equal((await verifyFile(path, foreign, [owner], false)).status, 'unverified');
});
