import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { matchesQuery, md5Query } from '../../src/protocol/query.js';
import { newPktId, pktIdKey } from '../../src/peer/flood/pktid.js';

test('matching is LOOK matching: `*` alone for all, else a literal case-insensitive substring of the trimmed query', () => {
  assert.equal(matchesQuery('*', 'anything.txt'), true);
  assert.equal(matchesQuery('  *  ', ''), true);
  assert.equal(matchesQuery('SONG', 'my song.mp3'), true);
  assert.equal(matchesQuery('  song ', 'My SONG.mp3'), true);
  assert.equal(matchesQuery('so*ng', 'song'), false, '* inside a query is literal');
  assert.equal(matchesQuery('so*ng', 'a so*ng'), true);
  assert.equal(matchesQuery('%', 'abc'), false);
  assert.equal(matchesQuery('_', 'a_b'), true);
  assert.equal(matchesQuery('', 'abc'), true, 'an empty query is the empty substring (the flood refuses it earlier)');
  assert.equal(matchesQuery('song two', 'song  two'), false, 'inner spaces are literal');
  assert.equal(matchesQuery('ÉTÉ', 'photos été 2025'), true);
});

test('matching agrees with a substring model', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 30 }), (q, name) => {
      const t = q.replace(/^ +| +$/g, '');
      const expected = t === '*' ? true : name.toLowerCase().includes(t.toLowerCase());
      assert.equal(matchesQuery(q, name), expected);
      if (t !== '' && t !== '*') assert.equal(matchesQuery(q, `x${t.toUpperCase()}y`), `x${t.toUpperCase()}y`.toLowerCase().includes(t.toLowerCase()));
    }),
  );
});

test('a query of 20 hex digits also matches md5 prefixes, case-insensitively; names still match as before', () => {
  const md5 = '42fb37ef70e86f6310e89c23b3755680';
  assert.equal(matchesQuery('42fb37ef70e86f6310e8', 'holiday.mp4', md5), true);
  assert.equal(matchesQuery('42FB37EF70E86F6310E8', 'holiday.mp4', md5), true, 'hex in either case');
  assert.equal(matchesQuery('42fb37ef70e86f6310e8', 'holiday.mp4', md5.toUpperCase()), true, 'an upper-case md5 too');
  assert.equal(matchesQuery('42fb37ef70e86f6310e9', 'holiday.mp4', md5), false, 'one digit off');
  assert.equal(matchesQuery('42fb37ef70e86f6310e', 'holiday.mp4', md5), false, '19 digits are a name query only');
  assert.equal(matchesQuery('fb37ef70e86f6310e89c', 'holiday.mp4', md5), false, 'a prefix, not a substring of the md5');
  assert.equal(matchesQuery('42fb37ef70e86f6310e8', 'x-42FB37EF70E86F6310E8-y', '0'.repeat(32)), true, 'a name containing the digits');
  assert.equal(matchesQuery(`  ${md5Query(md5)} `, 'holiday.mp4', md5), true, 'spaces trimmed as for any query');
  assert.equal(md5Query(md5), '42fb37ef70e86f6310e8');
});

test('md5-prefix matching agrees with a model', () => {
  const hex = fc.stringMatching(/^[0-9a-fA-F]{32}$/);
  fc.assert(
    fc.property(hex, hex, fc.string({ maxLength: 30 }), (md5, other, name) => {
      const q = other.slice(0, 20);
      const expected = name.toLowerCase().includes(q.toLowerCase()) || md5.slice(0, 20).toLowerCase() === q.toLowerCase();
      assert.equal(matchesQuery(q, name, md5), expected);
      assert.equal(matchesQuery(md5Query(md5), name, md5), true);
    }),
  );
});

test('Pktids are 16 upper-case hex characters from the random source', () => {
  for (let i = 0; i < 50; i++) assert.match(newPktId(), /^[0-9A-F]{16}$/);
  assert.equal(newPktId(() => Buffer.from('0123456789abcdef', 'hex')), '0123456789ABCDEF');
  assert.throws(() => newPktId(() => Buffer.alloc(3)));
  assert.equal(pktIdKey('abcdef0123456789'), 'ABCDEF0123456789');
});
