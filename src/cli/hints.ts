/**
 * Start-up failures said in one sentence, with what to do about them: a busy
 * port names the port and the flag that changes it. No stack traces: these
 * are ordinary situations, not bugs.
 */
import { ErrorCode, isBugTorrentError } from '../errors.js';

function errnoOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && e.code.startsWith('E')) return e.code;
  }
  return undefined;
}

/** `what` could not listen on host:port: the sentence to print. */
export function listenFailure(err: unknown, what: string, where: { host?: string | undefined; port: number }, flag: string): string {
  const at = `${where.host ?? 'every address'} port ${where.port}`;
  switch (errnoOf(err)) {
    case 'EADDRINUSE':
      return `${what}: port ${where.port} is already in use on ${where.host ?? 'this host'} (another ${what.split(' ')[1] ?? 'program'} running?); choose another with ${flag} PORT, or ${flag} 0 for any free one`;
    case 'EACCES':
      return `${what}: not allowed to listen on ${at} (ports below 1024 need privileges); choose another with ${flag} PORT`;
    case 'EADDRNOTAVAIL':
      return `${what}: ${where.host ?? 'the address'} is not an address of this host; choose one it has`;
    default:
      return `${what}: cannot listen on ${at}: ${(err as Error)?.message ?? String(err)}`;
  }
}

/** True when a peer's start failed because its listener could not bind. */
export function isListenFailure(err: unknown): boolean {
  return isBugTorrentError(err) && err.code === ErrorCode.LISTEN_FAILED;
}
