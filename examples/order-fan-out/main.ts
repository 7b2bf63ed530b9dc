/**
 * Two orders through the fan-out saga (fan-out-workflow.ts), each line a child workflow:
 *
 *   o-1  every line is in stock: the lines are SUB_COMMITTED while the order is charged, and COMPLETED
 *        with the order
 *   o-2  one line's stock is short: that child fails PERMANENTLY, and the order's saga undoes the lines
 *        that had completed (SUB_COMMITTED → COMPENSATED, their stock released) and then cancels the
 *        order; the customer is never charged
 *
 *   npx tsx examples/order-fan-out/main.ts                              embedded PGlite in .aries-fan-out (recreated)
 *   DATABASE_URL=postgres://… npx tsx examples/order-fan-out/main.ts    a PostgreSQL server (its fan_out_* tables recreated)
 *
 * Exits 0 when o-1 was placed with its stock taken once, and o-2 left stock, balance and orders as if it
 * had never been placed; 1 otherwise. In your own project, import from 'aries' instead of '../../src/index.js'.
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { createEngine, ExecutionCompensatedError, type Engine } from '../../src/index.js';
import { FAN_OUT_DDL, fanOutWorkflows, type FanOutOrder } from './fan-out-workflow.js';

const STOCK = [
  ['north', 'lamp', 10],
  ['south', 'desk', 5],
  ['east', 'chair', 8],
] as const;
const BALANCE = 1_000;

async function stock(engine: Engine): Promise<string> {
  const rows = await engine.db.query<{ sku: string; available: number }>('SELECT sku, available FROM fan_out_stock ORDER BY sku');
  return rows.map((r) => `${r.sku} ${r.available}`).join(', ');
}

async function balance(engine: Engine): Promise<number> {
  const [row] = await engine.db.query<{ balance: number }>(`SELECT balance FROM fan_out_accounts WHERE customer = 'ada'`);
  return Number(row!.balance);
}

async function main(): Promise<number> {
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const dataDir = resolve('.aries-fan-out');
  if (!databaseUrl) rmSync(dataDir, { recursive: true, force: true });
  const engine = await createEngine(databaseUrl ? { databaseUrl } : { dataDir });
  try {
    say(`backend: ${engine.backend === 'postgres' ? 'PostgreSQL server' : 'embedded PGlite'} (${engine.db.description})`);
    await engine.db.exec('DROP TABLE IF EXISTS fan_out_stock, fan_out_orders, fan_out_accounts, fan_out_ledger');
    await engine.db.exec(FAN_OUT_DDL);
    for (const [warehouse, sku, available] of STOCK) {
      await engine.db.query('INSERT INTO fan_out_stock VALUES ($1, $2, $3)', [warehouse, sku, available]);
    }
    await engine.db.query(`INSERT INTO fan_out_accounts VALUES ('ada', $1)`, [BALANCE]);
    const before = await stock(engine);
    say(`before: stock ${before}; ada's balance ${BALANCE}`);

    const { order, line } = fanOutWorkflows(engine);
    // Fewer slots than lines: a parent waiting for its children holds none.
    const worker = engine.worker({ workflows: [order, line], concurrency: 2, pollIntervalMs: 50 });
    await worker.start();
    // Idempotency keys carry this run's id, so a rerun on the same server database starts new executions.
    const run = Date.now().toString(36);
    const place = (o: FanOutOrder) => engine.start(order, o, { idempotencyKey: `${run}:${o.orderId}` });
    let ok = true;

    // o-1: every line in stock.
    const o1 = await place({
      orderId: 'o-1',
      customer: 'ada',
      amount: 300,
      lines: [
        { sku: 'lamp', quantity: 2, warehouse: 'north' },
        { sku: 'desk', quantity: 1, warehouse: 'south' },
        { sku: 'chair', quantity: 4, warehouse: 'east' },
      ],
    });
    const placed = await o1.result({ timeoutMs: 30_000 });
    const detail1 = (await engine.admin.getExecution(o1.id))!;
    say(`o-1: ${detail1.execution.status}; reserved ${placed.reservations.join('; ')}`);
    say(`o-1: while the order was charged its lines were ${[...placed.lineStatusesWhileCharging].sort().join(', ')}`);
    const children1 = detail1.children.map((c) => `${c.stepKey} ${c.status}`).sort();
    say(`o-1: now that it completed: ${children1.join(', ')}`);
    const afterO1 = await stock(engine);
    say(`after o-1: stock ${afterO1}; ada's balance ${await balance(engine)}`);
    ok &&= detail1.execution.status === 'COMPLETED' && placed.lineStatusesWhileCharging.every((s) => s.endsWith(' SUB_COMMITTED'));
    ok &&= children1.length === 3 && children1.every((s) => s.endsWith(' COMPLETED'));
    ok &&= afterO1 === 'chair 4, desk 4, lamp 8' && (await balance(engine)) === BALANCE - 300;

    // o-2: the chairs are short.
    const o2 = await place({
      orderId: 'o-2',
      customer: 'ada',
      amount: 500,
      lines: [
        { sku: 'lamp', quantity: 1, warehouse: 'north' },
        { sku: 'desk', quantity: 1, warehouse: 'south' },
        { sku: 'chair', quantity: 50, warehouse: 'east' },
      ],
    });
    const outcome = await o2.result({ timeoutMs: 30_000 }).catch((err: unknown) => err);
    const detail2 = (await engine.admin.getExecution(o2.id))!;
    say(`o-2: ${detail2.execution.status} (${outcome instanceof ExecutionCompensatedError ? 'compensated' : 'NOT compensated'}): ${detail2.execution.error?.message}`);
    const children2 = detail2.children.map((c) => `${c.stepKey} ${c.status}`).sort();
    say(`o-2: its lines: ${children2.join(', ')}`);
    const journal = (await engine.admin.readJournal(o2.id)).records;
    const undone = journal.filter((r) => r.kind === 'compensation_completed').map((r) => r.stepKey);
    say(`o-2: undone in reverse completion order: ${undone.join(', ')}`);
    const [order2] = await engine.db.query<{ status: string }>(`SELECT status FROM fan_out_orders WHERE order_id = 'o-2'`);
    const afterO2 = await stock(engine);
    say(`after o-2: stock ${afterO2}; ada's balance ${await balance(engine)}; order o-2 ${order2?.status}`);
    ok &&= detail2.execution.status === 'COMPENSATED' && outcome instanceof ExecutionCompensatedError;
    ok &&= children2.join() === 'line:chair FAILED,line:desk COMPENSATED,line:lamp COMPENSATED';
    ok &&= undone.length === 3 && undone.at(-1) === 'open' && undone.includes('line:lamp') && undone.includes('line:desk');
    ok &&= afterO2 === afterO1 && (await balance(engine)) === BALANCE - 300 && order2?.status === 'CANCELLED';
    await worker.stop();

    say(ok ? 'OK: o-1 placed with each line reserved once; o-2 undone, its completed lines released and nothing charged' : 'NOT OK: see above');
    return ok ? 0 : 1;
  } finally {
    await engine.close();
  }
}

process.exitCode = await main();
