/** Random byte streams at a live tracker never crash it, and good requests still work afterwards. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type RunningTracker, startTracker } from '../../src/tracker/index.js';
import { exchange } from '../support/net.js';
import { addr, callFor, fchu, logi, login, logo, look, md5Of, peer, rpad } from './helpers.js';

const HOST = '127.0.0.1';
let tracker: RunningTracker;
let session: string;
const MD5 = md5Of(0xf022);

before(async () => {
  tracker = await startTracker({ host: HOST, port: 0, idleTimeoutMs: 100, maxBuffered: 256 });
  session = await login(HOST, tracker.port, peer(1));
  await callFor('AADR', HOST, tracker.port, addr(session, MD5, 100, 10, 'fuzz target'));
});
after(() => tracker.close());

/** Random bytes, often starting with a real command or a whole valid request, cut anywhere. */
const stream = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.constantFrom('LOGI', 'ADDR', 'LOOK', 'FCHU', 'RPAD', 'LOGO', 'ALGI'), fc.uint8Array({ maxLength: 200 })).map(([c, rest]) =>
    Buffer.concat([Buffer.from(c, 'latin1'), rest]),
  ),
  fc.tuple(fc.constantFrom(() => logi(peer(9)), () => rpad(session, MD5, 3), () => fchu(session, MD5), () => look(session, 'fuzz')), fc.nat(80), fc.uint8Array({ maxLength: 40 })).map(
    ([make, cut, tail]) => {
      const good = make();
      const at = Math.min(cut, good.length);
      return Buffer.concat([good.subarray(0, at), tail]);
    },
  ),
);

test('random byte streams, split randomly, never crash the tracker', async () => {
  await fc.assert(
    fc.asyncProperty(stream, fc.array(fc.nat(300), { maxLength: 4 }), async (bytes, cuts) => {
      const buf = Buffer.from(bytes);
      const points = [...new Set(cuts.map((c) => Math.min(c, buf.length)))].sort((x, y) => x - y);
      const pieces: Buffer[] = [];
      let last = 0;
      for (const p of points) {
        pieces.push(buf.subarray(last, p));
        last = p;
      }
      pieces.push(buf.subarray(last));
      // Whatever happens on this connection (reply, close, idle close), it ends. The tracker
      // closes once it has answered what it received, so pieces written after that may meet
      // a reset: that is an end too.
      await exchange(HOST, tracker.port, pieces.filter((p) => p.length > 0).length ? pieces.filter((p) => p.length > 0) : [Buffer.alloc(0)], { timeoutMs: 20_000 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') throw err;
      });
      const reply = await callFor('AFCH', HOST, tracker.port, fchu(session, MD5), { parts: 10 });
      assert.ok(reply.peers.length >= 1);
    }),
    { numRuns: 120 },
  );
  // The session still works for a state change too.
  assert.equal((await callFor('APAD', HOST, tracker.port, rpad(session, MD5, 2))).partsHeld, 10);
  assert.equal((await callFor('NLOG', HOST, tracker.port, logo(session))).partsDown >= 0, true);
});
