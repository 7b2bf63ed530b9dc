/**
 * The order saga: reserve stock → charge the card → ship. Shipping fails PERMANENTLY (no courier serves the
 * address), after two steps with side effects completed: the execution is partially applied (PARTIAL), so
 * Aries runs their compensations in reverse order (refund, then release the stock) and the execution ends
 * COMPENSATED. The "services" are tables in the same database, so what the saga did and undid is visible.
 *
 *   npx tsx examples/order-saga.ts                      embedded PGlite in .aries-example (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/order-saga.ts   a PostgreSQL server
 *
 * Exits 0 when the order ended COMPENSATED with stock and balance back where they were; 1 otherwise.
 * In your own project, import from 'aries' instead of '../src/index.js'.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { createEngine, defineWorkflow, ExecutionCompensatedError, PermanentError, type Engine } from '../src/index.js';

interface Order {
  orderId: string;
  sku: string;
  quantity: number;
  customer: string;
  amount: number;
  address: string;
}

const SERVICES_DDL = `
  CREATE TABLE IF NOT EXISTS example_stock (sku text PRIMARY KEY, available int NOT NULL CHECK (available >= 0));
  CREATE TABLE IF NOT EXISTS example_accounts (customer text PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0));
  CREATE TABLE IF NOT EXISTS example_ledger (idempotency_key text PRIMARY KEY, what text NOT NULL);
  INSERT INTO example_stock VALUES ('lamp', 10) ON CONFLICT DO NOTHING;
  INSERT INTO example_accounts VALUES ('ada', 500) ON CONFLICT DO NOTHING;`;

/**
 * Each service call is idempotent under the key Aries hands to the step: a repeat (a step re-run after a
 * crash) finds its ledger row and changes nothing.
 */
async function once(engine: Engine, key: string, what: string, sql: string, params: unknown[]): Promise<void> {
  await engine.db.transaction(async (tx) => {
    const [fresh] = await tx.query('INSERT INTO example_ledger VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1', [key, what]);
    if (fresh) await tx.query(sql, params);
  });
}

export function orderSaga(engine: Engine) {
  return defineWorkflow<Order, string>(
    'order-saga',
    { retry: { maxAttempts: 3, initialDelayMs: 100 } },
    async (ctx, order) => {
      await ctx.step(
        'reserve',
        async ({ idempotencyKey }) => {
          await once(engine, idempotencyKey, 'reserve', 'UPDATE example_stock SET available = available - $2 WHERE sku = $1', [order.sku, order.quantity]);
          return { sku: order.sku, quantity: order.quantity };
        },
        {
          compensate: async (held, { idempotencyKey }) => {
            await once(engine, idempotencyKey, 'release', 'UPDATE example_stock SET available = available + $2 WHERE sku = $1', [held.sku, held.quantity]);
          },
        },
      );
      await ctx.step(
        'charge',
        async ({ idempotencyKey }) => {
          await once(engine, idempotencyKey, 'charge', 'UPDATE example_accounts SET balance = balance - $2 WHERE customer = $1', [order.customer, order.amount]);
          return { customer: order.customer, amount: order.amount };
        },
        {
          compensate: async (charged, { idempotencyKey }) => {
            await once(engine, idempotencyKey, 'refund', 'UPDATE example_accounts SET balance = balance + $2 WHERE customer = $1', [charged.customer, charged.amount]);
          },
        },
      );
      return ctx.step('ship', () => {
        // A courier that does not serve the address will not start serving it on a retry.
        throw new PermanentError(`no courier delivers to "${order.address}"`);
      });
    },
  );
}

async function balances(engine: Engine) {
  const [stock] = await engine.db.query<{ available: number }>(`SELECT available FROM example_stock WHERE sku = 'lamp'`);
  const [account] = await engine.db.query<{ balance: number }>(`SELECT balance FROM example_accounts WHERE customer = 'ada'`);
  return { stock: stock!.available, balance: account!.balance };
}

async function main(): Promise<number> {
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const databaseUrl = process.env.DATABASE_URL;
  const dataDir = resolve('.aries-example');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    await engine.db.exec(SERVICES_DDL);
    const saga = orderSaga(engine);
    const worker = engine.worker({ workflows: [saga], pollIntervalMs: 50 });
    await worker.start();
    const before = await balances(engine);
    say(`before: lamp stock ${before.stock}, ada's balance ${before.balance}`);
    const order: Order = { orderId: `o-${Date.now()}`, sku: 'lamp', quantity: 2, customer: 'ada', amount: 120, address: 'Atlantis' };
    const handle = await engine.start(saga, order, { idempotencyKey: order.orderId });
    const outcome = await handle.result({ timeoutMs: 30_000 }).catch((err: unknown) => err);
    await worker.stop();

    const { execution, steps } = (await engine.admin.getExecution(handle.id))!;
    say(`execution ${handle.id}: ${execution.status}`);
    if (outcome instanceof ExecutionCompensatedError) say(`  ${outcome.message}`);
    for (const s of steps) say(`  step ${s.key.padEnd(8)} ${s.status.padEnd(12)} compensation ${s.compensationStatus ?? '-'}`);
    say('journal:');
    for (const r of (await engine.admin.readJournal(handle.id)).records) say(`  ${String(r.lsn).padStart(4)} ${r.kind}${r.stepKey ? ` ${r.stepKey}` : ''}`);
    const [failure] = (await engine.admin.listFailures({ executionId: handle.id })).failures;
    if (failure) say(`failure: ${failure.type} (${failure.source}) at step "${failure.stepKey}", strategy ${failure.recoveryStrategy}, recovered ${failure.recovered}`);
    const after = await balances(engine);
    say(`after:  lamp stock ${after.stock}, ada's balance ${after.balance}`);

    const ok = execution.status === 'COMPENSATED' && after.stock === before.stock && after.balance === before.balance;
    say(ok ? 'OK: the order was compensated; stock and balance are back where they were' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
