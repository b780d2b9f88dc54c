/** HTTP, SSE and fake-tracker helpers for the dashboard tests. */
import { request } from 'node:http';
import type { FileView, HolderView, PeerView, TrackerView } from '../../src/tracker/events.js';
import { bitmapFromParts, countParts, fullBitmap, partCountOf } from '../../src/protocol/bitfield.js';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function get(port: number, path: string, options: { method?: string; headers?: Record<string, string>; host?: string } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: options.host ?? '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

export async function getJson<T = Record<string, unknown>>(port: number, path: string): Promise<T> {
  const r = await get(port, path);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as T;
}

export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

/** An EventSource-like reader over node:http: collects messages, lets a test wait for one. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  private buffer = '';
  private waiters: { match: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] = [];
  private readonly req: ReturnType<typeof request>;
  readonly opened: Promise<void>;

  constructor(port: number, path = '/api/stream', headers: Record<string, string> = {}) {
    this.req = request({ host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers }, agent: false });
    this.opened = new Promise((resolve, reject) => {
      this.req.on('response', (res) => {
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (c: string) => this.feed(c));
        res.on('error', () => undefined);
        resolve();
      });
      this.req.on('error', reject);
    });
    this.req.end();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const msg: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) { this.comments.push(line); continue; }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        any = true;
        if (field === 'event') msg.event = value;
        else if (field === 'id') msg.id = value;
        else if (field === 'data') data.push(value);
      }
      if (!any || data.length === 0) continue;
      msg.data = data.join('\n');
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(msg)) return true;
        w.resolve(msg);
        return false;
      });
    }
  }

  /** Resolves with the first message (already received or to come) that matches. */
  waitFor(match: (m: SseMessage) => boolean, timeoutMs = 10_000): Promise<SseMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching SSE message in ${timeoutMs} ms; got ${this.messages.length}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  close(): void {
    this.req.destroy();
  }
}

/** A TrackerView over plain maps, driven by the test (until a real tracker is started). */
export class FakeView implements TrackerView {
  readonly peerMap = new Map<string, PeerView>();
  readonly fileMap = new Map<string, Omit<FileView, 'holders' | 'completeCopies'>>();
  readonly bitmaps = new Map<string, Map<string, Buffer>>(); // md5 -> sessionId -> bitmap
  failing = false;

  login(sessionId: string, ip4: string, port: number, since = Date.now()): void {
    const last = ip4.split('.').pop() as string;
    this.peerMap.set(sessionId, { sessionId, address: { ip4, ip6: `fd99:0000:0000:0000:0000:0000:0000:${Number(last).toString(16).padStart(4, '0')}` }, port, since, lastSeen: since, partsHeld: 0 });
  }

  add(sessionId: string, md5: string, fileName: string, fileLength: number, partLength: number): void {
    const parts = partCountOf(fileLength, partLength);
    if (!this.fileMap.has(md5)) this.fileMap.set(md5, { md5, fileName, fileLength, partLength, parts });
    const holders = this.bitmaps.get(md5) ?? new Map<string, Buffer>();
    holders.set(sessionId, fullBitmap(parts));
    this.bitmaps.set(md5, holders);
    this.recount(sessionId);
  }

  part(sessionId: string, md5: string, part: number): number {
    const file = this.fileMap.get(md5);
    if (!file) throw new Error('unknown file');
    const holders = this.bitmaps.get(md5) as Map<string, Buffer>;
    const bm = holders.get(sessionId) ?? bitmapFromParts(file.parts, []);
    bm[part >> 3] = (bm[part >> 3] as number) | (0x80 >> (part & 7));
    holders.set(sessionId, bm);
    this.recount(sessionId);
    return countParts(bm);
  }

  logout(sessionId: string): void {
    this.peerMap.delete(sessionId);
    for (const h of this.bitmaps.values()) h.delete(sessionId);
  }

  private recount(sessionId: string): void {
    const p = this.peerMap.get(sessionId);
    if (!p) return;
    let n = 0;
    for (const h of this.bitmaps.values()) n += countParts(h.get(sessionId) ?? Buffer.alloc(0));
    this.peerMap.set(sessionId, { ...p, partsHeld: n });
  }

  files(): FileView[] {
    if (this.failing) throw new Error('view is broken');
    return [...this.fileMap.values()].map((f) => {
      const hs = [...(this.bitmaps.get(f.md5)?.values() ?? [])];
      let copies = hs.length ? Infinity : 0;
      for (let i = 0; i < f.parts; i++) copies = Math.min(copies, hs.filter((b) => ((b[i >> 3] as number) >> (7 - (i & 7))) & 1).length);
      return { ...f, holders: hs.filter((b) => countParts(b) > 0).length, completeCopies: Number.isFinite(copies) ? copies : 0 };
    });
  }

  peers(): PeerView[] {
    if (this.failing) throw new Error('view is broken');
    return [...this.peerMap.values()];
  }

  holders(md5: string): HolderView[] {
    if (this.failing) throw new Error('view is broken');
    const out: HolderView[] = [];
    for (const [sessionId, bitmap] of this.bitmaps.get(md5) ?? []) {
      const p = this.peerMap.get(sessionId);
      if (p && countParts(bitmap) > 0) out.push({ sessionId, address: p.address, port: p.port, bitmap });
    }
    return out;
  }
}
