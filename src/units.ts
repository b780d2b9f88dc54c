/**
 * Values from the command line, config files and environment variables, one
 * parser each for every command, benchmark and script: whole numbers, seconds,
 * and rates/sizes; and the formatting of sizes and rates for people.
 *
 * Rates on the command line: `--up-rate 2MB`, `--down-rate 1.5MiB`, `0`.
 *
 * Units are bytes per second (bits are not supported). Decimal prefixes are SI,
 * binary ones IEC, as on disk labels and in `ls -h --si`:
 *   (none), B        1
 *   K, KB            1 000            Ki, KiB   1 024
 *   M, MB            1 000 000        Mi, MiB   1 048 576
 *   G, GB            1 000 000 000    Gi, GiB   1 073 741 824
 * Letters are case-insensitive (`500kb` = `500KB`), an optional `/s` may follow,
 * spaces between number and unit are allowed. `0`, `unlimited`, `none`, `off`
 * mean no limit (0). The result is rounded to whole bytes/s; a non-zero rate that
 * rounds to 0, or above 100 GB/s, is refused.
 */
import { ArgumentError } from './errors.js';

export const RATE_HELP =
  'bytes/s: a number with an optional unit, K/KB=1000, M/MB=10^6, G/GB=10^9, KiB=1024, MiB=2^20, GiB=2^30 (e.g. 500KB, 1.5MiB); 0 = unlimited';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Largest rate we accept: anything above is surely a typo. */
export const MAX_RATE = 100e9;

const PATTERN = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)(?:\/s)?$/i;

/** Parses a rate into bytes per second (0 = unlimited). Throws `ArgumentError` on anything else. */
export function parseRate(text: string): number {
  if (typeof text !== 'string') throw new ArgumentError(`rate must be text, got ${typeof text}`);
  const trimmed = text.trim();
  if (/^(unlimited|none|off)$/i.test(trimmed)) return 0;
  const match = PATTERN.exec(trimmed);
  if (!match) {
    throw new ArgumentError(`invalid rate "${text}": expected ${RATE_HELP}`);
  }
  const value = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  const factor = UNITS[unit];
  if (factor === undefined) {
    throw new ArgumentError(`invalid rate "${text}": unknown unit "${match[2]}"; expected ${RATE_HELP}`);
  }
  const bytes = Math.round(value * factor);
  if (value > 0 && bytes === 0) throw new ArgumentError(`invalid rate "${text}": below 1 byte/s`);
  if (bytes > MAX_RATE) throw new ArgumentError(`invalid rate "${text}": above the maximum of 100GB/s`);
  return bytes;
}

/** A rate for people: `1.50 MB/s`, `512.0 kB/s`, `900 B/s`, `unlimited` (SI, like parseRate's MB). */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond === 0) return 'unlimited';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A size for people, SI: `64.0 MB` for 64 000 000; `67.1 MB` for 64 MiB. */
export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (abs >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (abs >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${Math.round(bytes)} B`;
}

/** A plain decimal number (no sign, no exponent) within min..max; whole when `integer`. The flag is named in the error. */
export function numberArg(flag: string, text: string, min: number, max: number, integer: boolean): number {
  const t = String(text).trim();
  const n = Number(t);
  if (!/^\d+(\.\d+)?$/.test(t) || (integer && !Number.isSafeInteger(n)) || n < min || n > max) {
    throw new ArgumentError(`${flag} must be ${integer ? 'a whole number' : 'a number'} in ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A whole number within min..max. */
export function integerArg(flag: string, text: string, min: number, max: number): number {
  return numberArg(flag, text, min, max, true);
}

/** Seconds (decimals allowed, within min..max seconds), returned in milliseconds. */
export function secondsArg(flag: string, text: string, limits: { min?: number; max?: number } = {}): number {
  return Math.round(numberArg(flag, text, limits.min ?? 0, limits.max ?? 10 ** 7, false) * 1000);
}

/** A rate or size such as `2MB`, `500KB`, `1.5MiB` (see parseRate), the flag named in the error. */
export function rateArg(flag: string, text: string): number {
  try {
    return parseRate(text);
  } catch (err) {
    throw new ArgumentError(`${flag}: ${(err as Error).message}`);
  }
}
