/**
 * An order fanned out to child workflows, one per order line, with a saga around them.
 *
 *   parent `fan-out-order`: open the order (compensable: cancel it) → one child per line, all at once →
 *                           charge the customer (compensable: refund) → the order is placed
 *   child  `fan-out-line`:  reserve the line's stock in its warehouse (compensable: release it)
 *
 * Each child's id is derived from the parent and its key (`line:<sku>`), so a replayed parent never starts
 * a line twice, and the parent waits for them WAITING, holding no worker slot. A line that completes is
 * SUB_COMMITTED: done, but only for good when the order is. When a line fails PERMANENTLY (its stock is
 * short), the parent's step fails with ChildWorkflowFailedError and its saga runs in reverse order: the
 * lines that had completed (SUB_COMMITTED) are undone by their own compensations, each as a unit, then
 * the order is cancelled. When the order completes, its lines become COMPLETED with it.
 *
 * The lines are awaited with Promise.allSettled, so every line has settled before the saga decides what
 * to undo; then the first failure is rethrown (it keeps its classification: PERMANENT).
 */
import { defineWorkflow, PermanentError, type Engine } from '../../src/index.js';

export interface OrderLine {
  sku: string;
  quantity: number;
  warehouse: string;
}

export interface FanOutOrder {
  orderId: string;
  customer: string;
  amount: number;
  lines: OrderLine[];
}

export interface PlacedOrder {
  orderId: string;
  reservations: string[];
  /** The statuses of the lines while the order was being charged (before the order itself completed). */
  lineStatusesWhileCharging: string[];
}

export const FAN_OUT_DDL = `
  CREATE TABLE fan_out_stock (warehouse text NOT NULL, sku text NOT NULL, available int NOT NULL CHECK (available >= 0),
                              PRIMARY KEY (warehouse, sku));
  CREATE TABLE fan_out_orders (order_id text PRIMARY KEY, status text NOT NULL);
  CREATE TABLE fan_out_accounts (customer text PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0));
  CREATE TABLE fan_out_ledger (idempotency_key text PRIMARY KEY, what text NOT NULL)`;

/**
 * Runs `sql` once per idempotency key (a ledger row in the same transaction): a step or compensation
 * run again after a crash changes nothing the second time.
 */
async function once(engine: Engine, key: string, what: string, sql: string, params: unknown[]): Promise<void> {
  await engine.db.transaction(async (tx) => {
    const [fresh] = await tx.query('INSERT INTO fan_out_ledger VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1', [key, what]);
    if (fresh) await tx.query(sql, params);
  });
}

export function fanOutWorkflows(engine: Engine) {
  const line = defineWorkflow<OrderLine & { orderId: string }, string>('fan-out-line', async (ctx, l) =>
    ctx.step(
      'reserve',
      async (step) => {
        const [row] = await engine.db.query<{ available: number }>('SELECT available FROM fan_out_stock WHERE warehouse = $1 AND sku = $2', [
          l.warehouse,
          l.sku,
        ]);
        if (!row || row.available < l.quantity) {
          throw new PermanentError(`${l.warehouse} has ${row?.available ?? 0} × ${l.sku}, the order needs ${l.quantity}`);
        }
        await once(engine, step.idempotencyKey, `reserve ${l.quantity} ${l.sku}`,
          'UPDATE fan_out_stock SET available = available - $3 WHERE warehouse = $1 AND sku = $2', [l.warehouse, l.sku, l.quantity]);
        return `${l.quantity} × ${l.sku} at ${l.warehouse}`;
      },
      {
        compensate: (_reserved, comp) =>
          once(engine, comp.idempotencyKey, `release ${l.quantity} ${l.sku}`,
            'UPDATE fan_out_stock SET available = available + $3 WHERE warehouse = $1 AND sku = $2', [l.warehouse, l.sku, l.quantity]),
      },
    ),
  );

  const order = defineWorkflow<FanOutOrder, PlacedOrder>('fan-out-order', async (ctx, o) => {
    await ctx.step(
      'open',
      (step) => once(engine, step.idempotencyKey, 'open the order', `INSERT INTO fan_out_orders VALUES ($1, 'OPEN')`, [o.orderId]),
      {
        compensate: (_out, comp) =>
          once(engine, comp.idempotencyKey, 'cancel the order', `UPDATE fan_out_orders SET status = 'CANCELLED' WHERE order_id = $1`, [o.orderId]),
      },
    );
    const settled = await Promise.allSettled(o.lines.map((l) => ctx.child(`line:${l.sku}`, line, { orderId: o.orderId, ...l })));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const reservations = settled.map((s) => (s as PromiseFulfilledResult<string>).value);

    const lineStatusesWhileCharging = await ctx.step(
      'charge',
      async (step) => {
        await once(engine, step.idempotencyKey, `charge ${o.amount}`, 'UPDATE fan_out_accounts SET balance = balance - $2 WHERE customer = $1', [
          o.customer,
          o.amount,
        ]);
        // What an operator sees meanwhile: the lines are done, but only SUB_COMMITTED until the order completes.
        return (await engine.admin.getExecution(step.executionId))!.children.map((c) => `${c.stepKey} ${c.status}`);
      },
      {
        compensate: (_out, comp) =>
          once(engine, comp.idempotencyKey, `refund ${o.amount}`, 'UPDATE fan_out_accounts SET balance = balance + $2 WHERE customer = $1', [
            o.customer,
            o.amount,
          ]),
      },
    );
    await ctx.step('place', (step) =>
      once(engine, step.idempotencyKey, 'place the order', `UPDATE fan_out_orders SET status = 'PLACED' WHERE order_id = $1`, [o.orderId]),
    );
    return { orderId: o.orderId, reservations, lineStatusesWhileCharging };
  });

  return { order, line };
}
