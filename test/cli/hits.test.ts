/** What the user does with hits, pure: the numbered list, `get N`, `quer TEXT [ttl]`, the tracker lookup by name. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError, isBugTorrentError } from '../../src/errors.js';
import { expandIPv6 } from '../../src/protocol/address.js';
import { formatHitList, groupHits, parseQuerCommand, resolveHitRef } from '../../src/cli/peer/hits.js';
import { lookupHit, trackerQueryFor } from '../../src/peer/flood/hits.js';
import type { Hit } from '../../src/peer/flood/plan.js';

const md5Of = (n: number): string => n.toString(16).padStart(32, '0');
const hit = (n: number, name: string, host: number, port = 5000): Hit => ({
  pktId: 'ABCDEF0123456789',
  md5: md5Of(n),
  name,
  ip4: `10.0.0.${host}`,
  ip6: expandIPv6('fd00::1'),
  port,
});

test('hits are grouped by md5 in arrival order, with every peer that has it', () => {
  const groups = groupHits([hit(1, 'a.txt', 2), hit(2, 'b.txt', 3), hit(1, 'a.txt', 4), hit(1, 'a.txt', 2)]);
  assert.deepEqual(groups, [
    { md5: md5Of(1), name: 'a.txt', holders: ['10.0.0.2:5000', '10.0.0.4:5000'] },
    { md5: md5Of(2), name: 'b.txt', holders: ['10.0.0.3:5000'] },
  ]);
  assert.equal(
    formatHitList(groups),
    [`1. a.txt  ${md5Of(1)}  at 2 peers: 10.0.0.2:5000, 10.0.0.4:5000`, `2. b.txt  ${md5Of(2)}  at 10.0.0.3:5000`].join('\n'),
  );
  assert.equal(formatHitList([]), 'no hits');
});

test('get N and get MD5 resolve against the last list; bad references are ArgumentErrors', () => {
  const groups = groupHits([hit(1, 'a.txt', 2), hit(2, 'b.txt', 3)]);
  assert.deepEqual(resolveHitRef('2', groups), { md5: md5Of(2), name: 'b.txt' });
  assert.deepEqual(resolveHitRef(md5Of(1).toUpperCase(), groups), { md5: md5Of(1), name: 'a.txt' });
  assert.deepEqual(resolveHitRef(md5Of(9), groups), { md5: md5Of(9), name: null }, 'an md5 not among the hits: a plain download');
  assert.throws(() => resolveHitRef('3', groups), (e: unknown) => e instanceof ArgumentError && /1\.\.2/.test(e.message));
  assert.throws(() => resolveHitRef('0', groups), ArgumentError);
  assert.throws(() => resolveHitRef('1', []), /no search/);
  assert.throws(() => resolveHitRef('xyz', groups), /usage/);
});

test('quer TEXT [ttl]: a trailing number is the TTL; the text is validated like --quer', () => {
  assert.deepEqual(parseQuerCommand('song', 4), { text: 'song', ttl: 4 });
  assert.deepEqual(parseQuerCommand(' annual report  2 ', 4), { text: 'annual report', ttl: 2 });
  assert.deepEqual(parseQuerCommand('2025', 4), { text: '2025', ttl: 4 }, 'a number alone is the text');
  assert.deepEqual(parseQuerCommand('*', 3), { text: '*', ttl: 3 });
  assert.throws(() => parseQuerCommand('song 0', 4), /TTL 0/);
  assert.throws(() => parseQuerCommand('', 4), /usage/);
  assert.throws(() => parseQuerCommand('x'.repeat(21), 4), /20 bytes/);
});

test('the LOOK query for a name is its first 20 bytes, never half a character', () => {
  assert.equal(trackerQueryFor('  report.pdf '), 'report.pdf');
  assert.equal(trackerQueryFor('a'.repeat(30)), 'a'.repeat(20));
  assert.equal(trackerQueryFor('é'.repeat(15)), 'é'.repeat(10));
  assert.equal(trackerQueryFor(`${'x'.repeat(19)}é`), 'x'.repeat(19));
  assert.equal(trackerQueryFor('annual report 2025 final.pdf'), 'annual report 2025 f');
  assert.equal(trackerQueryFor('nineteen characters them'), 'nineteen characters', 'a cut ending in a space drops it');
  assert.equal(trackerQueryFor('   '), '*');
});

test('lookupHit: LOOK by name and pick the md5; else every file; else BT_UNKNOWN_FILE', async () => {
  const file = (n: number, fileName: string) => ({ md5: md5Of(n), fileName, fileLength: 10 * n, partLength: 4 });
  const asked: string[] = [];
  const tracker = (files: ReturnType<typeof file>[]) => async (q: string) => {
    asked.push(q);
    return q === '*' ? files : files.filter((f) => f.fileName.toLowerCase().includes(q.toLowerCase()));
  };
  const files = [file(1, 'report.pdf'), file(2, 'report.pdf'), file(3, 'renamed.bin')];
  assert.deepEqual(await lookupHit(tracker(files), md5Of(2), 'REPORT.pdf'), file(2, 'report.pdf'));
  assert.deepEqual(asked, ['REPORT.pdf']);
  asked.length = 0;
  assert.deepEqual(await lookupHit(tracker(files), md5Of(3), 'old name.bin'), file(3, 'renamed.bin'), 'renamed at the tracker');
  assert.deepEqual(asked, ['old name.bin', '*']);
  await assert.rejects(
    lookupHit(tracker(files), md5Of(7), 'report.pdf'),
    (e: unknown) => isBugTorrentError(e) && e.code === 'BT_UNKNOWN_FILE' && /report\.pdf/.test(e.message),
  );
});
