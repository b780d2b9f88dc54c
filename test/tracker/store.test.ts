/** The shared Store suite, run against both stores. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MemoryData, MemoryStore } from '../../src/tracker/memory-store.js';
import { Registry } from '../../src/tracker/registry.js';
import { SCHEMA_VERSION, SqliteStore } from '../../src/tracker/sqlite-store.js';
import { storeSuite } from './store-suite.js';

storeSuite('memory', {
  fresh() {
    const data = new MemoryData();
    return () => new MemoryStore(data);
  },
});

const dir = mkdtempSync(join(tmpdir(), 'bugtorrent-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
storeSuite('sqlite', {
  fresh() {
    const path = join(dir, `store-${++n}.db`);
    return () => new SqliteStore(path);
  },
});

test('a database of schema version 1 (before last-seen times) opens, is upgraded, and works', async () => {
  const { default: Database } = await import('better-sqlite3');
  const path = join(dir, 'version-1.db');
  // The tables exactly as version 1 of the tracker created them.
  const old = new Database(path);
  old.exec(`
    CREATE TABLE sessions (id TEXT PRIMARY KEY, ip4 TEXT NOT NULL, ip6 TEXT NOT NULL, port INTEGER NOT NULL, since INTEGER NOT NULL);
    CREATE TABLE files (seq INTEGER PRIMARY KEY AUTOINCREMENT, md5 TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
      length INTEGER NOT NULL, part_length INTEGER NOT NULL, parts INTEGER NOT NULL);
    CREATE TABLE ownership (session_id TEXT NOT NULL, md5 TEXT NOT NULL, bitmap BLOB NOT NULL, PRIMARY KEY (session_id, md5));
    CREATE TABLE adders (session_id TEXT NOT NULL, md5 TEXT NOT NULL, PRIMARY KEY (session_id, md5)) WITHOUT ROWID;
    PRAGMA user_version = 1;
    INSERT INTO sessions VALUES ('AAAAAAAAAAAAAAAA', '10.0.0.1', 'fd99:0000:0000:0000:0000:0000:0000:0001', 5000, 1000);
    INSERT INTO files (md5, name, length, part_length, parts) VALUES ('${'a'.repeat(32)}', 'old.bin', 300, 100, 3);
    INSERT INTO ownership VALUES ('AAAAAAAAAAAAAAAA', '${'a'.repeat(32)}', x'e0');
    INSERT INTO adders VALUES ('AAAAAAAAAAAAAAAA', '${'a'.repeat(32)}');
  `);
  old.close();

  const store = new SqliteStore(path);
  const state = store.load();
  assert.deepEqual(state.sessions, [
    { id: 'AAAAAAAAAAAAAAAA', ip4: '10.0.0.1', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0001', port: 5000, since: 1000, lastSeen: 1000 },
  ]);
  assert.equal(state.files[0]?.fileName, 'old.bin');
  assert.equal(state.ownership[0]?.bitmap.toString('hex'), 'e0');
  // A registry on it serves the old state and records new last-seen times.
  let clock = 9_000;
  const registry = new Registry({ store, now: () => clock });
  assert.equal(registry.fetch('AAAAAAAAAAAAAAAA', 'a'.repeat(32))?.holders().length, 1);
  clock = 9_500;
  registry.login({ ip4: '10.0.0.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' }, 5000);
  registry.flushSeen();
  store.close();

  const reopened = new SqliteStore(path);
  assert.deepEqual(reopened.load().sessions.map((s) => [s.id, s.lastSeen]).slice(0, 1), [['AAAAAAAAAAAAAAAA', 9_000]]);
  assert.equal(reopened.load().sessions.length, 2);
  reopened.close();
  const check = new Database(path, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  check.close();
});

test('a database of a newer schema version is refused, untouched', async () => {
  const { default: Database } = await import('better-sqlite3');
  const path = join(dir, 'future.db');
  const future = new Database(path);
  future.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  future.close();
  assert.throws(() => new SqliteStore(path), /newer than this tracker's/);
  const check = new Database(path, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
  check.close();
});
