import { expect, test } from 'vitest';
import {
  defineWorkflow,
  ExecutionCompensatedError,
  ExecutionFailedError,
  PermanentError,
  type Workflow,
} from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

/**
 * The failure model end to end, in-process: TRANSIENT → retry with a durable timer, PERMANENT → roll back
 * to the last valid checkpoint and fail (resumable), PARTIAL → compensate in reverse order.
 */
describeBackends('failure model', (b) => {
  const fast = { initialDelayMs: 20, maxDelayMs: 40, jitter: 'none' } as const;

  async function run<I>(wf: Workflow<I, unknown>, input: I) {
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    const h = await b.engine.start(wf, input);
    const outcome = await h.result({ timeoutMs: 20_000 }).then(
      (output) => ({ output, error: undefined }),
      (error: unknown) => ({ output: undefined, error }),
    );
    await w.stop();
    return { ...outcome, id: h.id, stats: w.stats };
  }

  const kinds = async (id: string) => (await b.engine.admin.readJournal(id)).records.map((r) => `${r.kind}${r.stepKey ? `:${r.stepKey}:${r.attempt}` : ''}`);

  test('TRANSIENT: a step is retried under its policy with the same idempotency key, each failure recorded and recovered', async () => {
    const seen: Array<{ attempt: number; key: string }> = [];
    const wf = defineWorkflow('fm-transient', { retry: { ...fast, maxAttempts: 5 } }, async (ctx) => {
      return ctx.step('call', ({ attempt, idempotencyKey }) => {
        seen.push({ attempt, key: idempotencyKey });
        if (attempt < 3) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
        return 'ok';
      });
    });
    const r = await run(wf, {});
    expect(r.output).toBe('ok');
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    expect(await kinds(r.id)).toEqual([
      'execution_started', 'step_started:call:1', 'step_retrying:call:1', 'step_started:call:2', 'step_retrying:call:2',
      'step_started:call:3', 'step_completed:call:3', 'execution_completed',
    ]);
    const failures = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
    expect(failures.map((f) => [f.type, f.source, f.recoveryStrategy, f.recovered, f.attempt])).toEqual([
      ['TRANSIENT', 'network', 'retry', true, 2],
      ['TRANSIENT', 'network', 'retry', true, 1],
    ]);
    expect(r.stats.retryScheduled).toBe(2);
  });

  test('a step policy overrides the workflow policy; exhausted TRANSIENT retries become PERMANENT and the record says so', async () => {
    let calls = 0;
    const wf = defineWorkflow('fm-exhausted', { retry: { ...fast, maxAttempts: 10 } }, async (ctx) => {
      await ctx.step('first', () => 1);
      await ctx.step('flaky', () => {
        calls++;
        throw new Error('still down');
      }, { retry: { maxAttempts: 2 } });
    });
    const r = await run(wf, {});
    expect(r.error).toBeInstanceOf(ExecutionFailedError);
    expect(calls).toBe(2);
    const [last] = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
    expect(last).toMatchObject({ type: 'PERMANENT', retriesExhausted: true, recoveryStrategy: 'rollback', recovered: false, stepKey: 'flaky', attempt: 2 });
    const { execution, steps } = (await b.engine.admin.getExecution(r.id))!;
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toMatchObject({ failureType: 'PERMANENT', retriesExhausted: true, message: 'still down' });
    expect(steps.map((s) => [s.key, s.status])).toEqual([['first', 'COMPLETED'], ['flaky', 'ROLLED_BACK']]);
  });

  test("the user's classifier decides first: PERMANENT at once, no retry", async () => {
    class CardDeclined extends Error {}
    let calls = 0;
    const wf = defineWorkflow('fm-classify', { retry: fast, classify: (e) => (e instanceof CardDeclined ? 'PERMANENT' : undefined) }, async (ctx) => {
      await ctx.step('charge', () => {
        calls++;
        throw new CardDeclined('card declined');
      });
    });
    const r = await run(wf, {});
    expect(calls).toBe(1);
    expect(r.error).toBeInstanceOf(ExecutionFailedError);
    const [f] = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
    expect(f).toMatchObject({ type: 'PERMANENT', retriesExhausted: false, source: 'step' });
  });

  test('an error of the workflow code itself (not a step) is PERMANENT: deterministic code fails the same way again', async () => {
    const wf = defineWorkflow('fm-code', { retry: fast }, async (ctx) => {
      await ctx.step('a', () => 1);
      throw new Error('bug in the workflow');
    });
    const r = await run(wf, {});
    expect(r.error).toBeInstanceOf(ExecutionFailedError);
    expect(r.stats.retryScheduled).toBe(0);
    const [f] = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
    expect(f).toMatchObject({ type: 'PERMANENT', stepKey: null });
  });

  test('PERMANENT: the execution is rolled back and FAILED; once the cause is fixed, recover continues from the checkpoint without re-running completed steps', async () => {
    const runs: string[] = [];
    let broken = true;
    const wf = defineWorkflow('fm-recover', { retry: fast }, async (ctx) => {
      const a = await ctx.step('a', () => (runs.push('a'), 1));
      const bb = await ctx.step('b', () => {
        runs.push('b');
        if (broken) throw new PermanentError('missing configuration');
        return 2;
      });
      return a + bb;
    });
    const first = await run(wf, {});
    expect(first.error).toBeInstanceOf(ExecutionFailedError);
    broken = false;
    const { checkpointId } = await b.engine.admin.recover(first.id);
    expect(checkpointId).not.toBeNull();
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    expect(await b.engine.handle(first.id).result({ timeoutMs: 20_000 })).toBe(3);
    await w.stop();
    expect(runs).toEqual(['a', 'b', 'b']);
    const [f] = (await b.engine.admin.listFailures({ executionId: first.id })).failures;
    expect(f).toMatchObject({ recovered: true, recoveredBy: 'operator' });
  });

  test('PARTIAL: after compensable steps completed, a PERMANENT failure runs their compensations in reverse completion order, each once', async () => {
    const log: string[] = [];
    const wf = defineWorkflow('fm-saga', { retry: fast }, async (ctx, input: { order: string }) => {
      const hold = await ctx.step('reserve', () => (log.push('reserve'), { hold: `h-${input.order}` }), {
        compensate: (r, c) => void log.push(`release ${r.hold} ${c.idempotencyKey.endsWith(':reserve:compensation')}`),
      });
      await ctx.step('charge', () => (log.push('charge'), { charge: 'c-1' }), {
        compensate: (c) => void log.push(`refund ${c.charge}`),
      });
      await ctx.step('notify', () => void log.push('notify')); // no compensation
      await ctx.step('ship', () => {
        log.push('ship');
        throw new PermanentError('no courier for this address');
      });
      return hold;
    });
    const r = await run(wf, { order: 'o-7' });
    expect(r.error).toBeInstanceOf(ExecutionCompensatedError);
    expect(log).toEqual(['reserve', 'charge', 'notify', 'ship', 'refund c-1', 'release h-o-7 true']);
    const { execution, steps } = (await b.engine.admin.getExecution(r.id))!;
    expect(execution.status).toBe('COMPENSATED');
    expect(steps.map((s) => [s.key, s.compensationStatus])).toEqual([
      ['reserve', 'COMPLETED'], ['charge', 'COMPLETED'], ['notify', null], ['ship', null],
    ]);
    expect((await kinds(r.id)).filter((k) => k.startsWith('compensation_') || k.startsWith('execution_comp'))).toEqual([
      'execution_compensating', 'compensation_started:charge:1', 'compensation_completed:charge:1',
      'compensation_started:reserve:1', 'compensation_completed:reserve:1', 'execution_compensated',
    ]);
    const [f] = (await b.engine.admin.listFailures({ executionId: r.id })).failures;
    expect(f).toMatchObject({ type: 'PARTIAL', recoveryStrategy: 'compensate', recovered: true, stepKey: 'ship' });
  });

  test('a compensation is retried on TRANSIENT errors; one failing PERMANENTLY leaves the execution FAILED for an operator, and recover finishes it', async () => {
    const log: string[] = [];
    let refundWorks = false;
    let releaseCalls = 0;
    const wf = defineWorkflow('fm-comp-fail', { retry: { ...fast, maxAttempts: 3 } }, async (ctx) => {
      await ctx.step('reserve', () => 'r', {
        compensate: () => {
          releaseCalls++;
          if (releaseCalls === 1) throw Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });
          log.push('released');
        },
      });
      await ctx.step('charge', () => 'c', {
        compensate: () => {
          if (!refundWorks) throw new PermanentError('refund refused by the bank');
          log.push('refunded');
        },
      });
      await ctx.step('ship', () => {
        throw new PermanentError('cannot ship');
      });
    });
    const r = await run(wf, {});
    expect(r.error).toBeInstanceOf(ExecutionFailedError);
    expect((await b.engine.admin.getExecution(r.id))!.execution.status).toBe('FAILED');
    const { executions: failed } = await b.engine.admin.listExecutions({ status: 'FAILED', workflow: 'fm-comp-fail' });
    expect(failed.map((e) => e.id)).toEqual([r.id]);
    const [f] = (await b.engine.admin.listFailures({ executionId: r.id, unrecoveredOnly: true })).failures;
    expect(f).toMatchObject({ type: 'PARTIAL', recoveryStrategy: 'compensate', stepKey: 'charge', recovered: false });
    expect(log).toEqual([]); // charge's compensation runs first (reverse order) and stopped everything

    refundWorks = true;
    await b.engine.admin.recover(r.id);
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    await expect(b.engine.handle(r.id).result({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(ExecutionCompensatedError);
    await w.stop();
    expect(log).toEqual(['refunded', 'released']);
    expect(releaseCalls).toBe(2); // a TRANSIENT error, then success
    const journal = await kinds(r.id);
    expect(journal.filter((k) => k === 'compensation_completed:charge:2')).toHaveLength(1);
    expect(journal).toContain('compensation_retrying:reserve:1');
  });

  async function resume(wf: Workflow<never, unknown>, id: string) {
    const w = b.engine.worker({ workflows: [wf as Workflow<unknown, unknown>], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    const outcome = await b.engine.handle(id).result({ timeoutMs: 20_000 }).then((o) => o, (e: unknown) => e);
    await w.stop();
    return outcome;
  }

  test('a step failure the workflow caught before the checkpoint is kept by a rollback; recover does not run it again', async () => {
    const runs = { a: 0, c: 0 };
    let broken = true;
    const wf = defineWorkflow('fm-caught', { retry: fast }, async (ctx) => {
      let r: string;
      try {
        r = await ctx.step('a', () => {
          runs.a++;
          throw new PermanentError('a is down');
        });
      } catch {
        r = await ctx.step('fallback', () => 'fb');
      }
      await ctx.step('c', () => {
        runs.c++;
        if (broken) throw new PermanentError('c is down');
      });
      return r;
    });
    const first = await run(wf, {});
    expect(first.error).toBeInstanceOf(ExecutionFailedError);
    broken = false;
    await b.engine.admin.recover(first.id);
    expect(await resume(wf as Workflow<never, unknown>, first.id)).toBe('fb');
    expect(runs).toEqual({ a: 1, c: 2 });
  });

  test('after a rollback, a re-run step may send the workflow down another path: the voided steps hold no position', async () => {
    let flag = true;
    const ran: string[] = [];
    const wf = defineWorkflow('fm-branch', { retry: fast, checkpoint: 'marked' }, async (ctx) => {
      const f = await ctx.step('check', () => flag); // not checkpointed: voided by the rollback
      if (f) {
        await ctx.step('x', () => {
          ran.push('x');
          throw new PermanentError('x refused');
        });
      } else {
        await ctx.step('y', () => ran.push('y'));
      }
      return f ? 'x' : 'y';
    });
    const first = await run(wf, {});
    expect(first.error).toBeInstanceOf(ExecutionFailedError);
    flag = false; // the world changed; "check" runs again and answers differently
    await b.engine.admin.recover(first.id);
    expect(await resume(wf as Workflow<never, unknown>, first.id)).toBe('y');
    expect(ran).toEqual(['x', 'y']);
    const { steps } = (await b.engine.admin.getExecution(first.id))!;
    expect(steps.filter((s) => s.status === 'COMPLETED').map((s) => [s.seq, s.key])).toEqual([[0, 'check'], [1, 'y']]);
  });

  test('the sweep leaves alone an execution whose compensation failed PERMANENTLY, even after an exhausted TRANSIENT step failure', async () => {
    let compensations = 0;
    const wf = defineWorkflow('fm-sweep-partial', { retry: { ...fast, maxAttempts: 2 } }, async (ctx) => {
      await ctx.step('reserve', () => 'r', {
        compensate: () => {
          compensations++;
          throw new PermanentError('refund refused: account closed');
        },
      });
      await ctx.step('flaky', () => {
        throw new Error('service down');
      });
    });
    const first = await run(wf, {});
    expect((await b.engine.admin.getExecution(first.id))!.execution.status).toBe('FAILED');
    await b.engine.admin.autoRecoverFailures();
    expect((await b.engine.admin.getExecution(first.id))!.execution.status).toBe('FAILED');
    expect(compensations).toBe(1);
  });

  test('a step whose worker dies during every attempt is not started again once its attempts are spent (a crash loop)', async () => {
    let starts = 0;
    const wf = defineWorkflow('fm-crash-loop', { retry: { ...fast, maxAttempts: 2 } }, async (ctx) => {
      await ctx.step('a', () => 'ok');
      // Each attempt "kills its worker": it never returns, the worker is stopped and its lease expired.
      await ctx.step('doomed', () => {
        starts++;
        return new Promise<void>(() => {});
      });
    });
    const h = await b.engine.start(wf, {});
    for (let run = 1; run <= 3; run++) {
      const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, shutdownTimeoutMs: 10, schedulerIntervalMs: 0 });
      await w.start();
      await waitFor(async () => starts === run || (await b.engine.admin.getExecution(h.id))!.execution.status === 'FAILED');
      await w.stop();
      await b.engine.db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1 AND status = 'RUNNING'`, [h.id]);
    }
    expect(starts).toBe(2); // the third attempt was refused before the step ran
    expect((await b.engine.admin.getExecution(h.id))!.execution.status).toBe('FAILED');
    const [f] = (await b.engine.admin.listFailures({ executionId: h.id, unrecoveredOnly: true })).failures;
    expect(f).toMatchObject({ type: 'PERMANENT', retriesExhausted: true, stepKey: 'doomed', attempt: 3, errorClass: 'StepAttemptsExhaustedError' });
  });

  test('one crash after retried failures is not a crash loop: the step runs again past maxAttempts and completes', async () => {
    let starts = 0;
    const wf = defineWorkflow('fm-crash-after-retries', { retry: { ...fast, maxAttempts: 2 } }, async (ctx) => {
      return ctx.step('flaky', ({ attempt }) => {
        starts++;
        if (attempt === 1) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
        if (attempt === 2) return new Promise<string>(() => {}); // its worker "dies" during the last allowed attempt
        return 'ok';
      });
    });
    const h = await b.engine.start(wf, {});
    const first = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, shutdownTimeoutMs: 10, schedulerIntervalMs: 0 });
    await first.start();
    await waitFor(async () => starts === 2);
    await first.stop();
    await b.engine.db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1 AND status = 'RUNNING'`, [h.id]);
    const second = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await second.start();
    expect(await h.result({ timeoutMs: 10_000 })).toBe('ok');
    await second.stop();
    expect(starts).toBe(3); // attempt 3 > maxAttempts 2, but only one attempt in a row ended without an outcome
  });

  test('data fault: a corrupt checkpoint is skipped for the previous valid one; the execution carries on and the fault is recorded', async () => {
    // The first worker "dies" inside "wait": the step never returns there, and its lease is expired by hand.
    let dead = true;
    const wf = defineWorkflow('fm-cp-corrupt', async (ctx) => {
      const a = await ctx.step('a', () => 1);
      const bb = await ctx.step('b', () => 2);
      await ctx.step('wait', () => (dead ? new Promise<void>(() => {}) : undefined));
      return a + bb;
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, shutdownTimeoutMs: 10, schedulerIntervalMs: 0 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await waitFor(async () => (await b.engine.admin.getExecution(h.id))!.steps.some((s) => s.key === 'wait'));
    await w.stop(); // "dies" inside "wait"; its lease stays
    await b.engine.db.query(
      `UPDATE aries.checkpoints SET state_data = '{"completed_steps": 1000}' WHERE execution_id = $1
         AND lsn = (SELECT max(lsn) FROM aries.checkpoints WHERE execution_id = $1)`,
      [h.id],
    );
    await b.engine.db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1`, [h.id]);
    dead = false;
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w2.start();
    expect(await h.result({ timeoutMs: 20_000 })).toBe(3);
    await w2.stop();
    const data = (await b.engine.admin.listFailures({ executionId: h.id })).failures.filter((f) => f.source === 'data');
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ errorClass: 'CheckpointCorruptError', recovered: true });
    expect(data[0]!.message).toMatch(/does not match its checksum; recovery fell back to the previous valid checkpoint/);
  });

  test('data fault: a corrupt step output is never replayed; the execution fails with source data, rolled back before it, and recover carries on', async () => {
    const seen: number[] = [];
    let runsOfB = 0;
    let dead = true;
    const wf = defineWorkflow('fm-journal-corrupt', async (ctx) => {
      const a = await ctx.step('a', () => 1);
      const bb = await ctx.step('b', () => (runsOfB++, 2));
      seen.push(bb);
      await ctx.step('c', () => (dead ? new Promise<void>(() => {}) : undefined));
      return a + bb;
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, shutdownTimeoutMs: 10, schedulerIntervalMs: 0 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await waitFor(async () => (await b.engine.admin.getExecution(h.id))!.steps.some((s) => s.key === 'c'));
    await w.stop();
    await b.engine.db.exec('ALTER TABLE aries.journal DISABLE TRIGGER journal_append_only');
    await b.engine.db.query(`UPDATE aries.journal SET payload = '2000' WHERE execution_id = $1 AND kind = 'step_completed' AND step_key = 'b'`, [h.id]);
    await b.engine.db.exec('ALTER TABLE aries.journal ENABLE TRIGGER journal_append_only');
    await b.engine.db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1`, [h.id]);
    seen.length = 0;
    dead = false;
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w2.start();
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/journal record \d+ \(step_completed of step "b"\) .* does not match its checksum/);
    expect(seen).toEqual([]); // the corrupt output never reached the workflow
    const [f] = (await b.engine.admin.listFailures({ executionId: h.id })).failures;
    expect(f).toMatchObject({ source: 'data', type: 'PERMANENT', recoveryStrategy: 'rollback', recovered: false });
    expect((await b.engine.admin.getExecution(h.id))!.steps.map((s) => [s.key, s.status])).toEqual([
      ['a', 'COMPLETED'], ['b', 'ROLLED_BACK'], ['c', 'ROLLED_BACK'],
    ]);
    await b.engine.admin.recover(h.id);
    expect(await h.result({ timeoutMs: 20_000 })).toBe(3);
    await w2.stop();
    expect(seen).toEqual([2]);
    expect(runsOfB).toBe(2); // run again from the checkpoint before the corrupt record
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
