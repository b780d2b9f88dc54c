/** Command-line values shared by the demo and the benchmarks, each checked with a clear ArgumentError. */
import { ArgumentError } from '../../src/errors.js';
import { parseRate } from '../../src/peer/bandwidth/rate.js';

/** A plain decimal number (no sign, no exponent) within min..max; whole when `integer`. */
export function numberArg(flag: string, text: string, min: number, max: number, integer: boolean): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+(\.\d+)?$/.test(t) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new ArgumentError(`${flag} must be ${integer ? 'a whole number' : 'a number'} in ${min}..${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** A rate or size such as `2MB`, `500KB`, `1.5MiB` (see parseRate), the flag named in the error. */
export function rateArg(flag: string, text: string): number {
  try {
    return parseRate(text);
  } catch (err) {
    throw new ArgumentError(`${flag}: ${(err as Error).message}`);
  }
}
