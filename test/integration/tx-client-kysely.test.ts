import { Kysely, PostgresDialect, sql } from 'kysely';
import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionFailedError, type TransactionContext, type Workflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { runOnce } from '../helpers/run-once.js';

/**
 * Kysely on a transactional step's transaction: `tx.client` is the pool Kysely's PostgresDialect asks for,
 * whose one connection is the step's transaction. What Kysely writes commits with the step's record or
 * not at all, on both backends.
 */
interface Tables {
  kysely_orders: { id: string; total: number; status: string };
}

const kysely = (tx: TransactionContext) => new Kysely<Tables>({ dialect: new PostgresDialect({ pool: tx.client }) });

describeBackends('Kysely in a transactional step', (b) => {
  const run = <I>(wf: Workflow<I, unknown>, input: I) => runOnce(b.engine, wf, input);

  async function orders() {
    return b.engine.db.query<{ id: string; total: number; status: string }>('SELECT id, total, status FROM kysely_orders ORDER BY id');
  }

  test('rows written through Kysely commit with the step; selects, updates and returning see them', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS kysely_orders (id text PRIMARY KEY, total int NOT NULL, status text NOT NULL)');
    await b.engine.db.exec('TRUNCATE kysely_orders');
    const wf = defineWorkflow('kysely-place', async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        const db = kysely(tx);
        const inserted = await db.insertInto('kysely_orders').values({ id, total: 40, status: 'new' }).returning(['id', 'total']).executeTakeFirstOrThrow();
        const updated = await db.updateTable('kysely_orders').set({ status: 'placed' }).where('id', '=', id).executeTakeFirstOrThrow();
        const row = await db.selectFrom('kysely_orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        const [{ level }] = (await sql<{ level: string }>`SELECT current_setting('transaction_isolation') AS level`.execute(db)).rows as [{ level: string }];
        return { inserted, updated: Number(updated.numUpdatedRows), row, level };
      }, { isolation: 'repeatable read' }),
    );
    const { handle, outcome } = await run(wf, 'o-1');
    expect(outcome).toEqual({
      ok: true,
      o: { inserted: { id: 'o-1', total: 40 }, updated: 1, row: { id: 'o-1', total: 40, status: 'placed' }, level: 'repeatable read' },
    });
    expect(await orders()).toEqual([{ id: 'o-1', total: 40, status: 'placed' }]);
    const kinds = (await b.engine.admin.readJournal(handle.id)).records.map((r) => r.kind);
    expect(kinds).toEqual(['execution_started', 'step_started', 'step_completed', 'execution_completed']);
  });

  test('a step that throws after writing through Kysely leaves no row: the same transaction rolled back', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS kysely_orders (id text PRIMARY KEY, total int NOT NULL, status text NOT NULL)');
    await b.engine.db.exec('TRUNCATE kysely_orders');
    const wf = defineWorkflow('kysely-throw', { retry: { maxAttempts: 1 } }, async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        await kysely(tx).insertInto('kysely_orders').values({ id, total: 1, status: 'new' }).execute();
        throw new Error('card declined');
      }),
    );
    const { outcome } = await run(wf, 'o-2');
    expect(outcome.ok).toBe(false);
    expect((outcome as { e: Error }).e).toBeInstanceOf(ExecutionFailedError);
    expect((outcome as { e: Error }).e.message).toMatch(/card declined/);
    expect(await orders()).toEqual([]);
  });

  test('a retried step is applied once: the failed attempt wrote nothing, and a replay does not run it again', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS kysely_orders (id text PRIMARY KEY, total int NOT NULL, status text NOT NULL)');
    await b.engine.db.exec('TRUNCATE kysely_orders');
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS kysely_ledger (order_id text NOT NULL, attempt int NOT NULL)');
    const ran: number[] = [];
    let flaky = 0;
    const wf = defineWorkflow('kysely-retry', { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 } }, async (ctx, id: string) => {
      const placed = await ctx.transaction('place', async (tx) => {
        ran.push(tx.attempt);
        const db = kysely(tx);
        await db.insertInto('kysely_orders').values({ id, total: 5, status: 'new' }).execute();
        await sql`INSERT INTO kysely_ledger VALUES (${id}, ${tx.attempt})`.execute(db);
        if (tx.attempt === 1) throw new Error('lost the race'); // TRANSIENT: the step runs again
        return tx.attempt;
      });
      // A later step fails once too: its retry replays the run, and "place" comes from the journal.
      await ctx.step('notify', () => {
        if (flaky++ === 0) throw new Error('mail server busy');
      });
      return placed;
    });
    const { outcome } = await run(wf, 'o-3');
    expect(outcome).toEqual({ ok: true, o: 2 });
    expect(ran).toEqual([1, 2]);
    expect(flaky).toBe(2);
    expect(await orders()).toEqual([{ id: 'o-3', total: 5, status: 'new' }]);
    expect(await b.engine.db.query('SELECT order_id, attempt FROM kysely_ledger')).toEqual([{ order_id: 'o-3', attempt: 2 }]);
  });

  test("Kysely's own transaction is refused clearly: the engine owns it, and nothing is written", async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS kysely_orders (id text PRIMARY KEY, total int NOT NULL, status text NOT NULL)');
    await b.engine.db.exec('TRUNCATE kysely_orders');
    const wf = defineWorkflow('kysely-begin', async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        const db = kysely(tx);
        await db.insertInto('kysely_orders').values({ id, total: 1, status: 'new' }).execute();
        await db.transaction().execute(async (trx) => trx.insertInto('kysely_orders').values({ id: `${id}-b`, total: 2, status: 'new' }).execute());
      }),
    );
    const { handle, outcome } = await run(wf, 'o-4');
    expect(outcome.ok).toBe(false);
    expect((outcome as { e: Error }).e.message).toMatch(/BEGIN is refused: the engine owns this transaction/);
    const step = (await b.engine.admin.getExecution(handle.id))!.steps.find((s) => s.key === 'place');
    expect(step?.attempt).toBe(1); // a programmer error: PERMANENT, not retried
    expect(await orders()).toEqual([]);
  });
});
