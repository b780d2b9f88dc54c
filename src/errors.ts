/**
 * Every error BugTorrent raises on purpose, in one place, each with a stable
 * `code` that logs, tests and callers can match on (the message text may change,
 * the code may not).
 */

export const ErrorCode = {
  // Wire format: a message that cannot be decoded or encoded.
  SHORT_MESSAGE: 'BT_SHORT_MESSAGE',
  LONG_MESSAGE: 'BT_LONG_MESSAGE',
  BAD_NUMBER: 'BT_BAD_NUMBER',
  OUT_OF_RANGE: 'BT_OUT_OF_RANGE',
  BAD_HEX: 'BT_BAD_HEX',
  BAD_ADDRESS: 'BT_BAD_ADDRESS',
  BAD_TEXT: 'BT_BAD_TEXT',
  BAD_BITMAP: 'BT_BAD_BITMAP',
  UNKNOWN_COMMAND: 'BT_UNKNOWN_COMMAND',
  UNEXPECTED_COMMAND: 'BT_UNEXPECTED_COMMAND',
  BUFFER_LIMIT: 'BT_BUFFER_LIMIT',
  // Tracker semantics: a well-formed request the tracker refuses.
  UNKNOWN_SESSION: 'BT_UNKNOWN_SESSION',
  UNKNOWN_FILE: 'BT_UNKNOWN_FILE',
  PART_OUT_OF_RANGE: 'BT_PART_OUT_OF_RANGE',
  FILE_MISMATCH: 'BT_FILE_MISMATCH',
  LIMIT_EXCEEDED: 'BT_LIMIT_EXCEEDED',
  // Talking to a remote: connection-level failures.
  NO_REPLY: 'BT_NO_REPLY',
  TIMEOUT: 'BT_TIMEOUT',
  CONNECTION: 'BT_CONNECTION',
  LOGIN_FAILED: 'BT_LOGIN_FAILED',
  /** The tracker closed without a reply to an ADDR: it refused to register the file. */
  ADD_REFUSED: 'BT_ADD_REFUSED',
  /** A LOOK `*` reply is full (999 entries, the most the count field holds): it may hide the file looked for. */
  LIST_FULL: 'BT_LIST_FULL',
  // Peer: files and downloads.
  NOT_HELD: 'BT_NOT_HELD',
  CORRUPT: 'BT_CORRUPT',
  UNVERIFIED: 'BT_UNVERIFIED',
  UNSAFE_NAME: 'BT_UNSAFE_NAME',
  BAD_STATE: 'BT_BAD_STATE',
  /** The peer cannot listen on an announced address/port. */
  LISTEN_FAILED: 'BT_LISTEN_FAILED',
  // Disk and folders (DiskError): the download stops, its state is kept for a resume.
  DISK_FULL: 'BT_DISK_FULL',
  READ_ONLY: 'BT_READ_ONLY',
  NO_PERMISSION: 'BT_NO_PERMISSION',
  NO_SUCH_PATH: 'BT_NO_SUCH_PATH',
  NOT_A_FOLDER: 'BT_NOT_A_FOLDER',
  NOT_A_FILE: 'BT_NOT_A_FILE',
  DISK: 'BT_DISK',
  /** A --on-complete command failed (reported, never fatal). */
  HOOK_FAILED: 'BT_HOOK_FAILED',
  /** A port or address this program must listen on is taken. */
  ADDRESS_IN_USE: 'BT_ADDRESS_IN_USE',
  // Command line / configuration.
  BAD_ARGUMENT: 'BT_BAD_ARGUMENT',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class BugTorrentError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A message that breaks the wire format. Servers close the connection on it. */
export class ProtocolError extends BugTorrentError {}

export class ShortMessageError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.SHORT_MESSAGE, message); }
}
export class LongMessageError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.LONG_MESSAGE, message); }
}
export class BadNumberError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.BAD_NUMBER, message); }
}
export class OutOfRangeError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.OUT_OF_RANGE, message); }
}
export class BadHexError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.BAD_HEX, message); }
}
export class BadAddressError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.BAD_ADDRESS, message); }
}
export class BadTextError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.BAD_TEXT, message); }
}
export class BadBitmapError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.BAD_BITMAP, message); }
}
export class UnknownCommandError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.UNKNOWN_COMMAND, message); }
}
/** A known command arriving where it has no meaning (e.g. a reply sent to a server). */
export class UnexpectedCommandError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.UNEXPECTED_COMMAND, message); }
}
export class BufferLimitError extends ProtocolError {
  constructor(message: string) { super(ErrorCode.BUFFER_LIMIT, message); }
}

/** A well-formed request the tracker cannot serve; the connection is closed without a reply. */
export class RequestRefusedError extends BugTorrentError {}

/** A remote closed without a reply, timed out, or could not be reached. */
export class RemoteError extends BugTorrentError {}

/** Local file or download state problems. */
export class FileError extends BugTorrentError {}

/** A file or folder operation failed; `path` is what it was about, `errno` the system's code. */
export class DiskError extends FileError {
  constructor(code: ErrorCodeValue, message: string, readonly path: string, readonly errno?: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const DISK_CODES: Record<string, [ErrorCodeValue, string]> = {
  ENOSPC: [ErrorCode.DISK_FULL, 'no space left on the device'],
  EDQUOT: [ErrorCode.DISK_FULL, 'disk quota exceeded'],
  EROFS: [ErrorCode.READ_ONLY, 'the file system is read-only'],
  EACCES: [ErrorCode.NO_PERMISSION, 'permission denied'],
  EPERM: [ErrorCode.NO_PERMISSION, 'operation not permitted'],
  ENOENT: [ErrorCode.NO_SUCH_PATH, 'no such file or folder'],
  ENOTDIR: [ErrorCode.NOT_A_FOLDER, 'a part of the path is not a folder'],
  EEXIST: [ErrorCode.NOT_A_FOLDER, 'exists and is not a folder'],
  EISDIR: [ErrorCode.NOT_A_FILE, 'is a folder, not a file'],
};

/**
 * A system error from the file system as a DiskError that says what we were
 * doing, where, and why in words (`cannot write /d/x: no space left on the
 * device (ENOSPC)`). A BugTorrentError passes through unchanged.
 */
export function diskError(err: unknown, action: string, path: string): BugTorrentError {
  if (err instanceof BugTorrentError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const known = errno ? DISK_CODES[errno] : undefined;
  const why = known ? `${known[1]} (${errno})` : (err as Error | undefined)?.message ?? String(err);
  return new DiskError(known ? known[0] : ErrorCode.DISK, `cannot ${action} ${path}: ${why}`, path, errno, { cause: err });
}

/** A bad command-line value or configuration. */
export class ArgumentError extends BugTorrentError {
  constructor(message: string) { super(ErrorCode.BAD_ARGUMENT, message); }
}

export function isBugTorrentError(err: unknown): err is BugTorrentError {
  return err instanceof BugTorrentError;
}
