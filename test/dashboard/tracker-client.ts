/** A minimal tracker client for the dashboard tests: one request per connection, as other peers do. */
import { TRACKER_REPLIES, type Message, encodeMessage } from '../../src/protocol/index.js';
import { exchange } from '../support/net.js';

export async function ask(port: number, request: Message): Promise<Message> {
  const r = await exchange('127.0.0.1', port, encodeMessage(request), { accept: TRACKER_REPLIES });
  if (!r.message) throw new Error(`${request.command}: the tracker closed without a reply`);
  return r.message;
}

export async function login(port: number, ip4: string, ip6: string, peerPort: number): Promise<string> {
  const m = await ask(port, { command: 'LOGI', address: { ip4, ip6 }, port: peerPort });
  if (m.command !== 'ALGI') throw new Error(`LOGI got ${m.command}`);
  return m.sessionId;
}

export async function addFile(port: number, sessionId: string, md5: string, fileName: string, fileLength: number, partLength: number): Promise<number> {
  const m = await ask(port, { command: 'ADDR', sessionId, fileLength, partLength, fileName, md5 });
  if (m.command !== 'AADR') throw new Error(`ADDR got ${m.command}`);
  return m.parts;
}

export async function reportPart(port: number, sessionId: string, md5: string, part: number): Promise<number> {
  const m = await ask(port, { command: 'RPAD', sessionId, md5, part });
  if (m.command !== 'APAD') throw new Error(`RPAD got ${m.command}`);
  return m.partsHeld;
}
