/**
 * Your own tables through Kysely, in a transactional step. Placing an order inserts its row and takes
 * the stock through Kysely on the step's transaction (`tx.client` is the pool Kysely's PostgresDialect
 * asks for): the rows and the step's completion commit together. Its compensation puts the stock back and
 * marks the order cancelled in a transaction of its own (compensateInTransaction), committed together with
 * the engine's record that it ran. Order "o-1" ships; order "o-2" cannot be shipped (PermanentError), so
 * the execution is COMPENSATED and its writes are undone.
 *
 *   npx tsx examples/kysely-orders.ts                          embedded PGlite in .aries-kysely (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/kysely-orders.ts   a PostgreSQL server (its shop_* tables are reset)
 *
 * Exits 0 when o-1 is placed, o-2 is cancelled and the stock is back to what the placed order left; 1 otherwise.
 * In your own project, import from 'aries' instead of '../src/index.js'.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { createEngine, defineWorkflow, PermanentError, type TransactionContext } from '../src/index.js';

interface Shop {
  shop_stock: { sku: string; available: number };
  shop_orders: { id: string; sku: string; quantity: number; status: string };
}

/** Your tables' migration, run after Aries has migrated its own schema (createEngine does that). */
const SHOP_SCHEMA = `
  DROP TABLE IF EXISTS shop_orders, shop_stock;
  CREATE TABLE shop_stock (sku text PRIMARY KEY, available int NOT NULL CHECK (available >= 0));
  CREATE TABLE shop_orders (id text PRIMARY KEY, sku text NOT NULL REFERENCES shop_stock, quantity int NOT NULL, status text NOT NULL);
  INSERT INTO shop_stock VALUES ('lamp', 10);`;

/** A Kysely instance on the step's transaction: cheap to make, valid while the step's function runs. */
const shop = (tx: TransactionContext) => new Kysely<Shop>({ dialect: new PostgresDialect({ pool: tx.client }) });

interface Order {
  id: string;
  sku: string;
  quantity: number;
  address: string;
}

const placeOrder = defineWorkflow<Order, string>('kysely-place-order', { retry: { maxAttempts: 3, initialDelayMs: 50 } }, async (ctx, order) => {
  await ctx.transaction(
    'place',
    async (tx) => {
      const db = shop(tx);
      await db.insertInto('shop_orders').values({ id: order.id, sku: order.sku, quantity: order.quantity, status: 'placed' }).execute();
      await db.updateTable('shop_stock').set((eb) => ({ available: eb('available', '-', order.quantity) })).where('sku', '=', order.sku).execute();
      return { id: order.id };
    },
    {
      compensateInTransaction: async ({ id }, tx) => {
        const db = shop(tx);
        const cancelled = await db.updateTable('shop_orders').set({ status: 'cancelled' }).where('id', '=', id).where('status', '=', 'placed')
          .returning(['sku', 'quantity']).executeTakeFirst();
        if (cancelled) {
          await db.updateTable('shop_stock').set((eb) => ({ available: eb('available', '+', cancelled.quantity) })).where('sku', '=', cancelled.sku).execute();
        }
        return { cancelled: id };
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
  const dataDir = resolve('.aries-kysely');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    await engine.db.exec(SHOP_SCHEMA);
    const worker = engine.worker({ workflows: [placeOrder], pollIntervalMs: 50 });
    await worker.start();
    const orders: Order[] = [
      { id: 'o-1', sku: 'lamp', quantity: 2, address: 'Lisbon' },
      { id: 'o-2', sku: 'lamp', quantity: 3, address: 'Atlantis' },
    ];
    for (const order of orders) {
      const handle = await engine.start(placeOrder, order, { idempotencyKey: order.id });
      const outcome = await handle.result({ timeoutMs: 30_000 }).then((r) => r, (err: unknown) => (err as Error).message);
      const { status } = await handle.status();
      say(`${order.id}: ${status} (${outcome})`);
    }
    await worker.stop();
    const rows = await engine.db.query<{ id: string; status: string }>('SELECT id, status FROM shop_orders ORDER BY id');
    const [stock] = await engine.db.query<{ available: number }>(`SELECT available FROM shop_stock WHERE sku = 'lamp'`);
    say(`orders: ${rows.map((r) => `${r.id} ${r.status}`).join(', ')}`);
    say(`lamp stock: ${stock!.available}`);
    const ok = rows.map((r) => `${r.id} ${r.status}`).join(',') === 'o-1 placed,o-2 cancelled' && stock!.available === 8;
    say(ok ? 'OK: o-1 placed, o-2 compensated in its own transaction, stock 10 - 2 = 8' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
