/**
 * The BugTorrent wire protocol as data: every message's layout, field by field,
 * in the order and widths of docs/PROTOCOL.md. Encoding, decoding and the
 * incremental reader are all derived from this one table.
 */
import {
  type LayoutValue,
  bitmap,
  field,
  hexId,
  ipp2p,
  list,
  md5,
  number,
  port,
  sizedBytes,
  text,
} from './fields.js';

// Widths named once, used by the table below.
const sessionId = hexId;
const pktId = hexId;
const fileName = text(100);
/**
 * A name another peer or tracker lists (ALOO, AQUE): not valid UTF-8 is taken
 * with U+FFFD for the bad bytes (and reported), so one bad name cannot fail a
 * reply listing hundreds of good ones. Names we are asked to store (ADDR) stay strict.
 */
const listedName = text(100, { repair: true });
const query = text(20);
const fileLength = number(10);
/** LenPart: a part is at least one byte. */
const partLength = number(6, { min: 1 });
const partCount = number(8);
const partIndex = number(8);
/** Lenchunk: AREP chunks are 1..99999 bytes. */
const chunkLength = number(5, { min: 1 });

export const MESSAGES = {
  // Tracker requests and replies.
  LOGI: [field('address', ipp2p), field('port', port)],
  ALGI: [field('sessionId', sessionId)],
  ADDR: [
    field('sessionId', sessionId),
    field('fileLength', fileLength),
    field('partLength', partLength),
    field('fileName', fileName),
    field('md5', md5),
  ],
  AADR: [field('parts', partCount)],
  LOOK: [field('sessionId', sessionId), field('query', query)],
  ALOO: [
    field(
      'files',
      list(number(3), [
        field('md5', md5),
        field('fileName', listedName),
        field('fileLength', fileLength),
        field('partLength', partLength),
      ] as const),
    ),
  ],
  FCHU: [field('sessionId', sessionId), field('md5', md5)],
  AFCH: [
    field('peers', list(number(3), [field('address', ipp2p), field('port', port), field('bitmap', bitmap)] as const)),
  ],
  RPAD: [field('sessionId', sessionId), field('md5', md5), field('part', partIndex)],
  APAD: [field('partsHeld', partCount)],
  LOGO: [field('sessionId', sessionId)],
  ALOG: [field('partsOwned', number(10))],
  NLOG: [field('partsDown', number(10))],
  // Peer to peer.
  RETP: [field('md5', md5), field('part', partIndex)],
  AREP: [field('chunks', list(number(6), [field('data', sizedBytes(chunkLength))] as const))],
  QUER: [
    field('pktId', pktId),
    field('address', ipp2p),
    field('port', port),
    field('ttl', number(2)),
    field('query', query),
  ],
  AQUE: [
    field('pktId', pktId),
    field('address', ipp2p),
    field('port', port),
    field('md5', md5),
    field('fileName', listedName),
  ],
} as const;

export type Command = keyof typeof MESSAGES;
export type MessageOf<C extends Command> = { command: C } & LayoutValue<(typeof MESSAGES)[C]>;
export type Message = { [C in Command]: MessageOf<C> }[Command];

export const COMMANDS = Object.keys(MESSAGES) as Command[];

/** What a tracker accepts, and what its clients may get back. */
export const TRACKER_REQUESTS = ['LOGI', 'ADDR', 'LOOK', 'FCHU', 'RPAD', 'LOGO'] as const satisfies readonly Command[];
export const TRACKER_REPLIES = ['ALGI', 'AADR', 'ALOO', 'AFCH', 'APAD', 'ALOG', 'NLOG'] as const satisfies readonly Command[];
/** What a peer's listener accepts: part requests, flooded queries, and answers to our own queries. */
export const PEER_REQUESTS = ['RETP', 'QUER', 'AQUE'] as const satisfies readonly Command[];

/** Largest chunk an AREP may carry. */
export const MAX_CHUNK = 99_999;
/** The "login failed" SessionID. */
export const NULL_SESSION = '0000000000000000';
/** Default ports and part size. */
export const DEFAULT_TRACKER_PORT = 3000;
export const DEFAULT_PEER_PORT = 5000;
export const DEFAULT_PART_LENGTH = 262_144;
/** Upper bounds of the count fields: replies never carry more entries than these. */
export const MAX_LIST_ENTRIES = 999;
export const MAX_PART_COUNT = 99_999_999;
export const MAX_FILE_LENGTH = 9_999_999_999;
/**
 * Largest ALOG #partown / NLOG #partdown (10 digits). These are sums over a
 * peer's files, so unlike a list they cannot be cut short truthfully: the
 * tracker refuses the ADDR or RPAD that would take a peer's parts past it.
 */
export const MAX_PARTS_HELD = 10 ** MESSAGES.ALOG[0].codec.width - 1;
