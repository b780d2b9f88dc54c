/**
 * The seams between the peer's transfers (sockets, at the edge) and the policies
 * that pace them (rate limits, choking). The transfer code only sees these
 * interfaces; the policies are pure modules plugged in behind them.
 */

/**
 * Who a remote peer is, as seen from either side of a transfer: its IP address in
 * plain form (`127.0.0.2`, `::1`; IPv4-mapped IPv6 unwrapped). Peers bind their
 * outgoing connections to their announced address, so the address a request
 * comes from names the same peer we download from.
 */
export type RemoteKey = string;

export function remoteKey(address: string | undefined): RemoteKey {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Paces bytes over time. `consume` resolves when `bytes` may be sent (or were received). */
export interface Throttle {
  consume(bytes: number): Promise<void>;
}

export const UNLIMITED: Throttle = { consume: () => Promise.resolve() };

/** Decides who may be served now (upload slots). */
export interface UploadAdmission {
  /**
   * Resolves with a release function once `remote` holds an upload slot, or with
   * null if it stays choked; the uploader then closes the connection without a reply.
   */
  admit(remote: RemoteKey, request?: { md5: string; part: number }): Promise<(() => void) | null>;
  /**
   * An upload to `remote` made no progress within its deadline and was cut (its
   * slot already released): it is not receiving, so it should not keep a slot.
   */
  stalled?(remote: RemoteKey): void;
}

export const ADMIT_ALL: UploadAdmission = { admit: () => Promise.resolve(() => undefined) };

/** Where transfers report their bytes, for tit-for-tat ranking, rates and status. */
export interface TrafficRecorder {
  uploaded(remote: RemoteKey, bytes: number): void;
  downloaded(remote: RemoteKey, bytes: number): void;
  /** `remote` closed a request of ours without a byte (it choked us, or uploads to nobody). */
  refusedBy(remote: RemoteKey): void;
}

export const IGNORE_TRAFFIC: TrafficRecorder = { uploaded: () => undefined, downloaded: () => undefined, refusedBy: () => undefined };
