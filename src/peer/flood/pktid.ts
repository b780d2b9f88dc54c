/** Packet ids: 16 characters 0-9A-F from a cryptographically strong source. */
import { randomBytes } from 'node:crypto';

/** Source of random bytes; crypto.randomBytes unless a test injects one. */
export type RandomBytes = (size: number) => Buffer;

export const PKTID_LENGTH = 16;

export function newPktId(random: RandomBytes = randomBytes): string {
  const bytes = random(PKTID_LENGTH / 2);
  if (bytes.length !== PKTID_LENGTH / 2) throw new Error(`random source returned ${bytes.length} bytes, wanted ${PKTID_LENGTH / 2}`);
  return bytes.toString('hex').toUpperCase();
}

/** The form Pktids are compared in: others may echo lower case; the bytes are forwarded as decoded. */
export function pktIdKey(pktId: string): string {
  return pktId.toUpperCase();
}
