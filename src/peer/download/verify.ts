/**
 * The end of a download: every part is on disk; check the whole-file md5 (both
 * conventions, PROTOCOL.md) and either move the file to its final name or keep
 * it apart, saying which and why.
 */
import { ErrorCode } from '../../errors.js';
import type { PeerAddress } from '../../protocol/index.js';
import { judgeDigests, ownerSuffixes } from '../files.js';
import type { PartialFile } from './partial.js';

export type VerifyResult =
  | { readonly ok: true; readonly path: string; readonly convention: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly path: string; readonly corrupt: boolean; readonly actual: string };

export async function verifyDownload(
  partial: PartialFile,
  options: { md5: string; dir: string; name: string; owners: readonly PeerAddress[]; sharerKnown: boolean; keepCorrupt: boolean },
): Promise<VerifyResult> {
  const { md5, dir, name } = options;
  const suffixes = ownerSuffixes(options.owners);
  const { content, withSuffix } = await partial.digests(suffixes.map((s) => s.suffix));
  const outcome = judgeDigests(md5, content, withSuffix, suffixes, options.sharerKnown);
  if (outcome.status === 'verified') {
    const path = await partial.finish(dir, name);
    return { ok: true, path, convention: outcome.convention };
  }
  const corrupt = outcome.status === 'corrupt';
  if (corrupt && !options.keepCorrupt) {
    // The caller heals it: the file stays where it is, still partial.
    return { ok: false, code: ErrorCode.CORRUPT, message: `${name}: md5 mismatch (got ${outcome.actual}, expected ${md5})`, path: partial.file.path, corrupt, actual: outcome.actual };
  }
  // Kept apart, not shared, not offered as done.
  const apart = await partial.keepApart(dir, outcome.status);
  const message = corrupt
    ? `${name}: md5 mismatch (got ${outcome.actual}, expected ${md5}); the file is corrupt and was kept apart as ${apart}`
    : `${name}: md5 ${md5} could not be confirmed (content md5 ${outcome.actual}; no full owner known to test the address convention); kept apart as ${apart}`;
  return { ok: false, code: corrupt ? ErrorCode.CORRUPT : ErrorCode.UNVERIFIED, message, path: apart, corrupt, actual: outcome.actual };
}
