import assert from 'node:assert/strict';
import { join, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { sanitizeFileName } from '../../src/peer/sanitize.js';

const MD5 = '0123456789abcdef0123456789abcdef';

function staysInside(name: string): void {
  const dir = resolve('/downloads');
  const out = sanitizeFileName(name, MD5);
  const full = resolve(join(dir, out));
  assert.ok(full.startsWith(dir + sep), `${JSON.stringify(name)} -> ${JSON.stringify(out)} escapes`);
  assert.ok(!out.includes('/') && !out.includes('\\'), `separator left in ${JSON.stringify(out)}`);
  assert.notEqual(out, '.');
  assert.notEqual(out, '..');
  assert.ok(!/[\u0000-\u001f\u007f]/.test(out), `control character left in ${JSON.stringify(out)}`);
  assert.ok(out.length > 0);
}

test('ordinary names are kept', () => {
  assert.equal(sanitizeFileName('holiday photos.tar.gz', MD5), 'holiday photos.tar.gz');
  assert.equal(sanitizeFileName('naïve résumé.pdf', MD5), 'naïve résumé.pdf');
});

test('path separators and traversal never escape the folder', () => {
  for (const name of ['../../etc/passwd', '..\\..\\windows\\system32', '/etc/shadow', 'a/../../b', '..', '.', '...', './x', 'dir/', '\\\\server\\share']) {
    staysInside(name);
  }
  assert.equal(sanitizeFileName('../../etc/passwd', MD5), '_.._etc_passwd');
});

test('control characters are replaced', () => {
  staysInside('evil\nname\r\t\u0000\u001b[31m.txt');
  assert.equal(sanitizeFileName('a\u0000b\nc', MD5), 'a_b_c');
});

test('names with nothing printable get a fallback from the md5', () => {
  for (const name of ['', '   ', '\u0000\u0001', '..', '////', '\u200b\u200b']) {
    assert.equal(sanitizeFileName(name, MD5), `download-${MD5}`, JSON.stringify(name));
  }
});

test('hidden, reserved and over-long names are neutralised', () => {
  assert.equal(sanitizeFileName('.bashrc', MD5), 'bashrc');
  assert.equal(sanitizeFileName('CON', MD5), '_CON');
  const long = sanitizeFileName('é'.repeat(300), MD5);
  assert.ok(Buffer.byteLength(long) <= 200);
  assert.ok(!long.includes('\ufffd'));
  staysInside('\u202egnp.exe');
  assert.ok(!sanitizeFileName('\u202egnp.exe', MD5).includes('\u202e'));
});
