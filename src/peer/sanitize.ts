/**
 * File names come from the network (ADDR/ALOO/AQUE Filename): untrusted. The
 * result of sanitizeFileName is always a single path component that stays
 * inside the download folder: no separators, no `..`, no control characters,
 * not empty, not a reserved name, bounded length.
 */
import { createHash } from 'node:crypto';
import { cutUtf8 } from '../protocol/fields.js';

const MAX_BYTES = 200;
/** C0/C1 controls, DEL, and characters that are separators or trouble on some file system. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]/g;
/** Invisible / bidi-override characters that make a name display as something else. */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * A safe local name for `name`. `fallbackId` (e.g. the md5) names the file when
 * nothing printable is left.
 */
export function sanitizeFileName(name: string, fallbackId = ''): string {
  let s = name.normalize('NFC').replace(FORBIDDEN, '_').replace(INVISIBLE, '');
  s = s.trim();
  // Leading dots would make hidden files or `.`/`..`; strip them (".." alone becomes empty).
  s = s.replace(/^\.+/, '');
  // Trailing dots and spaces are dropped by Windows and confuse people.
  s = s.replace(/[. ]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  s = cutUtf8(s, MAX_BYTES);
  if (!/[^\s_]/u.test(s)) {
    const id = /^[0-9a-fA-F]{32}$/.test(fallbackId)
      ? fallbackId.toLowerCase()
      : createHash('md5').update(name).digest('hex');
    s = `download-${id}`;
  }
  return s;
}
