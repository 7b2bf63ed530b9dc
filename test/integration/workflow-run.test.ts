import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionFailedError, PermanentError, type Worker } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { latch } from '../helpers/latch.js';

describeBackends('running workflows', (b) => {
  const started: Worker[] = [];
  async function worker(workflows: Parameters<typeof b.engine.worker>[0]['workflows']) {
    const w = b.engine.worker({ workflows, concurrency: 8, pollIntervalMs: 100 });
    await w.start();
    started.push(w);
    return w;
  }

  test('an execution runs its steps in order and returns the workflow result', async () => {
    const order = defineWorkflow('run-order', async (ctx, input: { id: string }) => {
      const r = await ctx.step('reserve', async ({ idempotencyKey, attempt }) => ({ key: idempotencyKey, attempt }));
      const charged = await ctx.step('charge', () => r.attempt + 1);
      return { charged: charged === 2, id: input.id };
    });
    const w = await worker([order]);
    const handle = await b.engine.start(order, { id: '42' }, { idempotencyKey: 'order-42' });
    expect(await handle.result({ timeoutMs: 20_000 })).toEqual({ charged: true, id: '42' });
    const detail = (await b.engine.admin.getExecution(handle.id))!;
    expect(detail.execution.status).toBe('COMPLETED');
    expect(detail.steps.map((s) => [s.key, s.status, s.attempt])).toEqual([
      ['reserve', 'COMPLETED', 1],
      ['charge', 'COMPLETED', 1],
    ]);
    expect(detail.steps[0]!.output).toEqual({ key: `${handle.id}:reserve`, attempt: 1 });
    await w.stop();
  });

  test('starting twice with the same idempotency key returns the first execution, which runs once', async () => {
    let runs = 0;
    const wf = defineWorkflow('run-idem', async (ctx) => ctx.step('only', () => ++runs));
    await worker([wf]);
    const [a, c] = await Promise.all([
      b.engine.start(wf, {}, { idempotencyKey: 'idem-1' }),
      b.engine.start(wf, {}, { idempotencyKey: 'idem-1' }),
    ]);
    expect(a.id).toBe(c.id);
    expect([a.created, c.created].sort()).toEqual([false, true]);
    await a.result({ timeoutMs: 20_000 });
    const again = await b.engine.start(wf, {}, { idempotencyKey: 'idem-1' });
    expect(again.id).toBe(a.id);
    expect(again.created).toBe(false);
    expect(await again.result()).toBe(1);
    expect(runs).toBe(1);
  });

  test('a step that returns nothing replays as undefined, and JSON null stays null', async () => {
    const wf = defineWorkflow('run-undefined', async (ctx) => {
      const a = await ctx.step('nothing', () => undefined);
      const n = await ctx.step('null', () => null);
      return { a: a === undefined, n: n === null };
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    expect(await h.result({ timeoutMs: 20_000 })).toEqual({ a: true, n: true });
    const journal = (await b.engine.admin.readJournal(h.id)).records;
    const done = journal.filter((r) => r.kind === 'step_completed');
    expect(done.map((r) => r.payload)).toEqual([undefined, null]);
  });

  test('a step error the workflow does not catch fails the execution and records the failure', async () => {
    class CardDeclined extends Error {
      override name = 'CardDeclined';
    }
    // The retry policy names CardDeclined non-retryable: PERMANENT at once.
    const wf = defineWorkflow('run-fail', { retry: { nonRetryable: ['CardDeclined'] } }, async (ctx) => {
      await ctx.step('reserve', () => 'ok');
      await ctx.step('charge', () => {
        throw new CardDeclined('card declined');
      });
      return 'unreachable';
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect((err as Error).message).toContain('CardDeclined: card declined');
    const detail = (await b.engine.admin.getExecution(h.id))!;
    expect(detail.execution.status).toBe('FAILED');
    expect(detail.steps.map((s) => [s.key, s.status])).toEqual([
      ['reserve', 'COMPLETED'],
      ['charge', 'ROLLED_BACK'], // rolled back to the checkpoint after "reserve"; it runs again on recovery
    ]);
    const [f] = await b.engine.db.query<Record<string, unknown>>('SELECT * FROM aries.failures WHERE execution_id = $1', [h.id]);
    expect(f).toMatchObject({
      step_key: 'charge',
      attempt: 1,
      error_class: 'CardDeclined',
      source: 'step',
      failure_type: 'PERMANENT',
      recovery_strategy: 'rollback',
      recovered: false,
      retries_exhausted: false,
    });
  });

  test('a step error the workflow catches is recorded, and the workflow goes on', async () => {
    const wf = defineWorkflow('run-catch', async (ctx) => {
      const got = await ctx.step('flaky', () => {
        throw new PermanentError('nope');
      }).catch((e: Error) => `caught ${e.message}`);
      await ctx.step('after', () => 1);
      return got;
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    expect(await h.result({ timeoutMs: 20_000 })).toBe('caught nope');
  });

  test('many executions run concurrently to completion', async () => {
    const wf = defineWorkflow('run-many', async (ctx, n: number) => {
      let sum = 0;
      for (let i = 0; i < 5; i++) sum += await ctx.step(`s${i}`, () => n + i);
      return sum;
    });
    await worker([wf]);
    const handles = await Promise.all(Array.from({ length: 40 }, (_, i) => b.engine.start(wf, i)));
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 60_000 })));
    expect(results).toEqual(handles.map((_, i) => 5 * i + 10));
  });

  test('stop() lets the running step finish and hands the execution back before its next step', async () => {
    const gate = latch();
    const inStep = latch();
    const wf = defineWorkflow('run-graceful', async (ctx) => {
      await ctx.step('slow', async () => {
        inStep.open();
        await gate.promise;
        return 'slow done';
      });
      await ctx.step('next', () => 'next done');
      return 'finished';
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 100 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await inStep.promise;
    const stopping = w.stop();
    gate.open();
    await stopping;
    const detail = (await b.engine.admin.getExecution(h.id))!;
    expect(detail.execution.status).toBe('PENDING');
    expect(detail.steps.map((s) => [s.key, s.status])).toEqual([['slow', 'COMPLETED']]);
    expect(w.stats.released).toBe(1);
    // Another worker finishes it, replaying "slow" rather than running it again.
    const w2 = await worker([wf]);
    expect(await h.result({ timeoutMs: 20_000 })).toBe('finished');
    expect(w2.stats.stepsReplayed).toBe(1);
    expect(w2.stats.stepsRun).toBe(1);
  });

  test('cleanup', async () => {
    await Promise.all(started.map((w) => w.stop()));
  });
});

describeBackends('engine signals a workflow cannot swallow', (b) => {
  test('a workflow that catches the shutdown signal is still handed back, not completed', async () => {
    const gate = latch();
    const inStep = latch();
    const wf = defineWorkflow('signal-yield', async (ctx) => {
      await ctx.step('slow', async () => {
        inStep.open();
        await gate.promise;
        return 1;
      });
      try {
        await ctx.step('next', () => 2);
      } catch {
        return { charged: false }; // swallows every error, including the worker's shutdown
      }
      return { charged: true };
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await inStep.promise;
    const stopping = w.stop();
    gate.open();
    await stopping;
    expect((await h.status()).status).toBe('PENDING');
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w2.start();
    expect(await h.result({ timeoutMs: 20_000 })).toEqual({ charged: true });
    await w2.stop();
  });

  test('stop() called twice resolves only when the running step has finished and been recorded', async () => {
    const inStep = latch();
    const wf = defineWorkflow('signal-double-stop', async (ctx) => {
      await ctx.step('slow', async () => {
        inStep.open();
        await new Promise((r) => setTimeout(r, 300));
        return 'done';
      });
      await ctx.step('after', () => 1);
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w.start();
    const h = await b.engine.start(wf, {});
    await inStep.promise;
    void w.stop();
    await w.stop();
    const detail = (await b.engine.admin.getExecution(h.id))!;
    expect(detail.steps.map((s) => [s.key, s.status])).toEqual([['slow', 'COMPLETED']]);
    expect(detail.execution.status).toBe('PENDING');
  });

  test('a step output PostgreSQL cannot store (a NUL character) fails the step cleanly instead of re-running it', async () => {
    let runs = 0;
    const wf = defineWorkflow('signal-nul', async (ctx) => ctx.step('nul', () => (runs++, 'abc\u0000def')));
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w.start();
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('output of step "nul" is not JSON-serialisable: it contains the NUL character');
    expect(runs).toBe(1);
    await w.stop();
  });
});
