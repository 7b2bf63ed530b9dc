import { expect, test } from 'vitest';
import {
  defineWorkflow,
  ExecutionCancelledError,
  ExecutionCompensatedError,
  ExecutionFailedError,
  type WorkflowContext,
} from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { latch } from '../helpers/latch.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { executionReaders, FAST, pause, stepReader, waitFor, workerStarter } from '../helpers/waits.js';

/**
 * Timeouts and cancel. A step attempt past its timeoutMs gets its AbortSignal, is a TRANSIENT
 * STEP_TIMEOUT retried under its policy, and its late completion is refused (a timed-out transaction's
 * statements never commit). An execution past its deadline ends FAILED with a TIMEOUT failure (after
 * compensable steps, it is compensated as for any PERMANENT failure) and its children are cancelled. Cancel wakes a sleeper or a waiter at once, marks the
 * interrupted step CANCELLED with its real duration, and with { compensate: true } runs the compensations
 * of completed steps in reverse and ends COMPENSATED.
 */

interface ExecRow {
  status: string;
  lease_owner: string | null;
  error: { name?: string; code?: string; message?: string } | null;
}

const { execRow, untilStatus } = executionReaders<ExecRow>('status, lease_owner, error');

const stepRow = stepReader<{ status: string; attempt: number; output: unknown; ended_ms: number | null }>(
  `s.status, s.attempt, (SELECT j.payload FROM aries.journal j WHERE j.lsn = s.output_lsn) AS output,
   (extract(epoch FROM s.ended_at - s.started_at) * 1000)::float8 AS ended_ms`,
);

async function failures(db: Queryable, id: string) {
  return db.query<{ failure_type: string; error_class: string | null; attempt: number | null; recovery_strategy: string; retries_exhausted: boolean; failure_message: string }>(
    'SELECT failure_type, error_class, attempt, recovery_strategy, retries_exhausted, failure_message FROM aries.failures WHERE execution_id = $1 ORDER BY attempt NULLS LAST, failure_timestamp',
    [id],
  );
}

describeBackends('timeouts and cancel', (b) => {
  const worker = workerStarter(b);

  test("a step attempt past its timeoutMs gets its AbortSignal, fails TRANSIENT with STEP_TIMEOUT, and is retried", async () => {
    const attempts: { attempt: number; aborted: boolean; elapsedMs: number }[] = [];
    const wf = defineWorkflow('timeout-step-abort', async (ctx) =>
      ctx.step(
        'call',
        async ({ attempt, signal }) => {
          const t0 = Date.now();
          if (attempt === 1) {
            await new Promise<void>((resolve) => {
              signal.addEventListener('abort', () => resolve(), { once: true });
              setTimeout(resolve, 5_000);
            });
            attempts.push({ attempt, aborted: signal.aborted, elapsedMs: Date.now() - t0 });
            return 'late first attempt';
          }
          attempts.push({ attempt, aborted: signal.aborted, elapsedMs: Date.now() - t0 });
          return 'second attempt';
        },
        { timeoutMs: 300, retry: FAST },
      ),
    );
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    expect(await h.result({ timeoutMs: 10_000 })).toBe('second attempt');
    expect(attempts[0]).toMatchObject({ attempt: 1, aborted: true });
    expect(attempts[0]!.elapsedMs).toBeGreaterThanOrEqual(200); // not long before its deadline (which began with the attempt) …
    expect(attempts[0]!.elapsedMs).toBeLessThan(2_000); // … and not only when the 5 s wait ran out
    expect(attempts[1]).toMatchObject({ attempt: 2, aborted: false });
    expect(await stepRow(b.engine.db, h.id, 'call')).toMatchObject({ status: 'COMPLETED', attempt: 2, output: 'second attempt' });
    const [f] = await failures(b.engine.db, h.id);
    expect(f).toMatchObject({ failure_type: 'TRANSIENT', error_class: 'StepTimeoutError', attempt: 1, recovery_strategy: 'retry' });
  });

  test('a step that overruns every attempt exhausts its retries: the late completions are never recorded and the execution FAILS', async () => {
    let invocations = 0;
    const lastReturned = latch();
    const wf = defineWorkflow('timeout-step-exhausted', async (ctx) =>
      ctx.step(
        'hang',
        async () => {
          const n = ++invocations;
          await pause(700); // ignores its AbortSignal, then "completes" late
          if (n === 2) setImmediate(lastReturned.open);
          return 'late';
        },
        { timeoutMs: 200, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' } },
      ),
    );
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect(invocations).toBe(2);
    const step = await stepRow(b.engine.db, h.id, 'hang');
    expect(step?.status).not.toBe('COMPLETED');
    const recorded = await failures(b.engine.db, h.id);
    expect(recorded.every((f) => f.error_class === 'StepTimeoutError')).toBe(true);
    expect(recorded.map((f) => [f.attempt, f.failure_type])).toEqual([
      [1, 'TRANSIENT'],
      [2, 'PERMANENT'],
    ]);
    expect(recorded[1]!.retries_exhausted).toBe(true);
    // The second attempt's late completion comes after the execution failed: it is not recorded either.
    await lastReturned.promise;
    await pause(100);
    expect((await stepRow(b.engine.db, h.id, 'hang'))?.status).not.toBe('COMPLETED');
    expect((await execRow(b.engine.db, h.id)).status).toBe('FAILED');
  });

  test.each(testSeeds([5, 13, 2024]))("a timed-out transactional step's late commit is refused: its statements are not in the table (seed %i)", async (seed) => {
    const rng = seededRandom(seed);
    const overrunMs = rng.int(150, 450); // how long past its 300 ms deadline the first attempt holds its transaction
    const lateReturned = latch();
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS timeout_rows (execution_id uuid NOT NULL, attempt int NOT NULL)');
    const wf = defineWorkflow(`timeout-tx-${seed}`, async (ctx) =>
      ctx.transaction(
        'write',
        async (tx) => {
          await tx.query('INSERT INTO timeout_rows VALUES ($1, $2)', [tx.executionId, tx.attempt]);
          if (tx.attempt === 1) {
            await pause(300 + overrunMs); // ignores tx.signal and tries to commit late
            setImmediate(lateReturned.open);
          }
          return tx.attempt;
        },
        { timeoutMs: 300, retry: FAST },
      ),
    );
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    expect(await h.result({ timeoutMs: 15_000 }), `seed ${seed}, overrun ${overrunMs} ms`).toBe(2);
    // On the server the first attempt may still hold its transaction here: let it try its commit first.
    await lateReturned.promise;
    await pause(100);
    expect(await b.engine.db.query('SELECT attempt FROM timeout_rows WHERE execution_id = $1', [h.id]), `seed ${seed}`).toEqual([{ attempt: 2 }]);
    expect(await stepRow(b.engine.db, h.id, 'write')).toMatchObject({ status: 'COMPLETED', attempt: 2, output: 2 });
    const [f] = await failures(b.engine.db, h.id);
    expect(f).toMatchObject({ failure_type: 'TRANSIENT', error_class: 'StepTimeoutError', attempt: 1 });
  });

  test('an execution past its deadline (a start option) ends FAILED with a TIMEOUT failure, on the database clock', async () => {
    const wf = defineWorkflow('timeout-execution', async (ctx) => {
      await ctx.step('a', () => 1);
      return ctx.waitForSignal('never');
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {}, { timeoutMs: 400 });
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionFailedError);
    const row = await execRow(b.engine.db, h.id);
    expect(row.status).toBe('FAILED');
    expect(row.error).toMatchObject({ name: 'ExecutionTimeoutError', code: 'TIMEOUT' });
    const [t] = await b.engine.db.query<{ deadline_ms: number; not_early: boolean }>(
      `SELECT (extract(epoch FROM deadline_at - created_at) * 1000)::float8 AS deadline_ms, updated_at >= deadline_at AS not_early
         FROM aries.executions WHERE id = $1`,
      [h.id],
    );
    expect(t!.deadline_ms).toBeGreaterThanOrEqual(400);
    expect(t!.deadline_ms).toBeLessThan(500);
    expect(t!.not_early).toBe(true);
    expect((await failures(b.engine.db, h.id)).length).toBeGreaterThan(0);
  });

  // Past the deadline after compensable steps, the TIMEOUT failure is handled as any PERMANENT failure after
  // them (PARTIAL): the compensations run and the execution ends COMPENSATED, the TIMEOUT error kept.
  test("a workflow's timeoutMs: past it, the compensations of completed steps run in reverse; COMPENSATED with the TIMEOUT error", async () => {
    const log: string[] = [];
    const wf = defineWorkflow('timeout-saga', { timeoutMs: 400 }, async (ctx) => {
      await ctx.step('reserve', () => 'r', { compensate: () => void log.push('release') });
      await ctx.step('charge', () => 'c', { compensate: () => void log.push('refund') });
      await ctx.sleep('long', 60_000);
      await ctx.step('ship', () => void log.push('ship'));
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const row = await untilStatus(b.engine.db, h.id, ['COMPENSATED']);
    const err = await h.result({ timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionCompensatedError);
    expect((err as Error).message).toContain('ExecutionTimeoutError');
    expect(log).toEqual(['refund', 'release']);
    expect(row.error).toMatchObject({ name: 'ExecutionTimeoutError', code: 'TIMEOUT' });
    const [f] = await b.engine.db.query<{ failure_type: string; recovery_strategy: string; error_class: string }>(
      `SELECT failure_type, recovery_strategy, error_class FROM aries.failures WHERE execution_id = $1 AND failure_type = 'PARTIAL'`,
      [h.id],
    );
    expect(f).toEqual({ failure_type: 'PARTIAL', recovery_strategy: 'compensate', error_class: 'ExecutionTimeoutError' });
    const [t] = await b.engine.db.query<{ deadline_ms: number }>(
      'SELECT (extract(epoch FROM deadline_at - created_at) * 1000)::float8 AS deadline_ms FROM aries.executions WHERE id = $1',
      [h.id],
    );
    expect(t!.deadline_ms).toBeGreaterThanOrEqual(400);
    expect(t!.deadline_ms).toBeLessThan(500);
  });

  test("an execution's timeout cancels its unfinished children", async () => {
    const child = defineWorkflow('timeout-child', async (ctx) => ctx.waitForSignal('never'));
    const parent = defineWorkflow('timeout-parent', { timeoutMs: 400 }, async (ctx) => ctx.child('sub', child, {}));
    await worker([parent, child]);
    const h = await b.engine.start(parent, {});
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(ExecutionFailedError);
    expect((await execRow(b.engine.db, h.id)).error?.code).toBe('TIMEOUT');
    const [kid] = await b.engine.db.query<{ id: string }>('SELECT id FROM aries.executions WHERE parent_id = $1', [h.id]);
    await untilStatus(b.engine.db, kid!.id, ['CANCELLED']);
  });

  const WAITS: [string, string, (ctx: WorkflowContext) => Promise<unknown>, string][] = [
    ['a sleeper', 'SLEEPING', (ctx) => ctx.sleep('nap', 60_000), 'nap'],
    ['a signal waiter', 'WAITING', (ctx) => ctx.waitForSignal('never'), 'signal:never:1'],
  ];

  test.each(WAITS)('cancel wakes %s at once: CANCELLED, its wait step CANCELLED with an end time, nothing after it runs', async (label, waitingStatus, wait, key) => {
    let after = 0;
    const wf = defineWorkflow(`timeout-cancel-${waitingStatus.toLowerCase()}`, async (ctx) => {
      await wait(ctx);
      await ctx.step('after', () => ++after);
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await untilStatus(b.engine.db, h.id, [waitingStatus]);
    const t0 = Date.now();
    // The reason as a string (as before) for one, in the options for the other.
    const cancelled = waitingStatus === 'SLEEPING' ? await b.engine.admin.cancel(h.id, 'no longer needed') : await b.engine.admin.cancel(h.id, { reason: 'no longer needed' });
    expect(cancelled.previousStatus, label).toBe(waitingStatus);
    expect((await execRow(b.engine.db, h.id)).status).toBe('CANCELLED');
    const err = await h.result({ timeoutMs: 2_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionCancelledError);
    expect((err as Error).message).toContain('no longer needed');
    expect(Date.now() - t0).toBeLessThan(2_000);
    const step = await waitFor(`wait step ${key} CANCELLED`, async () => {
      const row = await stepRow(b.engine.db, h.id, key);
      return row?.status === 'CANCELLED' ? row : undefined;
    });
    expect(step.ended_ms).not.toBeNull();
    expect(step.ended_ms!).toBeGreaterThanOrEqual(0);
    await pause(100);
    expect(after).toBe(0);
  });

  test('a step interrupted by a cancel is CANCELLED with its real duration, not FAILED in 0 ms', async () => {
    const inStep = latch();
    const wf = defineWorkflow('timeout-cancel-running', async (ctx) => {
      await ctx.step('slow', async ({ signal }) => {
        inStep.open();
        await new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
          setTimeout(resolve, 1_500);
        });
      });
      await ctx.step('after', () => 1);
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await inStep.promise;
    await pause(250);
    await b.engine.admin.cancel(h.id, 'stop it');
    await expect(h.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(ExecutionCancelledError);
    const step = await waitFor('step "slow" CANCELLED', async () => {
      const row = await stepRow(b.engine.db, h.id, 'slow');
      return row?.status === 'CANCELLED' ? row : undefined;
    });
    // It ran for the 250 ms before the cancel, not 0 ms, and ended with the cancel, not when its function returned.
    expect(step.ended_ms).toBeGreaterThanOrEqual(200);
    expect(step.ended_ms).toBeLessThan(1_500);
    expect(await stepRow(b.engine.db, h.id, 'after')).toBeUndefined();
  });

  test('cancel({ compensate: true }) runs the compensations of completed steps in reverse and ends COMPENSATED, the cancellation recorded', async () => {
    const log: string[] = [];
    const wf = defineWorkflow('timeout-cancel-compensate', async (ctx) => {
      await ctx.step('a', () => 'a', { compensate: (out, { idempotencyKey }) => void log.push(`undo ${out} ${idempotencyKey.endsWith(':a:compensation')}`) });
      await ctx.step('b', () => 'b', { compensate: (out) => void log.push(`undo ${out}`) });
      await ctx.step('c', () => 'c'); // nothing to undo
      await ctx.step('d', () => 'd', { compensate: (out) => void log.push(`undo ${out}`) });
      await ctx.waitForSignal('approval');
      await ctx.step('e', () => void log.push('e ran'));
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await untilStatus(b.engine.db, h.id, ['WAITING']);
    await b.engine.admin.cancel(h.id, { reason: 'customer withdrew', compensate: true });
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(ExecutionCompensatedError);
    expect(log).toEqual(['undo d', 'undo b', 'undo a true']);
    expect((await execRow(b.engine.db, h.id)).status).toBe('COMPENSATED');
    const recorded = await failures(b.engine.db, h.id);
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.map((f) => f.failure_message).join('\n')).toContain('customer withdrew');
  });
});
