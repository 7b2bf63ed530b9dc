import { expect, test } from 'vitest';
import { defineWorkflow, PermanentError, type Workflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { parseExposition, type Exposition } from '../helpers/exposition.js';
import { latch } from '../helpers/latch.js';
import { expireLease, sqlClaim } from '../helpers/sql.js';

/**
 * Prometheus metrics: engine.admin.renderMetrics() is a valid exposition of what this process's engine and
 * workers did (exact counts by workflow, step type and failure type; one histogram observation per step
 * attempt run, none per replay) and of the database gauges read at scrape time.
 */
describeBackends('metrics', (b) => {
  const fast = { initialDelayMs: 10, maxDelayMs: 10, jitter: 'none' } as const;
  const scrape = async (): Promise<Exposition> => parseExposition(await b.engine.admin.renderMetrics());
  const settle = (p: Promise<unknown>) => p.then(() => 'completed', (e: unknown) => (e as Error).constructor.name);

  async function until(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const ok = defineWorkflow('m-ok', async (ctx) => {
    await ctx.step('a', () => 1);
    await ctx.step('b', () => 2);
  });
  const fails = defineWorkflow('m-fail', { retry: fast }, async (ctx) => {
    await ctx.step('a', () => 1);
    await ctx.step('b', () => {
      throw new PermanentError('refused');
    });
  });
  const retries = defineWorkflow('m-retry', { retry: { ...fast, maxAttempts: 3 } }, async (ctx) => {
    await ctx.step('flaky', ({ attempt }) => {
      if (attempt === 1) throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      return attempt;
    });
    await ctx.transaction('tx', async (tx) => (await tx.query<{ one: number }>('SELECT 1 AS one'))[0]!.one);
  });
  const compensates = defineWorkflow('m-comp', { retry: fast }, async (ctx) => {
    await ctx.step('reserve', () => 'hold', { compensate: () => 'released' });
    await ctx.step('ship', () => {
      throw new PermanentError('no stock');
    });
  });
  const queued = defineWorkflow('m-queued', async () => 'never run here');

  test('runs that complete, fail, retry and compensate: exact counters, histograms and gauges', async () => {
    const workflows: Workflow<any, any>[] = [ok, fails, retries, compensates];
    const w = b.engine.worker({ workflows, pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    const handles = await Promise.all(workflows.map((wf) => b.engine.start(wf, {}, { idempotencyKey: `${b.name}-${wf.name}` })));
    await b.engine.start(ok, {}, { idempotencyKey: `${b.name}-m-ok` }); // the same execution: not started again
    const outcomes = await Promise.all(handles.map((h) => settle(h.result({ timeoutMs: 20_000 }))));
    expect(outcomes).toEqual(['completed', 'ExecutionFailedError', 'completed', 'ExecutionCompensatedError']);
    await w.stop();

    // Due PENDING executions no worker here runs: three due now, one due in an hour (not in the queue depth).
    const pending = await Promise.all([1, 2, 3, 4].map((i) => b.engine.start(queued, { i })));
    await b.engine.db.query(`UPDATE aries.executions SET available_at = now() + interval '1 hour' WHERE id = $1`, [pending[3]!.id]);

    const m = await scrape();
    for (const wf of ['m-ok', 'm-fail', 'm-retry', 'm-comp']) expect(m.value('aries_executions_started_total', { workflow: wf })).toBe(1);
    expect(m.value('aries_executions_started_total', { workflow: 'm-queued' })).toBe(4);
    const outcome = (name: string) => ['m-ok', 'm-fail', 'm-retry', 'm-comp'].map((workflow) => m.value(name, { workflow }));
    expect(outcome('aries_executions_completed_total')).toEqual([1, 0, 1, 0]);
    expect(outcome('aries_executions_failed_total')).toEqual([0, 1, 0, 0]);
    expect(outcome('aries_executions_compensated_total')).toEqual([0, 0, 0, 1]);

    const attempts = (workflow: string, step_type: string) => m.value('aries_step_attempts_total', { workflow, step_type });
    expect([attempts('m-ok', 'step'), attempts('m-fail', 'step'), attempts('m-retry', 'step'), attempts('m-comp', 'step')]).toEqual([2, 2, 2, 2]);
    expect(attempts('m-retry', 'transaction')).toBe(1);
    expect(attempts('m-ok', 'transaction')).toBe(0);
    const failures = (workflow: string) =>
      ['TRANSIENT', 'PERMANENT', 'PARTIAL'].map((failure_type) => m.value('aries_step_failures_total', { workflow, failure_type }));
    expect(failures('m-ok')).toEqual([0, 0, 0]);
    expect(failures('m-fail')).toEqual([0, 1, 0]);
    expect(failures('m-retry')).toEqual([1, 0, 0]);
    expect(failures('m-comp')).toEqual([0, 1, 0]); // the step failed PERMANENT; the execution then went PARTIAL

    // One observation per attempt run (m-retry's second run replays nothing it ran: "flaky" failed), none per replay.
    const durations = (workflow: string) => m.value('aries_step_duration_seconds_count', { workflow });
    expect(['m-ok', 'm-fail', 'm-retry', 'm-comp'].map(durations)).toEqual([2, 2, 3, 2]);
    const buckets = m.find('aries_step_duration_seconds_bucket', { workflow: 'm-retry' });
    expect(buckets.at(-1)).toMatchObject({ labels: { le: '+Inf' }, value: 3 });
    expect(buckets.every((s, i) => i === 0 || s.value >= buckets[i - 1]!.value)).toBe(true);
    expect(m.value('aries_step_duration_seconds_sum', { workflow: 'm-retry' })).toBeGreaterThan(0);

    // Five runs claimed (m-retry twice: its retry is a durable timer), each claim timed.
    expect(m.value('aries_claimed_executions_total')).toBe(5);
    expect(m.value('aries_claim_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(m.value('aries_lease_expiries_total')).toBe(0);
    expect(m.value('aries_leases_lost_total')).toBe(0);
    expect(m.value('aries_worker_active_executions')).toBe(0);

    expect(m.value('aries_database_up')).toBe(1);
    expect(m.value('aries_queue_depth')).toBe(3);
    // The process's own metrics, as operators expect of a Node.js service's /metrics (prom-client's defaults).
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(m.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(m.types.get('nodejs_gc_duration_seconds')).toBe('histogram');
    expect(['PENDING', 'RUNNING', 'COMPENSATING', 'FAILED'].map((status) => m.value('aries_executions', { status }))).toEqual([4, 0, 0, 1]);
    expect(m.value('aries_expired_leases')).toBe(0);

    // Every family announced once, with its type.
    expect(Object.fromEntries(m.types)).toMatchObject({
      aries_executions_started_total: 'counter',
      aries_executions_completed_total: 'counter',
      aries_executions_failed_total: 'counter',
      aries_executions_compensated_total: 'counter',
      aries_step_attempts_total: 'counter',
      aries_step_failures_total: 'counter',
      aries_step_duration_seconds: 'histogram',
      aries_claim_duration_seconds: 'histogram',
      aries_claimed_executions_total: 'counter',
      aries_lease_expiries_total: 'counter',
      aries_leases_lost_total: 'counter',
      aries_worker_active_executions: 'gauge',
      aries_database_up: 'gauge',
      aries_queue_depth: 'gauge',
      aries_executions: 'gauge',
      aries_expired_leases: 'gauge',
    });
    expect([...m.helps.keys()].sort()).toEqual([...m.types.keys()].sort());
    // No label carries an execution id.
    expect(m.samples.some((s) => Object.values(s.labels).some((v) => handles.some((h) => v.includes(h.id))))).toBe(false);

    // Recoveries: by an operator, and by the sweep (as many as it reports).
    await b.engine.admin.recover(handles[1]!.id);
    const swept = await b.engine.admin.autoRecoverFailures();
    const after = await scrape();
    expect(after.value('aries_recoveries_total', { by: 'operator' })).toBe(1);
    expect(after.value('aries_recoveries_total', { by: 'sweep' })).toBe(swept);
    expect(after.value('aries_queue_depth')).toBe(4); // the recovered execution is due again
    expect(after.value('aries_executions', { status: 'FAILED' })).toBe(0);
  });

  test('an expired lease is a gauge until a worker resumes it, then a lease expiry', async () => {
    const orphan = defineWorkflow('m-orphan', async (ctx) => ctx.step('a', () => 'done'));
    const h = await b.engine.start(orphan, {});
    await sqlClaim(b.engine.db, 'ghost', [orphan.key], 10); // a worker that then died
    await expireLease(b.engine.db, h.id);
    const before = await scrape();
    expect(before.value('aries_expired_leases')).toBe(1);
    expect(before.value('aries_executions', { status: 'RUNNING' })).toBe(1);
    const expiriesBefore = before.value('aries_lease_expiries_total');

    const w = b.engine.worker({ workflows: [orphan], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    await h.result({ timeoutMs: 20_000 });
    await w.stop();
    const after = await scrape();
    expect(after.value('aries_lease_expiries_total')).toBe(expiriesBefore + 1);
    expect(after.value('aries_expired_leases')).toBe(0);
    expect(after.value('aries_executions_completed_total', { workflow: 'm-orphan' })).toBe(1);
  });

  test('a run whose lease is taken over counts as a lease lost; its aborted attempt is still timed', async () => {
    const started = latch();
    const stalled = defineWorkflow('m-stalled', async (ctx) =>
      ctx.step('wait', ({ signal }) => {
        started.open();
        return new Promise((resolve) => signal.addEventListener('abort', resolve));
      }),
    );
    const lostBefore = (await scrape()).value('aries_leases_lost_total');
    const w = b.engine.worker({ workflows: [stalled], pollIntervalMs: 20, leaseMs: 300, schedulerIntervalMs: 0 });
    await w.start();
    const h = await b.engine.start(stalled, {});
    await started.promise;
    await expireLease(b.engine.db, h.id);
    await sqlClaim(b.engine.db, 'usurper', [stalled.key], 10); // takes it over: the token moves on
    await until(() => w.stats.leaseLost === 1);
    await w.stop();
    const m = await scrape();
    expect(m.value('aries_leases_lost_total')).toBe(lostBefore + 1);
    expect(m.value('aries_step_attempts_total', { workflow: 'm-stalled', step_type: 'step' })).toBe(1);
    expect(m.value('aries_step_duration_seconds_count', { workflow: 'm-stalled' })).toBe(1);
    expect(m.value('aries_step_failures_total', { workflow: 'm-stalled', failure_type: 'TRANSIENT' })).toBe(0);
  });

  test('waits: sleeping, waiting and sub-committed gauges; signals sent and consumed; timeouts by kind', async () => {
    const HOUR = 3_600_000;
    const child = defineWorkflow('m-child', async (ctx) => ctx.step('work', () => 'done'));
    const parent = defineWorkflow('m-parent', async (ctx) => {
      const done = await ctx.child('c', child, {});
      return [done, await ctx.waitForSignal('approved')];
    });
    const sleeper = defineWorkflow('m-sleeper', async (ctx) => ctx.sleep('nap', HOUR));
    const slowStep = defineWorkflow('m-slow-step', { retry: { ...fast, maxAttempts: 2 } }, async (ctx) =>
      ctx.step(
        'call',
        ({ attempt, signal }) =>
          attempt === 1 ? new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted'))) : 'answered',
        { timeoutMs: 50 },
      ),
    );
    const impatient = defineWorkflow('m-impatient', async (ctx) => ctx.waitForSignal('reply', { timeoutMs: 50 }).catch(() => 'gave up'));
    const late = defineWorkflow('m-late', { timeoutMs: 200 }, async (ctx) => ctx.sleep('too-long', HOUR));
    const gauge = (m: Exposition, status: string) => m.value('aries_executions', { status });
    const before = await scrape();
    const sentBefore = before.value('aries_signals_sent_total');
    const w = b.engine.worker({ workflows: [child, parent, sleeper, slowStep, impatient, late], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    const p = await b.engine.start(parent, {});
    const s = await b.engine.start(sleeper, {});
    const slow = await b.engine.start(slowStep, {});
    const imp = await b.engine.start(impatient, {});
    const lateRun = await b.engine.start(late, {});
    expect(await slow.result({ timeoutMs: 20_000 })).toBe('answered');
    expect(await imp.result({ timeoutMs: 20_000 })).toBe('gave up');
    expect(await settle(lateRun.result({ timeoutMs: 20_000 }))).toBe('ExecutionFailedError');
    await until(async () => {
      const m = await scrape();
      return gauge(m, 'SLEEPING') === 1 && gauge(m, 'WAITING') === 1 && gauge(m, 'SUB_COMMITTED') === 1;
    });

    // A signal sent before its wait, one sent twice under one key (stored once), and one with a start.
    await b.engine.signal(p.id, 'approved', 'yes', { idempotencyKey: 'approval' });
    await b.engine.signal(p.id, 'approved', 'yes', { idempotencyKey: 'approval' });
    const withStart = defineWorkflow('m-with-start', async (ctx) => ctx.waitForSignal('kick'));
    await b.engine.signalWithStart(withStart, {}, { idempotencyKey: 'm-with-start-1', signal: { name: 'kick', payload: 1 } });
    expect(await p.result({ timeoutMs: 20_000 })).toEqual(['done', 'yes']);
    await b.engine.admin.cancel(s.id);
    await w.stop();

    const m = await scrape();
    expect(m.value('aries_signals_sent_total')).toBe(sentBefore + 2);
    expect(m.value('aries_signals_consumed_total', { workflow: 'm-parent' })).toBe(1);
    expect(m.value('aries_signals_consumed_total', { workflow: 'm-impatient' })).toBe(0);
    const timeouts = (workflow: string) => ['step', 'wait', 'execution'].map((kind) => m.value('aries_timeouts_total', { workflow, kind }));
    expect(timeouts('m-slow-step')).toEqual([1, 0, 0]);
    expect(timeouts('m-impatient')).toEqual([0, 1, 0]);
    expect(timeouts('m-late')).toEqual([0, 0, 1]);
    expect(timeouts('m-parent')).toEqual([0, 0, 0]);
    expect(m.value('aries_step_failures_total', { workflow: 'm-slow-step', failure_type: 'TRANSIENT' })).toBe(1);
    // The parent completed (its child with it) and the sleeper was cancelled; m-with-start waits, unclaimed.
    expect(['SLEEPING', 'WAITING', 'SUB_COMMITTED'].map((status) => gauge(m, status))).toEqual([0, 0, 0]);
    expect(gauge(m, 'PENDING')).toBeGreaterThanOrEqual(1);
    expect(m.types.get('aries_signals_sent_total')).toBe('counter');
    expect(m.types.get('aries_signals_consumed_total')).toBe('counter');
    expect(m.types.get('aries_timeouts_total')).toBe('counter');
  });

  test('the database unreachable: the counters are still rendered, with aries_database_up 0', async () => {
    const real = b.engine.db.query.bind(b.engine.db);
    const db = b.engine.db as { query: typeof real };
    db.query = () => Promise.reject(new Error('connection refused'));
    try {
      const m = parseExposition(await b.engine.admin.renderMetrics());
      expect(m.value('aries_database_up')).toBe(0);
      expect(m.types.has('aries_queue_depth')).toBe(false);
      expect(m.value('aries_executions_started_total', { workflow: 'm-ok' })).toBe(1);
    } finally {
      db.query = real;
    }
  });
});
