/**
 * The Registry against a naive model (plain sets, no bitmaps), over random
 * sequences of LOGI / ADDR / RPAD / LOGO, with both stores; after each sequence
 * a Registry rebuilt from the store must describe the same state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { RequestRefusedError } from '../../src/errors.js';
import { partsOf } from '../../src/protocol/index.js';
import { MemoryData, MemoryStore } from '../../src/tracker/memory-store.js';
import { Registry } from '../../src/tracker/registry.js';
import { SqliteStore } from '../../src/tracker/sqlite-store.js';
import type { Store } from '../../src/tracker/store.js';

const PEERS = 4;
const FILES = [
  { md5: '1'.repeat(32), fileLength: 5, partLength: 1 },
  { md5: '2'.repeat(32), fileLength: 9, partLength: 4 },
  { md5: '3'.repeat(32), fileLength: 17, partLength: 2 },
];
const partsOfFile = (f: number) => Math.ceil(FILES[f]!.fileLength / FILES[f]!.partLength);

type Op =
  | { op: 'login'; peer: number }
  | { op: 'add'; peer: number; file: number }
  | { op: 'rpad'; peer: number; file: number; part: number }
  | { op: 'logout'; peer: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('login' as const), peer: fc.nat(PEERS - 1) }),
  fc.record({ op: fc.constant('add' as const), peer: fc.nat(PEERS - 1), file: fc.nat(FILES.length - 1) }),
  fc.record({ op: fc.constant('rpad' as const), peer: fc.nat(PEERS - 1), file: fc.nat(FILES.length - 1), part: fc.nat(9) }),
  fc.record({ op: fc.constant('logout' as const), peer: fc.nat(PEERS - 1) }),
);

/** The rules, written as plainly as possible. */
class Model {
  /** peer → held parts per file; present while logged in. */
  held = new Map<number, Map<number, Set<number>>>();
  added = new Map<number, Set<number>>();
  known = new Set<number>();

  run(o: Op): unknown {
    const inSession = this.held.has(o.peer);
    switch (o.op) {
      case 'login':
        if (!inSession) {
          this.held.set(o.peer, new Map());
          this.added.set(o.peer, new Set());
        }
        return 'ok';
      case 'add': {
        if (!inSession) return 'refused';
        this.known.add(o.file);
        this.held.get(o.peer)!.set(o.file, new Set(Array.from({ length: partsOfFile(o.file) }, (_, i) => i)));
        this.added.get(o.peer)!.add(o.file);
        return partsOfFile(o.file);
      }
      case 'rpad': {
        if (!inSession || !this.known.has(o.file) || o.part >= partsOfFile(o.file)) return 'refused';
        const mine = this.held.get(o.peer)!;
        if (!mine.has(o.file)) mine.set(o.file, new Set());
        mine.get(o.file)!.add(o.part);
        return mine.get(o.file)!.size;
      }
      case 'logout': {
        if (!inSession) return 'refused';
        let unique = false;
        let down = 0;
        for (const f of this.added.get(o.peer)!) {
          const others = new Set<number>();
          for (const [p, files] of this.held) if (p !== o.peer) for (const part of files.get(f) ?? []) others.add(part);
          down += others.size;
          for (const part of this.held.get(o.peer)!.get(f) ?? []) if (!others.has(part)) unique = true;
        }
        if (unique) return { accepted: false, partsDown: down };
        let owned = 0;
        for (const parts of this.held.get(o.peer)!.values()) owned += parts.size;
        this.held.delete(o.peer);
        this.added.delete(o.peer);
        return { accepted: true, partsOwned: owned };
      }
    }
  }
}

const address = (p: number) => ({ ip4: `10.0.0.${p + 1}`, ip6: `fd99:0000:0000:0000:0000:0000:0000:000${p + 1}` });

function runReal(r: Registry, sessions: Map<number, string>, o: Op): unknown {
  try {
    switch (o.op) {
      case 'login':
        sessions.set(o.peer, r.login(address(o.peer), 5000).sessionId);
        return 'ok';
      case 'add': {
        const f = FILES[o.file]!;
        return r.add(sessions.get(o.peer) ?? 'FFFFFFFFFFFFFFFF', f.fileLength, f.partLength, `file ${o.file}`, f.md5).parts;
      }
      case 'rpad':
        return r.reportPart(sessions.get(o.peer) ?? 'FFFFFFFFFFFFFFFF', FILES[o.file]!.md5, o.part).partsHeld;
      case 'logout': {
        const result = r.logout(sessions.get(o.peer) ?? 'FFFFFFFFFFFFFFFF');
        if (result.accepted) sessions.delete(o.peer);
        return result;
      }
    }
  } catch (err) {
    if (err instanceof RequestRefusedError) return 'refused';
    throw err;
  }
}

function holdersOf(r: Registry, sessions: Map<number, string>): string[] {
  const peerOf = new Map([...sessions].map(([p, id]) => [id, p]));
  const out: string[] = [];
  FILES.forEach((f, i) => {
    for (const h of r.holders(f.md5)) out.push(`${i}:${peerOf.get(h.sessionId)}:${partsOf(h.bitmap, partsOfFile(i)).join(',')}`);
  });
  return out.sort();
}

function modelHolders(m: Model): string[] {
  const out: string[] = [];
  for (const [p, files] of m.held) for (const [f, parts] of files) if (parts.size > 0) out.push(`${f}:${p}:${[...parts].sort((a, b) => a - b).join(',')}`);
  return out.sort();
}

const dir = mkdtempSync(join(tmpdir(), 'bugtorrent-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let dbs = 0;

for (const kind of ['memory', 'sqlite'] as const) {
  test(`the Registry follows the model over random request sequences (${kind} store, then reloaded)`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        let open: () => Store;
        if (kind === 'memory') {
          const data = new MemoryData();
          open = () => new MemoryStore(data);
        } else {
          const path = join(dir, `m${++dbs}.db`);
          open = () => new SqliteStore(path);
        }
        const store = open();
        const real = new Registry({ store });
        const model = new Model();
        const sessions = new Map<number, string>();
        for (const o of ops) assert.deepEqual(runReal(real, sessions, o), model.run(o), JSON.stringify(o));
        assert.deepEqual(holdersOf(real, sessions), modelHolders(model));
        // As the tracker does on close: last-seen times are written in batches.
        real.flushSeen();
        store.close();
        const again = open();
        const reloaded = new Registry({ store: again });
        assert.deepEqual(holdersOf(reloaded, sessions), modelHolders(model));
        assert.deepEqual(reloaded.files(), real.files());
        assert.deepEqual(reloaded.peers(), real.peers());
        again.close();
      }),
      { numRuns: kind === 'memory' ? 300 : 60 },
    );
  });
}
