import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { matchesQuery } from '../../src/protocol/query.js';
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

test('Pktids are 16 upper-case hex characters from the random source', () => {
  for (let i = 0; i < 50; i++) assert.match(newPktId(), /^[0-9A-F]{16}$/);
  assert.equal(newPktId(() => Buffer.from('0123456789abcdef', 'hex')), '0123456789ABCDEF');
  assert.throws(() => newPktId(() => Buffer.alloc(3)));
  assert.equal(pktIdKey('abcdef0123456789'), 'ABCDEF0123456789');
});
