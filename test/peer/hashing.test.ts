/**
 * A download's part thread (download/hashing.ts): each part written at its
 * place, its sha256, and the whole file's md5 however the parts land: next in
 * line (hashed from the bytes in hand, shared memory or not), out of order
 * (read back from the partial file), replaced (started over), with the
 * content+owner suffixes; a write that fails is a StoreError with its errno.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { emptyBitmap, setPart } from '../../src/protocol/index.js';
import type { LocalFile } from '../../src/peer/files.js';
import { FileHasher, StoreError, sharedBuffer } from '../../src/peer/download/hashing.js';
import { Sandbox } from '../support/process.js';

const sandbox = new Sandbox();
after(() => sandbox.cleanup());

const PART = 1000;
const md5 = (b: Uint8Array, suffix = ''): string => createHash('md5').update(b).update(suffix).digest('hex');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function fileOf(content: Buffer): LocalFile {
  const parts = Math.ceil(content.length / PART);
  const path = join(sandbox.tempDir(), 'x.bt-part');
  // A preallocated partial file, as openPartial leaves it: the parts' writes fill it.
  writeFileSync(path, Buffer.alloc(content.length));
  return { md5: md5(content), fileName: 'x', fileLength: content.length, partLength: PART, parts, bitmap: emptyBitmap(parts), path, complete: false };
}

const slice = (content: Buffer, p: number, shared: boolean): Buffer => {
  const bytes = content.subarray(p * PART, Math.min(content.length, (p + 1) * PART));
  if (!shared) return Buffer.from(bytes);
  const b = sharedBuffer(bytes.length);
  bytes.copy(b);
  return b;
};

test('property: parts landing in any order are written in place, each with its sha256, and give the file its md5 (with owner suffixes)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 9 }).chain((n) => fc.tuple(fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }), fc.array(fc.boolean(), { minLength: n, maxLength: n }), fc.integer({ min: 1, max: PART }))), async ([order, shared, lastSize]) => {
      const content = randomBytes((order.length - 1) * PART + lastSize);
      const file = fileOf(content);
      const hasher = new FileHasher(file);
      try {
        for (const p of order) {
          const bytes = slice(content, p, shared[p] as boolean);
          assert.equal(await hasher.store(p, bytes), sha(bytes));
          setPart(file.bitmap, p);
          hasher.landed();
        }
        assert.equal(hasher.partsHashed, order.length, 'every part in the md5 once the last has landed');
        assert.ok(readFileSync(file.path).equals(content), 'every part written at its place');
        const d = await hasher.digests(['127.0.0.2::1', '10.0.0.1fd99::2']);
        assert.deepEqual(d, { content: md5(content), withSuffix: [md5(content, '127.0.0.2::1'), md5(content, '10.0.0.1fd99::2')] });
      } finally {
        await hasher.close();
      }
    }),
    { numRuns: 25 },
  );
});

test('a part replaced: after reset the md5 is taken afresh from the file, which holds the replacement', async () => {
  const content = randomBytes(3 * PART);
  const file = fileOf(content);
  const hasher = new FileHasher(file);
  try {
    // Wrong bytes for part 0 go to disk and into the md5 (it is next in line) ...
    await hasher.store(0, Buffer.alloc(PART, 1));
    setPart(file.bitmap, 0);
    hasher.landed();
    for (const p of [1, 2]) {
      await hasher.store(p, slice(content, p, true));
      setPart(file.bitmap, p);
      hasher.landed();
    }
    assert.notEqual((await hasher.digests([])).content, md5(content));
    // ... so once the right copy replaces them (healing), the hash starts over and reads them back.
    assert.equal(await hasher.store(0, slice(content, 0, false)), sha(content.subarray(0, PART)));
    hasher.reset();
    assert.equal((await hasher.digests([])).content, md5(content));
  } finally {
    await hasher.close();
  }
});

test('a part that cannot be written is a StoreError with its errno', async () => {
  const content = randomBytes(2 * PART);
  const file = { ...fileOf(content), path: join(sandbox.tempDir(), 'gone', 'x.bt-part') };
  const hasher = new FileHasher(file);
  try {
    const err = await hasher.store(0, slice(content, 0, true)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof StoreError, 'a StoreError');
    assert.equal(err.code, 'ENOENT');
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
  await assert.rejects(hasher.store(0, Buffer.alloc(1)), /closed/);
});

