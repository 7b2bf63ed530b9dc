/**
 * The order system: orders placed (a READ COMMITTED transaction inserting the order and taking its stock),
 * notified and shipped, by the same workflow at two durability classes — 'on' (every step completion
 * flushed before the next step) and 'off' (asynchronous commit) — and one order that asks for more than is
 * left, whose transaction rolls back whole.
 *
 *   npx tsx examples/orders/main.ts                              embedded PGlite in .aries-orders (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/orders/main.ts    a PostgreSQL server (its shop_* tables recreated)
 *
 * Exits 0 when every order was placed, notified and shipped exactly once, the oversized one changed
 * nothing, and the stock matches the orders; 1 otherwise.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { createEngine, ExecutionFailedError, type Durability, type ExecutionHandle } from '../../src/index.js';
import { checkShop, halfApplied, orderWorkflow, setUpShop, type OrderInput, type OrderResult } from './order-workflow.js';

const ORDERS_PER_CLASS = 10;
const INITIAL_STOCK = 30;

async function main(): Promise<number> {
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dataDir = resolve('.aries-orders');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    say(`backend: ${engine.backend === 'postgres' ? 'PostgreSQL server' : 'embedded PGlite'} (${engine.db.description})`);
    await engine.db.exec('DROP TABLE IF EXISTS shop_orders, shop_stock');
    await setUpShop(engine.db, { lamp: INITIAL_STOCK });
    say(`stock before: lamp ${INITIAL_STOCK}`);

    const notified = new Map<string, number>(); // idempotency key → times the notification was sent
    const hooks = {
      notify: (_message: unknown, step: { idempotencyKey: string }) => {
        notified.set(step.idempotencyKey, (notified.get(step.idempotencyKey) ?? 0) + 1);
      },
    };
    const workflows = { on: orderWorkflow('on', hooks), off: orderWorkflow('off', hooks) };
    const worker = engine.worker({ workflows: [workflows.on, workflows.off], concurrency: 8, pollIntervalMs: 50 });
    await worker.start();
    // Idempotency keys carry this run's id, so a rerun on the same server database starts new executions.
    const run = Date.now().toString(36);
    const start = (durability: 'on' | 'off', order: OrderInput) =>
      engine.start(workflows[durability], order, { idempotencyKey: `${run}:${order.orderId}` });

    let ok = true;
    let firstOrder: string | undefined;
    for (const durability of ['on', 'off'] as const satisfies readonly Durability[]) {
      const handles: ExecutionHandle<OrderResult>[] = [];
      for (let i = 1; i <= ORDERS_PER_CLASS; i++) {
        handles.push(await start(durability, { orderId: `${durability}-${i}`, sku: 'lamp', quantity: 1, customer: `customer-${i}` }));
      }
      firstOrder ??= handles[0]!.id;
      const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
      const statuses = await Promise.all(handles.map(async (h) => (await h.status()).status));
      const completed = statuses.filter((s) => s === 'COMPLETED').length;
      const settings = [...new Set(results.map((r) => `isolation ${r.isolation}, synchronous_commit ${r.synchronousCommit}`))];
      say(`durability ${durability}:${' '.repeat(4 - durability.length)}${handles.length} orders → ${completed} COMPLETED; the place transaction ran at ${settings.join(' / ')}`);
      ok &&= completed === ORDERS_PER_CLASS && settings.length === 1 && results[0]!.synchronousCommit === durability;
    }

    const stockBefore = Number((await engine.db.query<{ available: number }>(`SELECT available FROM shop_stock WHERE sku = 'lamp'`))[0]!.available);
    const big = await start('on', { orderId: 'big', sku: 'lamp', quantity: 25, customer: 'customer-big' });
    const outcome = await big.result({ timeoutMs: 30_000 }).catch((err: unknown) => err);
    const { execution } = (await engine.admin.getExecution(big.id))!;
    const [failure] = (await engine.admin.listFailures({ executionId: big.id })).failures;
    say(`order big (25 × lamp, durability on): ${execution.status}${outcome instanceof ExecutionFailedError ? ` — ${execution.error?.message}` : ''}`);
    if (failure) say(`  failure: ${failure.type} (${failure.source}) at step "${failure.stepKey}", strategy ${failure.recoveryStrategy}`);
    const [bigRow] = await engine.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM shop_orders WHERE order_id = 'big'`);
    const stockAfterBig = Number((await engine.db.query<{ available: number }>(`SELECT available FROM shop_stock WHERE sku = 'lamp'`))[0]!.available);
    const bigChangedNothing = Number(bigRow!.n) === 0 && stockAfterBig === stockBefore;
    say(`  its place transaction rolled back whole: ${Number(bigRow!.n)} order rows, lamp stock ${stockBefore} → ${stockAfterBig}`);
    ok &&= execution.status === 'FAILED' && bigChangedNothing;
    await worker.stop();

    if (firstOrder) {
      say('journal of order on-1:');
      for (const r of (await engine.admin.readJournal(firstOrder)).records) say(`  ${String(r.lsn).padStart(4)} ${r.kind}${r.stepKey ? ` ${r.stepKey}` : ''}`);
    }

    const check = await checkShop(engine.db);
    const ordered = 2 * ORDERS_PER_CLASS;
    say(`shop: ${check.orders} orders, ${check.shipped} SHIPPED; lamp stock ${INITIAL_STOCK} → ${stockAfterBig} (${INITIAL_STOCK - stockAfterBig} taken)`);
    const sentOnce = [...notified.values()].filter((n) => n === 1).length;
    say(`notifications: ${notified.size} customers notified, ${sentOnce} of them exactly once`);
    const bad = halfApplied(check);
    say(
      bad === 0
        ? 'consistency: every order row has its completed place step and its stock change, every SHIPPED order its completed ship step'
        : `consistency: NOT OK ${JSON.stringify(check)}`,
    );
    ok &&= bad === 0 && check.orders === ordered && check.shipped === ordered && INITIAL_STOCK - stockAfterBig === ordered;
    ok &&= notified.size === ordered && sentOnce === ordered;
    say(
      ok
        ? `OK: ${ordered} orders placed, notified and shipped exactly once; the order that asked for more than the stock changed nothing`
        : 'NOT OK: see above',
    );
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
