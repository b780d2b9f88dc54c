/**
 * The RPAD queue of a download (download/reports.ts): every part reported, in
 * the order the parts came in, never more than `atOnce` reports open, a failed
 * report logged and passed over, and `settled` waiting for the last one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ReportQueue } from '../../src/peer/download/reports.js';

test('property: reports go out in order, at most atOnce at a time, each once; failures do not stop the rest', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 40 }), async (atOnce, plan) => {
      const started: number[] = [];
      const failedParts: number[] = [];
      const answers: (() => void)[] = [];
      let open = 0;
      let most = 0;
      const queue = new ReportQueue(
        (part) => {
          started.push(part);
          open++;
          most = Math.max(most, open);
          const [fails] = plan[part] as [boolean, boolean];
          return new Promise<void>((resolve, reject) => {
            answers.push(() => {
              open--;
              if (fails) reject(new Error('closed without reply'));
              else resolve();
            });
          });
        },
        (part) => failedParts.push(part),
        atOnce,
      );
      // Parts come in, some while earlier reports are still waiting for their answer.
      for (let part = 0; part < plan.length; part++) {
        queue.add(part);
        if ((plan[part] as [boolean, boolean])[1]) answers.shift()?.();
        await Promise.resolve();
      }
      let done = false;
      const settled = queue.settled().then(() => { done = true; });
      // Answer the open reports one by one until the queue says it has settled.
      for (let turns = 0; !done; turns++) {
        assert.ok(turns < 10 * plan.length + 10, `not settled: started ${started}, ${open} open`);
        const answer = answers.shift();
        if (answer) assert.equal(done, false);
        answer?.();
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(open, 0, 'settled only once every report was answered');
      await settled;
      assert.deepEqual(started, plan.map((_, i) => i), 'every part once, in order');
      assert.ok(most <= atOnce, `${most} reports open at once, bound ${atOnce}`);
      assert.deepEqual(failedParts, plan.flatMap(([fails], i) => (fails ? [i] : [])));
    }),
    { numRuns: 60 },
  );
});
