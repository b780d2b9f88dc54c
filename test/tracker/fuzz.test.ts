/** Random byte streams at a live tracker never crash it, and good requests still work afterwards. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { TRACKER_REPLIES, fullBitmap } from '../../src/protocol/index.js';
import { type RunningTracker, startTracker } from '../../src/tracker/index.js';
import { type ExchangeResult, exchange } from '../support/net.js';
import { addr, callFor, fchu, logi, login, logo, look, md5Of, peer, rpad } from './helpers.js';

const HOST = '127.0.0.1';
let tracker: RunningTracker;
let session: string;
const MD5 = md5Of(0xf022);

before(async () => {
  // No idle timeout ends a connection here (each one is half-closed by us or closed by
  // the tracker), so the outcome of a stream does not depend on how busy the machine is.
  tracker = await startTracker({ host: HOST, port: 0, idleTimeoutMs: 600_000, maxBuffered: 256 });
  session = await login(HOST, tracker.port, peer(1));
  await callFor('AADR', HOST, tracker.port, addr(session, MD5, 100, 10, 'fuzz target'));
});
after(() => tracker.close());

/**
 * Writes the pieces, half-closes, and returns what came back. A reset is a close
 * too: the tracker closed on bad bytes while some of ours were still unread.
 */
async function send(pieces: Buffer[]): Promise<ExchangeResult> {
  try {
    // A reply must be a well-formed tracker reply (AFCH for our 10-part file).
    return await exchange(HOST, tracker.port, pieces, { accept: TRACKER_REPLIES, context: { parts: 10 }, end: true, timeoutMs: 60_000 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'EPIPE') return { raw: Buffer.alloc(0), closedByServer: true };
    throw err;
  }
}

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
      const nonEmpty = pieces.filter((p) => p.length > 0);
      // Whatever happens on this connection (a reply, a close, a reset), it ends.
      await send(nonEmpty.length > 0 ? nonEmpty : [Buffer.alloc(0)]);
      // Nothing changed the state: the session is still the one holder, of every part.
      const reply = await callFor('AFCH', HOST, tracker.port, fchu(session, MD5), { parts: 10 });
      assert.equal(reply.peers.length, 1);
      assert.deepEqual(reply.peers[0]?.bitmap, fullBitmap(10));
    }),
    { numRuns: 120 },
  );
  // The session still works for a state change too.
  assert.equal((await callFor('APAD', HOST, tracker.port, rpad(session, MD5, 2))).partsHeld, 10);
  const other = await login(HOST, tracker.port, peer(2));
  assert.equal((await callFor('APAD', HOST, tracker.port, rpad(other, MD5, 3))).partsHeld, 1);
  // Its parts 0-2 and 4-9 are on no other peer: refused, and one part is safe elsewhere.
  assert.equal((await callFor('NLOG', HOST, tracker.port, logo(session))).partsDown, 1);
});
