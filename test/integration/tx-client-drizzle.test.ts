import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { PGlite } from '@electric-sql/pglite';
import type { PoolClient } from 'pg';
import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionFailedError, type TransactionContext, type Workflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { runOnce } from '../helpers/run-once.js';

/**
 * Drizzle on a transactional step's transaction: `drizzle(tx.client)` (its node-postgres driver, which
 * asks for rows as arrays and parses timestamps itself) on both backends, and `drizzle(tx.pglite)` (its
 * PGlite driver) on the embedded one. What Drizzle writes commits with the step's record or not at all.
 */
const orders = pgTable('drizzle_orders', {
  id: text('id').primaryKey(),
  total: integer('total').notNull(),
  placedAt: timestamp('placed_at', { withTimezone: true, mode: 'date' }).notNull(),
});

const PLACED_AT = new Date('2026-03-01T12:00:00.000Z');
const CREATE = 'CREATE TABLE IF NOT EXISTS drizzle_orders (id text PRIMARY KEY, total int NOT NULL, placed_at timestamptz NOT NULL)';

// Drizzle's types name node-postgres's and PGlite's classes; tx.client and tx.pglite have the surface it calls.
const overClient = (tx: TransactionContext) => drizzle(tx.client as unknown as PoolClient);
const overPglite = (tx: TransactionContext) => drizzlePglite(tx.pglite as unknown as PGlite);

describeBackends('Drizzle in a transactional step', (b) => {
  const run = <I>(wf: Workflow<I, unknown>, input: I) => runOnce(b.engine, wf, input);

  async function rows() {
    return b.engine.db.query<{ id: string; total: number }>('SELECT id, total FROM drizzle_orders ORDER BY id');
  }

  async function fresh() {
    await b.engine.db.exec(CREATE);
    await b.engine.db.exec('TRUNCATE drizzle_orders');
  }

  test('drizzle(tx.client): rows written commit with the step; selects come back mapped, timestamps as Dates', async () => {
    await fresh();
    const wf = defineWorkflow('drizzle-place', async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        const db = overClient(tx);
        const [inserted] = await db.insert(orders).values({ id, total: 40, placedAt: PLACED_AT }).returning({ id: orders.id });
        await db.update(orders).set({ total: 45 }).where(eq(orders.id, id));
        const [row] = await db.select().from(orders).where(eq(orders.id, id));
        const raw = await db.execute(sql`SELECT count(*)::int AS n FROM drizzle_orders`);
        return { inserted, total: row!.total, placedAt: row!.placedAt.toISOString(), isDate: row!.placedAt instanceof Date, n: raw.rows[0]!.n };
      }),
    );
    const { handle, outcome } = await run(wf, 'd-1');
    expect(outcome).toEqual({ ok: true, o: { inserted: { id: 'd-1' }, total: 45, placedAt: PLACED_AT.toISOString(), isDate: true, n: 1 } });
    expect(await rows()).toEqual([{ id: 'd-1', total: 45 }]);
    const kinds = (await b.engine.admin.readJournal(handle.id)).records.map((r) => r.kind);
    expect(kinds).toEqual(['execution_started', 'step_started', 'step_completed', 'execution_completed']);
  });

  test('a step that throws after writing through Drizzle leaves no row: the same transaction rolled back', async () => {
    await fresh();
    const wf = defineWorkflow('drizzle-throw', { retry: { maxAttempts: 1 } }, async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        await overClient(tx).insert(orders).values({ id, total: 1, placedAt: PLACED_AT });
        throw new Error('card declined');
      }),
    );
    const { outcome } = await run(wf, 'd-2');
    expect(outcome.ok).toBe(false);
    expect((outcome as { e: Error }).e).toBeInstanceOf(ExecutionFailedError);
    expect(await rows()).toEqual([]);
  });

  test('a retried step is applied once: the failed attempt wrote nothing, and a replay does not run it again', async () => {
    await fresh();
    const ran: number[] = [];
    let flaky = 0;
    const wf = defineWorkflow('drizzle-retry', { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 10 } }, async (ctx, id: string) => {
      const placed = await ctx.transaction('place', async (tx) => {
        ran.push(tx.attempt);
        await overClient(tx).insert(orders).values({ id, total: tx.attempt, placedAt: PLACED_AT });
        if (tx.attempt === 1) throw new Error('lost the race'); // TRANSIENT: the step runs again
        return tx.attempt;
      });
      await ctx.step('notify', () => {
        if (flaky++ === 0) throw new Error('mail server busy'); // its retry replays "place" from the journal
      });
      return placed;
    });
    const { outcome } = await run(wf, 'd-3');
    expect(outcome).toEqual({ ok: true, o: 2 });
    expect(ran).toEqual([1, 2]);
    expect(flaky).toBe(2);
    expect(await rows()).toEqual([{ id: 'd-3', total: 2 }]);
  });

  test('a constraint violation through Drizzle (wrapped in its own error) fails the step PERMANENTLY, not retried', async () => {
    await fresh();
    const wf = defineWorkflow('drizzle-duplicate', { retry: { maxAttempts: 3, initialDelayMs: 10 } }, async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        await overClient(tx).insert(orders).values([{ id, total: 1, placedAt: PLACED_AT }, { id, total: 2, placedAt: PLACED_AT }]);
      }),
    );
    const { handle, outcome } = await run(wf, 'd-7');
    expect(outcome.ok).toBe(false);
    expect((await b.engine.admin.getExecution(handle.id))!.steps.find((s) => s.key === 'place')?.attempt).toBe(1);
    expect(await rows()).toEqual([]);
  });

  test("Drizzle's own db.transaction() is refused clearly; a SAVEPOINT inside the step is allowed", async () => {
    await fresh();
    const wf = defineWorkflow('drizzle-begin', async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        const db = overClient(tx);
        await db.insert(orders).values({ id, total: 1, placedAt: PLACED_AT });
        await db.transaction(async (inner) => {
          await inner.insert(orders).values({ id: `${id}-b`, total: 2, placedAt: PLACED_AT });
        });
      }),
    );
    const { handle, outcome } = await run(wf, 'd-4');
    expect(outcome.ok).toBe(false);
    expect((outcome as { e: Error }).e.message).toMatch(/BEGIN is refused: the engine owns this transaction/);
    expect((await b.engine.admin.getExecution(handle.id))!.steps.find((s) => s.key === 'place')?.attempt).toBe(1);
    expect(await rows()).toEqual([]);

    // A savepoint inside the step's transaction: its rollback undoes only what came after it.
    const saved = defineWorkflow('drizzle-savepoint', async (ctx, id: string) =>
      ctx.transaction('place', async (tx) => {
        const db = overClient(tx);
        await db.insert(orders).values({ id, total: 1, placedAt: PLACED_AT });
        await tx.query('SAVEPOINT before_extra');
        await db.insert(orders).values({ id: `${id}-extra`, total: 2, placedAt: PLACED_AT });
        await tx.query('ROLLBACK TO SAVEPOINT before_extra');
        return 'ok';
      }),
    );
    expect((await run(saved, 'd-5')).outcome).toEqual({ ok: true, o: 'ok' });
    expect(await rows()).toEqual([{ id: 'd-5', total: 1 }]);
  });

  if (b.name === 'pglite') {
    test('drizzle(tx.pglite): Drizzle\'s PGlite driver on the step\'s transaction, on the embedded backend', async () => {
      await fresh();
      const wf = defineWorkflow('drizzle-pglite', { retry: { maxAttempts: 1 } }, async (ctx, id: string) => {
        const found = await ctx.transaction('place', async (tx) => {
          const db = overPglite(tx);
          await db.insert(orders).values({ id, total: 7, placedAt: PLACED_AT });
          const [row] = await db.select().from(orders).where(eq(orders.id, id));
          return { total: row!.total, placedAt: row!.placedAt.toISOString() };
        });
        await ctx.transaction('refused', async (tx) => {
          await overPglite(tx).insert(orders).values({ id: `${id}-never`, total: 0, placedAt: PLACED_AT });
          await overPglite(tx).transaction(async () => {});
        });
        return found;
      });
      const { handle, outcome } = await run(wf, 'd-6');
      expect(outcome.ok).toBe(false);
      expect((outcome as { e: Error }).e.message).toMatch(/BEGIN is refused/);
      const place = (await b.engine.admin.getExecution(handle.id))!.steps.find((s) => s.key === 'place');
      expect(place?.output).toEqual({ total: 7, placedAt: PLACED_AT.toISOString() });
      expect(await rows()).toEqual([{ id: 'd-6', total: 7 }]);
    });
  } else {
    test('tx.pglite is undefined on a PostgreSQL server', async () => {
      const wf = defineWorkflow('drizzle-no-pglite', async (ctx) => ctx.transaction('look', async (tx) => tx.pglite === undefined));
      expect((await run(wf, null)).outcome).toEqual({ ok: true, o: true });
    });
  }
});
