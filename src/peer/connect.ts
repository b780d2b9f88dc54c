/**
 * Outgoing connections bound to our announced address (so the other side can
 * tell who is asking), and one-request-per-connection exchanges (or several
 * requests pipelined in one write) framed by the codec's MessageReader.
 */
import { type OnReadOpts, type Socket, connect } from 'node:net';
import { ErrorCode, RemoteError } from '../errors.js';
import {
  type Command,
  type DecodeContext,
  type Message,
  MessageReader,
  encodeMessage,
  formatHostPort,
} from '../protocol/index.js';

export interface LocalAddresses {
  /** Plain dotted IPv4 to bind IPv4 connections to. */
  readonly ip4?: string;
  /** IPv6 to bind IPv6 connections to. */
  readonly ip6?: string;
}

/**
 * The local address to bind a connection to `host` to: IPv6 for an IPv6 literal. A colon
 * is enough to tell (IPv4 literals and host names have none) and is called for every
 * connection, where net.isIPv6's regular expression showed in a swarm's profile.
 */
export function localAddressFor(host: string, local: LocalAddresses): string | undefined {
  return host.includes(':') ? local.ip6 : local.ip4;
}

/**
 * Connects; resolves once connected, rejects with a typed CONNECTION/TIMEOUT
 * error. An announced address that is not configured here (EADDRNOTAVAIL, e.g.
 * behind NAT) cannot be bound: then the connection goes out unbound.
 */
export async function openConnection(host: string, port: number, local: LocalAddresses, timeoutMs: number, onread?: OnReadOpts): Promise<Socket> {
  const bind = localAddressFor(host, local);
  try {
    return await connectOnce(host, port, bind, timeoutMs, onread);
  } catch (err) {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    if (bind === undefined || cause?.code !== 'EADDRNOTAVAIL') throw err;
    return connectOnce(host, port, undefined, timeoutMs, onread);
  }
}

/**
 * `onread`: the socket reads into the caller's buffer and calls back (no
 * 'data' events, no fresh buffer per read); see net.connect.
 */
function connectOnce(host: string, port: number, localAddress: string | undefined, timeoutMs: number, onread: OnReadOpts | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress, noDelay: true, ...(onread ? { onread } : {}) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RemoteError(ErrorCode.TIMEOUT, `connecting to ${formatHostPort(host, port)} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new RemoteError(ErrorCode.CONNECTION, `cannot connect to ${formatHostPort(host, port)}: ${err.message}`, { cause: err }));
    });
  });
}

export interface RequestOptions {
  readonly accept: readonly Command[];
  readonly context?: DecodeContext;
  readonly timeoutMs: number;
  readonly local: LocalAddresses;
}

/**
 * One request on one connection: connect, one write of the whole request, read
 * one reply, close. A close without a reply is BT_NO_REPLY, silence BT_TIMEOUT.
 */
export async function requestOnce(host: string, port: number, request: Message, options: RequestOptions): Promise<Message> {
  const [reply] = await requestMany(host, port, [request], options);
  return reply as Message;
}

/**
 * Several requests pipelined on one connection, in one write (our servers
 * answer every complete request received, then close: PROTOCOL.md, Framing).
 * Resolves with the replies in order, as many as came before the server
 * closed, went silent or sent something unreadable: a server that answers one
 * request per connection (other implementations) gives one reply or none, so
 * fewer replies than requests is an answer, not an error. Rejects only when no
 * reply came at all: BT_NO_REPLY on a close, BT_TIMEOUT on silence.
 */
export async function requestMany(host: string, port: number, requests: readonly Message[], options: RequestOptions): Promise<Message[]> {
  const first = requests[0];
  if (!first) return [];
  const bytes = requests.length === 1 ? encodeMessage(first) : Buffer.concat(requests.map((r) => encodeMessage(r)));
  const named = requests.length === 1 ? first.command : `${requests.length} pipelined ${first.command}s`;
  const socket = await openConnection(host, port, options.local, options.timeoutMs);
  const where = formatHostPort(host, port);
  return new Promise<Message[]>((resolve, reject) => {
    const reader = new MessageReader({ accept: options.accept, context: () => options.context ?? {} });
    const replies: Message[] = [];
    let settled = false;
    const finish = (failure: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (failure && replies.length === 0) reject(failure);
      else resolve(replies);
    };
    const timer = setTimeout(
      () => finish(new RemoteError(ErrorCode.TIMEOUT, `${where} did not answer ${named} within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of reader.push(chunk)) {
          if (replies.length < requests.length) replies.push(message);
        }
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (replies.length === requests.length) finish(null);
    });
    // After the replies these fire on our own destroy: build no error (a stack trace each) then.
    socket.on('error', (err) => { if (!settled) finish(new RemoteError(ErrorCode.CONNECTION, `${where}: ${err.message}`, { cause: err })); });
    socket.on('close', () => {
      if (!settled) finish(new RemoteError(ErrorCode.NO_REPLY, `${where} closed the connection without answering ${named} (bad session, bad request, or refused)`));
    });
    socket.write(bytes);
  });
}
