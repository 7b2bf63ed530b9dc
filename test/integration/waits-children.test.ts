import { expect, test } from 'vitest';
import {
  defineWorkflow,
  ExecutionCancelledError,
  ExecutionCompensatedError,
  IllegalTransitionError,
  PermanentError,
  WaitTimeoutError,
} from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { latch } from '../helpers/latch.js';
import { connectionReset, executionReaders, FAST, stepReader, waitFor, workerStarter } from '../helpers/waits.js';

/**
 * Child workflows (ctx.child): the child's result is the parent's step output, its id is derived from
 * (parent, key) so a replay never starts a second one, and the parent waits WAITING without a worker
 * slot. A child's failure is a failure of the parent's step (a PERMANENT one compensates the parent). A
 * child that completes before its parent is SUB_COMMITTED: it commits with the parent, or is compensated
 * with the parent's saga. Cancelling a parent cancels its unfinished children unless they were started
 * with parentClose 'abandon'.
 */

interface ExecRow {
  id: string;
  status: string;
  lease_owner: string | null;
  output: unknown;
  input: unknown;
  finished_at: Date | null;
  parent_id: string | null;
  parent_step_key: string | null;
  parent_close: string | null;
}

const COLUMNS = 'id, status, lease_owner, output, input, finished_at, parent_id, parent_step_key, parent_close';

const { execRow, untilStatus } = executionReaders<ExecRow>(COLUMNS);

/** The children of an execution, by the parent's step key. */
async function children(db: Queryable, parentId: string): Promise<ExecRow[]> {
  return db.query<ExecRow>(`SELECT ${COLUMNS} FROM aries.executions WHERE parent_id = $1 ORDER BY parent_step_key`, [parentId]);
}

/** Waits until the parent has a child under `key`, and returns it. */
const untilChild = (db: Queryable, parentId: string, key: string, statuses?: string[]) =>
  waitFor(`a child "${key}" of ${parentId}${statuses ? ` that is ${statuses.join(' or ')}` : ''}`, async () =>
    (await children(db, parentId)).find((c) => c.parent_step_key === key && (!statuses || statuses.includes(c.status))),
  );

const stepRow = stepReader<{ kind: string; status: string; ended: boolean }>('kind, status, ended_at IS NOT NULL AND ended_at >= started_at AS ended');

describeBackends('child workflows', (b) => {
  const worker = workerStarter(b);

  /** A child that waits for the signal "finish" and returns "done:<payload>": it runs as long as a test wants. */
  const waiter = defineWorkflow('child-waiter', async (ctx) => `done:${String(await ctx.waitForSignal('finish'))}`);

  test("the child's result is the parent's step output; the child names its parent and got the input it was given", async () => {
    const charge = defineWorkflow('child-result-charge', async (ctx, input: { orderId: string }) =>
      ctx.step('charge', () => ({ receipt: `${input.orderId}-r` })),
    );
    const order = defineWorkflow('child-result-order', async (ctx, input: { orderId: string }) => {
      const receipt = await ctx.child('charge', charge, { orderId: input.orderId });
      return ctx.step('confirm', () => ({ confirmed: receipt.receipt }));
    });
    await worker([order, charge]);
    const h = await b.engine.start(order, { orderId: 'o-42' });
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ confirmed: 'o-42-r' });
    expect(await stepRow(b.engine.db, h.id, 'charge')).toMatchObject({ kind: 'child', status: 'COMPLETED' });
    const steps = (await b.engine.admin.getExecution(h.id))!.steps;
    expect(steps.find((s) => s.key === 'charge')?.output).toEqual({ receipt: 'o-42-r' });
    const kids = await children(b.engine.db, h.id);
    expect(kids).toHaveLength(1);
    expect(kids[0]).toMatchObject({ status: 'COMPLETED', input: { orderId: 'o-42' }, output: { receipt: 'o-42-r' }, parent_step_key: 'charge', parent_close: 'cancel' });
    const [wait] = await b.engine.db.query<{ child_id: string }>(`SELECT child_id FROM aries.waits WHERE execution_id = $1 AND step_key = 'charge'`, [h.id]);
    expect(wait?.child_id).toBe(kids[0]!.id);
  });

  test('a parent waits WAITING without a slot: a worker at concurrency 1 runs the child meanwhile, no deadlock', async () => {
    const inChild = latch();
    const release = latch();
    const child = defineWorkflow('child-slot-child', async (ctx) =>
      ctx.step('work', async () => {
        inChild.open();
        await release.promise;
        return 'child done';
      }),
    );
    const parent = defineWorkflow('child-slot-parent', async (ctx) => ctx.child('sub', child, {}));
    const w = await worker([parent, child], { concurrency: 1 });
    const h = await b.engine.start(parent, {});
    await inChild.promise;
    const kid = await untilChild(b.engine.db, h.id, 'sub', ['RUNNING']);
    expect(kid.lease_owner).toBe(w.id);
    expect(await execRow(b.engine.db, h.id)).toMatchObject({ status: 'WAITING', lease_owner: null });
    release.open();
    expect(await h.result({ timeoutMs: 10_000 })).toBe('child done');
  });

  test('a replayed ctx.child starts no second child: after a worker restart during the child and a transient failure after it', async () => {
    let childRuns = 0;
    const child = defineWorkflow('child-replay-child', async (ctx) => {
      const go = await ctx.waitForSignal<string>('go');
      return ctx.step('work', () => (childRuns++, `child:${go}`));
    });
    const parent = defineWorkflow('child-replay-parent', { retry: FAST }, async (ctx) => {
      const out = await ctx.child('sub', child, {});
      return ctx.step('after', ({ attempt }) => {
        if (attempt === 1) throw connectionReset(); // the parent is replayed, ctx.child with it
        return `${out}|${attempt}`;
      });
    });
    const first = await worker([parent, child]);
    const h = await b.engine.start(parent, {});
    const kid = await untilChild(b.engine.db, h.id, 'sub', ['WAITING']);
    await untilStatus(b.engine.db, h.id, ['WAITING']);
    await first.stop();
    await worker([parent, child]);
    await b.engine.signal(kid.id, 'go', 'now');
    expect(await h.result({ timeoutMs: 10_000 })).toBe('child:now|2');
    expect(childRuns).toBe(1);
    const kids = await children(b.engine.db, h.id);
    expect(kids.map((k) => [k.id, k.status])).toEqual([[kid.id, 'COMPLETED']]);
  });

  test("a child's failure fails the parent's step with CHILD_FAILED, naming the child and its failure type", async () => {
    const child = defineWorkflow('child-fail-child', async (ctx) => {
      await ctx.step('charge', () => {
        throw new PermanentError('card declined');
      });
    });
    const parent = defineWorkflow('child-fail-parent', async (ctx) => {
      try {
        await ctx.child('pay', child, {});
        return 'unreachable';
      } catch (e) {
        const err = e as { code?: string; childExecutionId?: string; failureType?: string; message: string };
        return { code: err.code, childExecutionId: err.childExecutionId, failureType: err.failureType, message: err.message };
      }
    });
    await worker([parent, child]);
    const h = await b.engine.start(parent, {});
    const caught = (await h.result({ timeoutMs: 10_000 })) as { code: string; childExecutionId: string; failureType: string; message: string };
    const [kid] = await children(b.engine.db, h.id);
    expect(kid?.status).toBe('FAILED');
    expect(caught).toMatchObject({ code: 'CHILD_FAILED', childExecutionId: kid!.id, failureType: 'PERMANENT' });
    expect(caught.message).toContain('card declined');
  });

  test("a PERMANENT child failure after compensable parent steps compensates the parent", async () => {
    const log: string[] = [];
    const child = defineWorkflow('child-comp-charge', async (ctx) => {
      await ctx.step('charge', () => {
        throw new PermanentError('card declined');
      });
    });
    const parent = defineWorkflow('child-comp-order', async (ctx) => {
      await ctx.step('reserve', () => void log.push('reserve'), { compensate: () => void log.push('release') });
      await ctx.child('pay', child, {});
      return 'unreachable';
    });
    await worker([parent, child]);
    const h = await b.engine.start(parent, {});
    await expect(h.result({ timeoutMs: 10_000 })).rejects.toBeInstanceOf(ExecutionCompensatedError);
    expect(log).toEqual(['reserve', 'release']);
    expect((await execRow(b.engine.db, h.id)).status).toBe('COMPENSATED');
    const [f] = await b.engine.db.query<{ failure_type: string; step_key: string; recovery_strategy: string }>(
      `SELECT failure_type, step_key, recovery_strategy FROM aries.failures WHERE execution_id = $1 AND failure_type = 'PARTIAL'`,
      [h.id],
    );
    expect(f).toEqual({ failure_type: 'PARTIAL', step_key: 'pay', recovery_strategy: 'compensate' });
  });

  test('a child that completes before its parent is SUB_COMMITTED with its output, and COMPLETED (recursively) when the parent completes', async () => {
    const held = latch();
    const release = latch();
    const grandchild = defineWorkflow('child-sc-grandchild', async (ctx) => ctx.step('g', () => 'g-out'));
    const child = defineWorkflow('child-sc-child', async (ctx) => {
      const g = await ctx.child('gc', grandchild, {});
      return ctx.step('c', () => `c-out(${g})`);
    });
    const parent = defineWorkflow('child-sc-parent', async (ctx) => {
      const c = await ctx.child('sub', child, {});
      await ctx.step('hold', async () => {
        held.open();
        await release.promise;
      });
      return c;
    });
    await worker([parent, child, grandchild]);
    const h = await b.engine.start(parent, {});
    await held.promise;
    const kid = await untilChild(b.engine.db, h.id, 'sub');
    const [grandkid] = await children(b.engine.db, kid.id);
    expect(kid).toMatchObject({ status: 'SUB_COMMITTED', output: 'c-out(g-out)', finished_at: null });
    expect(grandkid).toMatchObject({ status: 'SUB_COMMITTED', output: 'g-out', finished_at: null, parent_step_key: 'gc' });
    expect(await b.engine.handle(kid.id).result({ timeoutMs: 2_000 })).toBe('c-out(g-out)');
    release.open();
    expect(await h.result({ timeoutMs: 10_000 })).toBe('c-out(g-out)');
    for (const id of [kid.id, grandkid!.id]) {
      const row = await execRow(b.engine.db, id);
      expect(row.status, id).toBe('COMPLETED');
      expect(row.finished_at, id).toBeInstanceOf(Date);
    }
  });

  test("a compensated parent compensates its SUB_COMMITTED child as a unit, the child's compensations in reverse", async () => {
    const log: string[] = [];
    const child = defineWorkflow('child-saga-child', async (ctx) => {
      await ctx.step('c1', () => 'c1', { compensate: () => void log.push('undo c1') });
      await ctx.step('c2', () => 'c2', { compensate: () => void log.push('undo c2') });
      return 'child ok';
    });
    const parent = defineWorkflow('child-saga-parent', async (ctx) => {
      await ctx.step('p1', () => 'p1', { compensate: () => void log.push('undo p1') });
      await ctx.child('sub', child, {});
      await ctx.step('p2', () => {
        throw new PermanentError('shipping impossible');
      });
    });
    await worker([parent, child]);
    const h = await b.engine.start(parent, {});
    await untilStatus(b.engine.db, h.id, ['COMPENSATED']);
    await expect(h.result({ timeoutMs: 2_000 })).rejects.toBeInstanceOf(ExecutionCompensatedError);
    // Reverse completion order: the child (completed after p1) first, its own steps in reverse, then p1.
    expect(log).toEqual(['undo c2', 'undo c1', 'undo p1']);
    const [kid] = await children(b.engine.db, h.id);
    expect(kid?.status).toBe('COMPENSATED');
    expect((await execRow(b.engine.db, h.id)).status).toBe('COMPENSATED');
    const compensated = await b.engine.db.query<{ step_key: string; compensation_status: string }>(
      'SELECT step_key, compensation_status FROM aries.steps WHERE execution_id = $1 AND seq >= 0 ORDER BY seq',
      [kid!.id],
    );
    expect(compensated).toEqual([
      { step_key: 'c1', compensation_status: 'COMPLETED' },
      { step_key: 'c2', compensation_status: 'COMPLETED' },
    ]);
  });

  test("cancelling a parent cancels its unfinished children, except one started with parentClose 'abandon'", async () => {
    const parent = defineWorkflow('child-cancel-parent', async (ctx) =>
      Promise.all([ctx.child('a', waiter, {}), ctx.child('b', waiter, {}, { parentClose: 'abandon' })]),
    );
    await worker([parent, waiter]);
    const h = await b.engine.start(parent, {});
    const a = await untilChild(b.engine.db, h.id, 'a', ['WAITING']);
    const kept = await untilChild(b.engine.db, h.id, 'b', ['WAITING']);
    expect(kept.parent_close).toBe('abandon');
    await untilStatus(b.engine.db, h.id, ['WAITING']);
    await b.engine.admin.cancel(h.id, 'order withdrawn');
    await expect(h.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(ExecutionCancelledError);
    await untilStatus(b.engine.db, a.id, ['CANCELLED']);
    expect((await execRow(b.engine.db, kept.id)).status).toBe('WAITING');
    for (const key of ['a', 'b']) expect(await stepRow(b.engine.db, h.id, key), key).toMatchObject({ status: 'CANCELLED', ended: true });
    // The cancelled child is finished; the abandoned one runs on to its end.
    await expect(b.engine.signal(a.id, 'finish', 'x')).rejects.toBeInstanceOf(IllegalTransitionError);
    await b.engine.signal(kept.id, 'finish', 'late');
    expect(await b.engine.handle(kept.id).result({ timeoutMs: 10_000 })).toBe('done:late');
    expect((await execRow(b.engine.db, kept.id)).status).toBe('COMPLETED');
  });

  test('a child past its timeout throws WAIT_TIMEOUT in the parent, which may catch it', async () => {
    const parent = defineWorkflow('child-timeout-parent', async (ctx) => {
      try {
        return await ctx.child('slow', waiter, {}, { timeoutMs: 300 });
      } catch (e) {
        return { timedOut: e instanceof WaitTimeoutError, code: (e as { code?: string }).code };
      }
    });
    await worker([parent, waiter]);
    const h = await b.engine.start(parent, {});
    const kid = await untilChild(b.engine.db, h.id, 'slow');
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ timedOut: true, code: 'WAIT_TIMEOUT' });
    const [t] = await b.engine.db.query<{ planned_ms: number }>(
      `SELECT (extract(epoch FROM wake_at - created_at) * 1000)::float8 AS planned_ms FROM aries.waits WHERE execution_id = $1 AND step_key = 'slow'`,
      [h.id],
    );
    expect(t!.planned_ms).toBeGreaterThanOrEqual(300);
    expect(t!.planned_ms).toBeLessThan(400);
    expect(kid.parent_id).toBe(h.id);
  });

  test("a child keeps its own workflow's timeoutMs: past it the child ends FAILED with TIMEOUT, and the parent's step fails CHILD_FAILED", async () => {
    const sleepy = defineWorkflow('child-own-deadline', { timeoutMs: 300 }, async (ctx) => {
      await ctx.sleep('long', 60_000);
      return 'woke';
    });
    const parent = defineWorkflow('child-own-deadline-parent', async (ctx) => {
      try {
        return await ctx.child('sleepy', sleepy, {});
      } catch (e) {
        const err = e as { code?: string; childStatus?: string; childError?: { code?: string } };
        return { code: err.code, childStatus: err.childStatus, childCode: err.childError?.code };
      }
    });
    await worker([parent, sleepy]);
    const h = await b.engine.start(parent, {});
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ code: 'CHILD_FAILED', childStatus: 'FAILED', childCode: 'TIMEOUT' });
    const kid = await untilChild(b.engine.db, h.id, 'sleepy');
    const [d] = await b.engine.db.query<{ ms: number }>(
      'SELECT (extract(epoch FROM deadline_at - created_at) * 1000)::float8 AS ms FROM aries.executions WHERE id = $1',
      [kid.id],
    );
    expect(d!.ms).toBeCloseTo(300, 0);
  });

  test('a Promise.all over children that rejects cancels the sibling still under way with its compensations run', async () => {
    const undone: string[] = [];
    let held!: () => void;
    const holding = new Promise<void>((r) => (held = r));
    const holder = defineWorkflow('child-all-holder', async (ctx) => {
      await ctx.step('hold', () => (held(), 'held'), { compensate: () => void undone.push('hold') });
      return ctx.waitForSignal('never-sent');
    });
    const breaker = defineWorkflow('child-all-breaker', async (ctx) =>
      ctx.step('break', async () => {
        await holding; // the sibling has done its step: there is something to undo
        throw new PermanentError('no stock');
      }),
    );
    const parent = defineWorkflow('child-all-parent', async (ctx) => {
      await Promise.all([ctx.child('holder', holder, {}), ctx.child('breaker', breaker, {})]);
    });
    await worker([parent, holder, breaker]);
    const h = await b.engine.start(parent, {});
    const err = await h.result({ timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('EXECUTION_FAILED');
    const kid = await untilChild(b.engine.db, h.id, 'holder', ['COMPENSATED']);
    expect(kid.status).toBe('COMPENSATED');
    expect(undone).toEqual(['hold']);
    // Its wait lost when the Promise.all rejected: cancelled (then voided by the parent's rollback, which had no checkpoint).
    const cancelled = await b.engine.db.query(`SELECT 1 FROM aries.journal WHERE execution_id = $1 AND kind = 'step_cancelled' AND step_key = 'holder'`, [h.id]);
    expect(cancelled).toHaveLength(1);
  });

  test('a child of a workflow no one registered fails the parent with an error naming it, and starts nothing', async () => {
    const unknown = defineWorkflow('child-never-registered', async () => 1);
    const parent = defineWorkflow('child-unknown-parent', { retry: { maxAttempts: 2, initialDelayMs: 10, jitter: 'none' } }, async (ctx) => {
      await ctx.step('before', () => 1);
      return ctx.child('sub', unknown, {});
    });
    await worker([parent]);
    const h = await b.engine.start(parent, {});
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/unknown workflow "child-never-registered"/);
    expect((await execRow(b.engine.db, h.id)).status).toBe('FAILED');
    expect(await children(b.engine.db, h.id)).toEqual([]);
    expect(await b.engine.db.query(`SELECT id FROM aries.executions WHERE workflow_name = 'child-never-registered'`)).toEqual([]);
    expect(await b.engine.db.query('SELECT step_key FROM aries.steps WHERE execution_id = $1 AND seq >= 0', [h.id])).toEqual([{ step_key: 'before' }]);
  });
});
