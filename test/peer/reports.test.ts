/**
 * The RPAD queue of a download (download/reports.ts): every part reported, in
 * the order the parts came in, never more than `atOnce` reports open, parts
 * that queued meanwhile sent together (at most `batch`), a failed report
 * logged and passed over, and `settled` waiting for the last one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ReportQueue } from '../../src/peer/download/reports.js';

test('property: reports go out in order, at most atOnce at a time, each once, queued ones together; failures do not stop the rest', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 40 }), async (atOnce, batch, plan) => {
      const started: number[] = [];
      const failedParts: number[] = [];
      const answers: (() => void)[] = [];
      let open = 0;
      let most = 0;
      let biggest = 0;
      const queue = new ReportQueue(
        (parts) => {
          started.push(...parts);
          open++;
          most = Math.max(most, open);
          biggest = Math.max(biggest, parts.length);
          const fails = parts.map((part) => (plan[part] as [boolean, boolean])[0]);
          return new Promise<readonly unknown[]>((resolve, reject) => {
            answers.push(() => {
              open--;
              // A batch whose every report fails rejects as a whole (a connection error); else each part has its result.
              if (fails.every(Boolean)) reject(new Error('closed without reply'));
              else resolve(fails.map((f, i) => (f ? new Error(`part ${parts[i]} refused`) : i + 1)));
            });
          });
        },
        (part) => failedParts.push(part),
        atOnce,
        batch,
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
      assert.ok(biggest <= batch, `${biggest} parts in one report, bound ${batch}`);
      assert.deepEqual(failedParts, plan.flatMap(([fails], i) => (fails ? [i] : [])));
    }),
    { numRuns: 60 },
  );
});

test('a sender takes what gathered while it waited: a slow download reports each part alone, a fast one together', async () => {
  const sent: number[][] = [];
  const answers: (() => void)[] = [];
  const gathering: (() => void)[] = [];
  const queue = new ReportQueue(
    (parts) => {
      sent.push([...parts]);
      return new Promise((resolve) => answers.push(() => resolve(parts.map(() => 1))));
    },
    () => assert.fail('no report fails here'),
    1,
    4,
    () => new Promise<void>((r) => gathering.push(r)),
  );
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  // Slow: each part has gone and been answered before the next comes in.
  for (const part of [0, 1]) {
    queue.add(part);
    await turn();
    gathering.shift()?.();
    await turn();
    answers.shift()?.();
    await turn();
  }
  // Fast: six parts come in while the sender gathers, two more while the tracker answers.
  for (let part = 2; part < 8; part++) queue.add(part);
  await turn();
  gathering.shift()?.();
  await turn();
  queue.add(8);
  queue.add(9);
  while (answers.length > 0 || gathering.length > 0) {
    gathering.shift()?.();
    await turn();
    answers.shift()?.();
    await turn();
  }
  await queue.settled();
  assert.deepEqual(sent, [[0], [1], [2, 3, 4, 5], [6, 7, 8, 9]]);
});
