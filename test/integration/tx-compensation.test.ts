import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionCompensatedError, ExecutionFailedError, PermanentError, type TransactionCompensation, type Workflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { runOnce } from '../helpers/run-once.js';

/**
 * compensateInTransaction: a transactional step's compensation runs in a transaction of its own, which
 * also records it completed. Its writes and that record commit together or roll back together; a failed
 * attempt leaves nothing behind and is retried.
 */
describeBackends('compensations in a transaction', (b) => {
  const run = <I>(wf: Workflow<I, unknown>, input: I) => runOnce(b.engine, wf, input);

  async function fresh() {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS comp_holds (order_id text PRIMARY KEY, seats int NOT NULL)');
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS comp_audit (order_id text NOT NULL, attempt int NOT NULL)');
    await b.engine.db.exec('TRUNCATE comp_holds, comp_audit');
  }

  const holds = () => b.engine.db.query<{ order_id: string; seats: number }>('SELECT order_id, seats FROM comp_holds ORDER BY order_id');
  const audit = () => b.engine.db.query<{ order_id: string; attempt: number }>('SELECT order_id, attempt FROM comp_audit ORDER BY attempt');

  /** A saga: "hold" inserts a row in a transaction, "ship" fails for good; `undo` is hold's compensation. */
  function saga(name: string, undo: TransactionCompensation<{ order: string }>) {
    return defineWorkflow(name, { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 } }, async (ctx, order: string) => {
      await ctx.transaction('hold', async (tx) => {
        await tx.query('INSERT INTO comp_holds VALUES ($1, 2)', [order]);
        return { order };
      }, { isolation: 'repeatable read', compensateInTransaction: undo });
      await ctx.step('ship', () => {
        throw new PermanentError('no courier');
      });
    });
  }

  test("the compensation deletes the row in its transaction (at the step's isolation level), recorded completed with it: the execution is COMPENSATED", async () => {
    await fresh();
    const wf = saga('comp-tx-saga', async ({ order }, tx) => {
      const deleted = await tx.client.query('DELETE FROM comp_holds WHERE order_id = $1', [order]);
      await tx.query('INSERT INTO comp_audit VALUES ($1, $2)', [order, tx.attempt]);
      const [{ level }] = (await tx.query<{ level: string }>(`SELECT current_setting('transaction_isolation') AS level`)) as [{ level: string }];
      return { released: deleted.rowCount, key: tx.idempotencyKey, level };
    });
    const { handle, outcome } = await run(wf, 'c-1');
    expect(outcome.ok).toBe(false);
    expect((outcome as { e: Error }).e).toBeInstanceOf(ExecutionCompensatedError);
    expect(await holds()).toEqual([]);
    expect(await audit()).toEqual([{ order_id: 'c-1', attempt: 1 }]);
    const journal = (await b.engine.admin.readJournal(handle.id)).records;
    const completed = journal.find((r) => r.kind === 'compensation_completed');
    expect(completed).toMatchObject({ stepKey: 'hold', payload: { released: 1, key: `${handle.id}:hold:compensation`, level: 'repeatable read' } });
  });

  test('a failure inside the compensation rolls back its own writes, and the compensation is retried', async () => {
    await fresh();
    const seen: { attempt: number; holds: number; audit: number }[] = [];
    const wf = saga('comp-tx-retry', async ({ order }, tx) => {
      const [h] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM comp_holds');
      const [a] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM comp_audit');
      seen.push({ attempt: tx.attempt, holds: h!.n, audit: a!.n });
      await tx.query('DELETE FROM comp_holds WHERE order_id = $1', [order]);
      await tx.query('INSERT INTO comp_audit VALUES ($1, $2)', [order, tx.attempt]);
      if (tx.attempt === 1) throw new Error('refund service timed out'); // TRANSIENT: retried
      return 'released';
    });
    const { outcome } = await run(wf, 'c-2');
    expect((outcome as { e: Error }).e).toBeInstanceOf(ExecutionCompensatedError);
    // The second attempt found the row the first one deleted, and none of the first one's audit rows.
    expect(seen).toEqual([{ attempt: 1, holds: 1, audit: 0 }, { attempt: 2, holds: 1, audit: 0 }]);
    expect(await holds()).toEqual([]);
    expect(await audit()).toEqual([{ order_id: 'c-2', attempt: 2 }]);
  });

  test("when the engine's record of the compensation cannot be written, the compensation's writes roll back with it", async () => {
    await fresh();
    const wf = saga('comp-tx-unrecordable', async ({ order }, tx) => {
      await tx.query('DELETE FROM comp_holds WHERE order_id = $1', [order]);
      return { refunded: 10n }; // not JSON: its record is refused after the DELETE ran
    });
    const { handle, outcome } = await run(wf, 'c-3');
    expect((outcome as { e: Error }).e).toBeInstanceOf(ExecutionFailedError);
    expect((outcome as { e: Error }).e.message).toMatch(/result of the compensation of step "hold"/);
    expect(await holds()).toEqual([{ order_id: 'c-3', seats: 2 }]); // the DELETE did not commit
    const hold = (await b.engine.admin.getExecution(handle.id))!.steps.find((s) => s.key === 'hold');
    expect(hold?.compensationStatus).toBe('FAILED');
  });

  test('a COMMIT inside the compensation is refused; compensate and compensateInTransaction together are refused', async () => {
    await fresh();
    const wf = saga('comp-tx-commit', async ({ order }, tx) => {
      await tx.query('DELETE FROM comp_holds WHERE order_id = $1', [order]);
      await tx.query('COMMIT');
    });
    const { outcome } = await run(wf, 'c-4');
    expect((outcome as { e: Error }).e.message).toMatch(/COMMIT is refused/);
    expect(await holds()).toEqual([{ order_id: 'c-4', seats: 2 }]);

    const both = defineWorkflow('comp-tx-both', async (ctx) =>
      ctx.transaction('hold', async () => 1, { compensate: () => undefined, compensateInTransaction: async () => undefined }),
    );
    const r = await run(both, null);
    expect((r.outcome as { e: Error }).e.message).toMatch(/give compensate or compensateInTransaction, not both/);
    const onStep = defineWorkflow('comp-tx-on-step', async (ctx) =>
      ctx.step('hold', () => 1, { compensateInTransaction: async () => undefined } as never),
    );
    const s = await run(onStep, null);
    expect((s.outcome as { e: Error }).e.message).toMatch(/compensateInTransaction is an option of ctx.transaction/);
  });
});
