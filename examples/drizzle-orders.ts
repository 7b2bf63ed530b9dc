/**
 * Your own tables through Drizzle, in a transactional step. Placing an order inserts its row and takes the
 * stock through `drizzle(tx.client)` (Drizzle's node-postgres driver, on the step's transaction, on both
 * backends): the rows and the step's completion commit together. Its compensation deletes the order and
 * puts the stock back in a transaction of its own (compensateInTransaction), committed together with the
 * engine's record that it ran. Order "o-1" ships; order "o-2" cannot be shipped (PermanentError), so the
 * execution is COMPENSATED and its writes are undone.
 *
 *   npx tsx examples/drizzle-orders.ts                          embedded PGlite in .aries-drizzle (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/drizzle-orders.ts   a PostgreSQL server (its dz_* tables are reset)
 *
 * Exits 0 when only o-1 is left and the stock is back to what it left; 1 otherwise.
 * In your own project, import from 'aries' instead of '../src/index.js'.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { PoolClient } from 'pg';
import { createEngine, defineWorkflow, PermanentError, type TransactionContext } from '../src/index.js';

const stock = pgTable('dz_stock', { sku: text('sku').primaryKey(), available: integer('available').notNull() });
const orders = pgTable('dz_orders', {
  id: text('id').primaryKey(),
  sku: text('sku').notNull(),
  quantity: integer('quantity').notNull(),
  placedAt: timestamp('placed_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** Your tables' migration (drizzle-kit's SQL would do), run after Aries has migrated its own schema. */
const SHOP_SCHEMA = `
  DROP TABLE IF EXISTS dz_orders, dz_stock;
  CREATE TABLE dz_stock (sku text PRIMARY KEY, available int NOT NULL CHECK (available >= 0));
  CREATE TABLE dz_orders (id text PRIMARY KEY, sku text NOT NULL REFERENCES dz_stock, quantity int NOT NULL,
                          placed_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO dz_stock VALUES ('lamp', 10);`;

// Drizzle's types name node-postgres's classes; tx.client has the part of them Drizzle calls.
const shop = (tx: TransactionContext) => drizzle(tx.client as unknown as PoolClient);

interface Order {
  id: string;
  sku: string;
  quantity: number;
  address: string;
}

const placeOrder = defineWorkflow<Order, string>('drizzle-place-order', { retry: { maxAttempts: 3, initialDelayMs: 50 } }, async (ctx, order) => {
  await ctx.transaction(
    'place',
    async (tx) => {
      const db = shop(tx);
      const [placed] = await db.insert(orders).values({ id: order.id, sku: order.sku, quantity: order.quantity }).returning();
      await db.update(stock).set({ available: sql`${stock.available} - ${order.quantity}` }).where(eq(stock.sku, order.sku));
      return { id: placed!.id, placedAt: placed!.placedAt.toISOString() };
    },
    {
      compensateInTransaction: async ({ id }, tx) => {
        const db = shop(tx);
        const [removed] = await db.delete(orders).where(eq(orders.id, id)).returning();
        if (removed) await db.update(stock).set({ available: sql`${stock.available} + ${removed.quantity}` }).where(eq(stock.sku, removed.sku));
        return { removed: id };
      },
    },
  );
  await ctx.step('ship', () => {
    if (order.address === 'Atlantis') throw new PermanentError(`no courier serves ${order.address}`);
    return 'shipped';
  });
  return 'shipped';
});

async function main(): Promise<number> {
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const databaseUrl = process.env.DATABASE_URL;
  const dataDir = resolve('.aries-drizzle');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    await engine.db.exec(SHOP_SCHEMA);
    const worker = engine.worker({ workflows: [placeOrder], pollIntervalMs: 50 });
    await worker.start();
    for (const order of [
      { id: 'o-1', sku: 'lamp', quantity: 2, address: 'Lisbon' },
      { id: 'o-2', sku: 'lamp', quantity: 3, address: 'Atlantis' },
    ]) {
      const handle = await engine.start(placeOrder, order, { idempotencyKey: order.id });
      const outcome = await handle.result({ timeoutMs: 30_000 }).then((r) => r, (err: unknown) => (err as Error).message);
      say(`${order.id}: ${(await handle.status()).status} (${outcome})`);
    }
    await worker.stop();
    const rows = await engine.db.query<{ id: string }>('SELECT id FROM dz_orders ORDER BY id');
    const [left] = await engine.db.query<{ available: number }>(`SELECT available FROM dz_stock WHERE sku = 'lamp'`);
    say(`orders: ${rows.map((r) => r.id).join(', ')}`);
    say(`lamp stock: ${left!.available}`);
    const ok = rows.map((r) => r.id).join(',') === 'o-1' && left!.available === 8;
    say(ok ? 'OK: o-1 placed, o-2 compensated in its own transaction, stock 10 - 2 = 8' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
