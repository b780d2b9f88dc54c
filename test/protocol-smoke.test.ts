import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRACKER_REQUESTS, decodeMessage, encodeMessage } from '../src/protocol/index.js';

test('LOGI encodes to the 64 bytes of the spec and decodes back', () => {
  const bytes = encodeMessage({ command: 'LOGI', address: { ip4: '172.16.99.2', ip6: 'fd99::2' }, port: 5000 });
  assert.equal(bytes.toString('latin1'), 'LOGI172.016.099.002|fd99:0000:0000:0000:0000:0000:0000:000205000');
  assert.deepEqual(decodeMessage(bytes, TRACKER_REQUESTS), {
    command: 'LOGI',
    address: { ip4: '172.16.99.2', ip6: 'fd99:0000:0000:0000:0000:0000:0000:0002' },
    port: 5000,
  });
});
