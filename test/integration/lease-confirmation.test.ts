/**
 * The lease check before a step body, in one process: a worker whose event loop is blocked (a busy
 * loop, standing in for a GC pause or a stopped process) past its lease between the commit of a step's
 * intent and its body, so that no heartbeat runs meanwhile. If another worker took the execution over,
 * the body does not start; if nobody did, the worker renews first and goes on. (A real stopped process:
 * test/faults/zombie-sigstop.test.ts.)
 */
import { expect, test } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { claimExecutions } from '../../src/db/leases.js';
import { defineWorkflow, Worker, type Engine } from '../../src/index.js';
import type { RunOutcome } from '../../src/worker/run/execution-runner.js';
import { describeBackends } from '../helpers/backends.js';

const LEASE_MS = 400;

/** Blocks the event loop: no timer, no I/O callback runs meanwhile. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

/** The write that journals the intent of step `second`. */
const intentOfSecond = (sql: string, params?: readonly unknown[]) =>
  sql.includes('record_steps_durably') && String(params?.[0]).includes('"start_key":"second"');

/**
 * The engine's database, but the first write `at` matches is answered only after `stall` ran, and every
 * call is logged by the SQL function it names.
 */
function stalling(db: Database, stall: () => Promise<void>, log: string[], at = intentOfSecond): Database {
  let stalled = false;
  return {
    kind: db.kind,
    description: db.description,
    query: async <Row,>(sql: string, params?: readonly unknown[]) => {
      log.push(/aries\.(\w+)/.exec(sql)?.[1] ?? sql.trim().split(/\s+/, 1)[0]!);
      const rows = await db.query<Row>(sql, params);
      if (!stalled && at(sql, params)) {
        stalled = true;
        await stall();
        log.push('stall over');
      }
      return rows;
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: async () => {},
  };
}

function workflowFor(engine: Engine, name: string, log: string[]) {
  const began = async (s: { executionId: string; stepKey: string; attempt: number }) => {
    log.push(`body ${s.stepKey}`);
    await engine.db.query('INSERT INTO confirmation_effects (execution_id, step_key, attempt) VALUES ($1, $2, $3)', [
      s.executionId,
      s.stepKey,
      s.attempt,
    ]);
  };
  return defineWorkflow(name, async (ctx) => {
    for (const key of ['first', 'second', 'third']) await ctx.step(key, (s) => began(s));
    return 'done';
  });
}

async function effects(engine: Engine, id: string): Promise<string[]> {
  const rows = await engine.db.query<{ step_key: string; attempt: number }>(
    'SELECT step_key, attempt FROM confirmation_effects WHERE execution_id = $1 ORDER BY id',
    [id],
  );
  return rows.map((r) => `${r.step_key}:${r.attempt}`);
}

function outcomeOf(): { promise: Promise<RunOutcome>; resolve: (o: RunOutcome) => void } {
  let resolve!: (o: RunOutcome) => void;
  return { promise: new Promise<RunOutcome>((r) => (resolve = r)), resolve };
}

describeBackends('a worker stalled past its lease before a step body', (b) => {
  test('does not start the body when another worker took the execution over meanwhile', async () => {
    const { engine } = b;
    await engine.db.exec(`CREATE TABLE IF NOT EXISTS confirmation_effects (
      id bigserial PRIMARY KEY, execution_id uuid, step_key text, attempt int)`);
    const log: string[] = [];
    const workflow = workflowFor(engine, 'confirmation-taken', log);
    const handle = await engine.start(workflow, null);
    // The takeover: A's lease made expired and claimed by B in one transaction (a renewal by A cannot
    // come between), then A's event loop stays blocked past its lease.
    const takeOver = async () => {
      const claimed = await engine.db.transaction(async (tx) => {
        await tx.query(`UPDATE aries.executions SET lease_expires_at = aries.now() - interval '1 second' WHERE id = $1`, [handle.id]);
        return claimExecutions(tx, { worker: 'worker-B', workflowKeys: [workflow.key], limit: 1, leaseMs: 60_000 });
      });
      expect(claimed.map((c) => c.executionId)).toEqual([handle.id]);
      busyWait(LEASE_MS);
    };
    const outcome = outcomeOf();
    const workerA = new Worker(
      stalling(engine.db, takeOver, log),
      { workflows: [workflow], concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: 50, schedulerIntervalMs: 0, id: 'worker-A' },
      { onFinished: (_id, o) => outcome.resolve(o), onError: () => {} },
    );
    await workerA.start();
    try {
      expect(await outcome.promise).toBe('leaseLost');
    } finally {
      await workerA.stop();
    }
    expect(await effects(engine, handle.id)).toEqual(['first:1']);
    expect(log).not.toContain('body second');
    // What A asked after the stall: a renewal, which found the lease gone.
    expect(log.slice(log.indexOf('stall over'))).toContain('renew_leases');
  });

  test('renews first and runs the body when the lease is still its own', async () => {
    const { engine } = b;
    await engine.db.exec(`CREATE TABLE IF NOT EXISTS confirmation_effects (
      id bigserial PRIMARY KEY, execution_id uuid, step_key text, attempt int)`);
    const log: string[] = [];
    const workflow = workflowFor(engine, 'confirmation-held', log);
    const handle = await engine.start(workflow, null);
    const outcome = outcomeOf();
    const workerA = new Worker(
      stalling(engine.db, async () => busyWait(LEASE_MS), log),
      { workflows: [workflow], concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: 50, schedulerIntervalMs: 0, id: 'worker-A' },
      { onFinished: (_id, o) => outcome.resolve(o), onError: () => {} },
    );
    await workerA.start();
    try {
      expect(await outcome.promise).toBe('completed');
    } finally {
      await workerA.stop();
    }
    expect(await handle.result()).toBe('done');
    expect(await effects(engine, handle.id)).toEqual(['first:1', 'second:1', 'third:1']);
    // Between the stall and the body of second, the lease was renewed.
    const after = log.slice(log.indexOf('stall over'));
    expect(after.indexOf('renew_leases')).toBeGreaterThan(-1);
    expect(after.indexOf('renew_leases')).toBeLessThan(after.indexOf('body second'));
  });
});

describeBackends('a worker stalled past its lease before a compensation', (b) => {
  test('does not start the compensation when another worker took the execution over meanwhile', async () => {
    const { engine } = b;
    await engine.db.exec(`CREATE TABLE IF NOT EXISTS confirmation_effects (
      id bigserial PRIMARY KEY, execution_id uuid, step_key text, attempt int)`);
    const log: string[] = [];
    const began = async (executionId: string, stepKey: string, attempt: number) => {
      log.push(`body ${stepKey}`);
      await engine.db.query('INSERT INTO confirmation_effects (execution_id, step_key, attempt) VALUES ($1, $2, $3)', [executionId, stepKey, attempt]);
    };
    const workflow = defineWorkflow('confirmation-saga', async (ctx) => {
      await ctx.step('reserve', (s) => began(s.executionId, s.stepKey, s.attempt), {
        compensate: (_out, c) => began(c.executionId, 'undo reserve', c.attempt),
      });
      await ctx.step('charge', () => {
        throw new Error('card declined');
      }, { retry: { maxAttempts: 1 } });
      return 'done';
    });
    const handle = await engine.start(workflow, null);
    const takeOver = async () => {
      const claimed = await engine.db.transaction(async (tx) => {
        await tx.query(`UPDATE aries.executions SET lease_expires_at = aries.now() - interval '1 second' WHERE id = $1`, [handle.id]);
        return claimExecutions(tx, { worker: 'worker-B', workflowKeys: [workflow.key], limit: 1, leaseMs: 60_000 });
      });
      expect(claimed.map((c) => c.executionId)).toEqual([handle.id]);
      busyWait(LEASE_MS);
    };
    const compensationStarted = (sql: string, params?: readonly unknown[]) => sql.includes('aries.record_compensation') && params?.[3] === 'started';
    const outcome = outcomeOf();
    const workerA = new Worker(
      stalling(engine.db, takeOver, log, compensationStarted),
      { workflows: [workflow], concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: 50, schedulerIntervalMs: 0, id: 'worker-A' },
      { onFinished: (_id, o) => outcome.resolve(o), onError: () => {} },
    );
    await workerA.start();
    try {
      expect(await outcome.promise).toBe('leaseLost');
    } finally {
      await workerA.stop();
    }
    expect(log).toContain('stall over');
    expect(log).not.toContain('body undo reserve');
    expect(await effects(engine, handle.id)).toEqual(['reserve:1']);
  });
});
