/**
 * A download's hashing in its own thread (download/hashing.ts): the sha256 of
 * each part, and the whole file's md5 however the parts land: next in line
 * (hashed from the bytes in hand, shared memory or not), out of order (read
 * back from the partial file), replaced (started over), with the
 * content+owner suffixes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { emptyBitmap, setPart } from '../../src/protocol/index.js';
import type { LocalFile } from '../../src/peer/files.js';
import { FileHasher, sharedBuffer } from '../../src/peer/download/hashing.js';
import { Sandbox } from '../support/process.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

const PART = 1000;
const md5 = (b: Uint8Array, suffix = ''): string => createHash('md5').update(b).update(suffix).digest('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function fileOf(content: Buffer): LocalFile {
  const parts = Math.ceil(content.length / PART);
  const path = join(sandbox.tempDir(), 'x.bt-part');
  // What is on disk: the whole content (as the writes of the parts leave it).
  writeFileSync(path, content);
  return { md5: md5(content), fileName: 'x', fileLength: content.length, partLength: PART, parts, bitmap: emptyBitmap(parts), path, complete: false };
}

const slice = (content: Buffer, p: number, shared: boolean): Buffer => {
  const bytes = content.subarray(p * PART, Math.min(content.length, (p + 1) * PART));
  if (!shared) return Buffer.from(bytes);
  const b = sharedBuffer(bytes.length);
  bytes.copy(b);
  return b;
};

test('property: parts landing in any order give each part its sha256 and the file its md5 (with owner suffixes)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 9 }).chain((n) => fc.tuple(fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }), fc.array(fc.boolean(), { minLength: n, maxLength: n }), fc.integer({ min: 1, max: PART }))), async ([order, shared, lastSize]) => {
      const content = randomBytes((order.length - 1) * PART + lastSize);
      const file = fileOf(content);
      const hasher = new FileHasher(file);
      try {
        for (const p of order) {
          const bytes = slice(content, p, shared[p] as boolean);
          assert.equal(await hasher.part(p, bytes), sha(bytes));
          setPart(file.bitmap, p);
          hasher.landed();
        }
        assert.equal(hasher.partsHashed, order.length, 'every part in the md5 once the last has landed');
        const d = await hasher.digests(['127.0.0.2::1', '10.0.0.1fd99::2']);
        assert.deepEqual(d, { content: md5(content), withSuffix: [md5(content, '127.0.0.2::1'), md5(content, '10.0.0.1fd99::2')] });
      } finally {
        await hasher.close();
      }
    }),
    { numRuns: 25 },
  );
});

test('a part replaced or dropped: after reset the md5 is taken afresh from the file', async () => {
  const content = randomBytes(3 * PART);
  const file = fileOf(content);
  const hasher = new FileHasher(file);
  try {
    // Wrong bytes for part 0 go into the md5 (it is next in line) ...
    await hasher.part(0, Buffer.alloc(PART, 1));
    setPart(file.bitmap, 0);
    hasher.landed();
    assert.notEqual((await hasher.digests([])).content, md5(content));
    // ... so once the right bytes are on disk the hash starts over and reads them back.
    hasher.reset();
    for (const p of [1, 2]) {
      await hasher.part(p, slice(content, p, true));
      setPart(file.bitmap, p);
      hasher.landed();
    }
    assert.equal((await hasher.digests([])).content, md5(content));
  } finally {
    await hasher.close();
  }
});

test('a file that cannot be read back is an error at the digest, and a closed hasher refuses work', async () => {
  const content = randomBytes(2 * PART);
  const file = { ...fileOf(content), path: join(sandbox.tempDir(), 'missing') };
  const hasher = new FileHasher(file);
  setPart(file.bitmap, 0);
  setPart(file.bitmap, 1);
  hasher.landed();
  await assert.rejects(hasher.digests([]), /ENOENT/);
  await hasher.close();
  await assert.rejects(hasher.part(0, Buffer.alloc(1)), /closed/);
});
