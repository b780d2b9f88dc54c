/** The shared Store suite, run against both stores. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { MemoryData, MemoryStore } from '../../src/tracker/memory-store.js';
import { SqliteStore } from '../../src/tracker/sqlite-store.js';
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
