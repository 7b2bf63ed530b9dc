import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionCancelledError, IllegalTransitionError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { latch } from '../helpers/latch.js';

/**
 * Cancels racing a worker: executions cancelled at random moments while a worker runs their steps. Each
 * ends one way only: COMPLETED (the cancel was refused as ILLEGAL_TRANSITION) or CANCELLED (the cancel
 * won: nothing was recorded after its journal record, no step is left RUNNING, no lease is left held).
 */
describeBackends('cancel racing a running worker', (b) => {
  test('every execution ends COMPLETED or CANCELLED, never both, and the journal agrees', async () => {
    // started[n][i] resolves when execution n's step i starts running.
    const started = Array.from({ length: 40 }, () => Array.from({ length: 4 }, () => latch()));
    const wf = defineWorkflow('race-cancel', async (ctx, input: { n: number }) => {
      for (let i = 0; i < 4; i++) {
        await ctx.step(`s${i}`, async () => {
          started[input.n]![i]!.open();
          await new Promise((r) => setTimeout(r, (input.n * 7 + i * 3) % 9));
          return i;
        });
      }
      return 'done';
    });
    const worker = b.engine.worker({ workflows: [wf], concurrency: 8, pollIntervalMs: 10, schedulerIntervalMs: 0 });
    await worker.start();
    const handles = await Promise.all(Array.from({ length: 40 }, (_, n) => b.engine.start(wf, { n })));
    const cancels = await Promise.all(
      // At once (PENDING or just claimed), as step 1 starts, as the last step starts (racing the end),
      // or after it completed (refused).
      handles.map(async (h, n) => {
        if (n % 4 === 1) await started[n]![1]!.promise;
        if (n % 4 === 2) await started[n]![3]!.promise;
        if (n % 4 === 3) await h.result({ timeoutMs: 30_000 });
        return b.engine.admin.cancel(h.id, `race ${n}`).then(
          () => 'cancelled' as const,
          (err: unknown) => {
            expect(err).toBeInstanceOf(IllegalTransitionError);
            return 'refused' as const;
          },
        );
      }),
    );
    const outcomes = await Promise.all(
      handles.map((h) => h.result({ timeoutMs: 30_000 }).then(() => 'COMPLETED' as const, (err: unknown) => (err instanceof ExecutionCancelledError ? ('CANCELLED' as const) : err))),
    );
    await worker.stop();
    for (const [i, h] of handles.entries()) {
      const detail = (await b.engine.admin.getExecution(h.id))!;
      const journal = (await b.engine.admin.readJournal(h.id)).records;
      const kinds = journal.map((r) => r.kind);
      if (cancels[i] === 'cancelled') {
        expect(outcomes[i]).toBe('CANCELLED');
        expect(detail.execution.status).toBe('CANCELLED');
        expect(kinds.at(-1)).toBe('execution_cancelled');
        expect(kinds.filter((k) => k === 'execution_cancelled')).toHaveLength(1);
        expect(detail.steps.filter((s) => s.status === 'RUNNING' || s.status === 'RETRYING')).toEqual([]);
      } else {
        expect(outcomes[i]).toBe('COMPLETED');
        expect(kinds).not.toContain('execution_cancelled');
        expect(kinds.at(-1)).toBe('execution_completed');
      }
      expect(detail.execution.leaseOwner).toBeNull();
      expect(journal.every((r) => r.checksumOk)).toBe(true);
    }
    // Both outcomes happened: at least the cancels after completion were refused, and those made at once won.
    expect(cancels.filter((c) => c === 'refused').length).toBeGreaterThanOrEqual(10);
    expect(cancels.filter((c) => c === 'cancelled').length).toBeGreaterThanOrEqual(10);
    expect((await b.engine.admin.listWorkers()).filter((w) => w.executions > 0)).toEqual([]);
  });
});
