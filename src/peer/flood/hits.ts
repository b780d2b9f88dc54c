/**
 * Finding a flood-search hit at the tracker: a hit carries only md5 and name;
 * LenFile and LenPart come from the tracker's LOOK by that name.
 */
import { ErrorCode, RemoteError } from '../../errors.js';
import { cutUtf8 } from '../../protocol/fields.js';
import { MAX_QUERY_BYTES } from './service.js';

/**
 * The LOOK query that finds a file by its name: the trimmed name, cut to the
 * 20 bytes of Ricerca without splitting a UTF-8 character (LOOK matches
 * substrings, so a prefix of the name still finds it). An empty name lists all.
 */
export function trackerQueryFor(name: string): string {
  const out = cutUtf8(name.replace(/^ +| +$/g, ''), MAX_QUERY_BYTES).replace(/ +$/, '');
  return out === '' ? '*' : out;
}

export interface LookedUpFile {
  readonly md5: string;
  readonly fileName: string;
  readonly fileLength: number;
  readonly partLength: number;
}

/**
 * Finds a hit at the tracker: LOOK by its name, then the entry with its md5
 * (the name may have been changed by a later ADDR: then every file is listed
 * once more). Not there: RemoteError BT_UNKNOWN_FILE.
 */
export async function lookupHit<F extends LookedUpFile>(look: (query: string) => Promise<F[]>, md5: string, name: string): Promise<F> {
  const query = trackerQueryFor(name);
  const byName = (await look(query)).find((f) => f.md5 === md5);
  if (byName) return byName;
  if (query !== '*') {
    const any = (await look('*')).find((f) => f.md5 === md5);
    if (any) return any;
  }
  throw new RemoteError(
    ErrorCode.UNKNOWN_FILE,
    `the tracker does not know ${JSON.stringify(name)} with md5 ${md5} (the peer that answered may not have registered it at this tracker)`,
  );
}
