/**
 * The order system of the ACID document's case study ("high-concurrency order system: READ COMMITTED,
 * asynchronous commit"), as an Aries workflow of three steps:
 *
 *   place   a transactional step at READ COMMITTED: inserts the order and decrements the stock, in the same
 *           transaction as the step's completion, so the order exists exactly when its stock was taken and
 *           its step recorded — all three or none. READ COMMITTED is enough: the decrement is one
 *           conditional UPDATE (`available >= quantity`), which PostgreSQL re-checks on the newest row
 *           version when two orders race for the same stock, and a CHECK keeps the stock from going negative.
 *   notify  a plain step with an external side effect (an e-mail, a message): at least once, with a stable
 *           idempotency key for the service that sends it.
 *   ship    a transactional step: marks the order SHIPPED.
 *
 * The workflow is parameterised by its durability class (defineWorkflow's `durability`): 'on' waits for every
 * step completion to be flushed (synchronous_commit = on; on the embedded backend, a host fsync of PGlite's
 * WAL); 'off' does not wait (synchronous_commit = off: a crash of the server may lose the last few hundred
 * milliseconds of acknowledged completions — never half of one — and those steps run again).
 *
 * Used by examples/orders/main.ts, bench/durability-classes.ts and scripts/crash-server-async-commit.ts.
 * In your own project, import from 'aries' instead of '../../src/index.js'.
 */
import { defineWorkflow, PermanentError, type Durability, type Engine, type StepContext, type Workflow } from '../../src/index.js';

export interface OrderInput {
  orderId: string;
  sku: string;
  quantity: number;
  customer: string;
}

export interface OrderResult {
  orderId: string;
  status: 'SHIPPED';
  /** The stock of the SKU right after this order took its share. */
  stockLeft: number;
  /** What the place transaction ran with: its isolation level and its synchronous_commit. */
  isolation: string;
  synchronousCommit: string;
}

export interface OrderNotification {
  to: string;
  text: string;
}

export type OrderStepKey = 'place' | 'notify' | 'ship';
export const ORDER_STEPS: readonly OrderStepKey[] = ['place', 'notify', 'ship'];

export interface OrderHooks {
  /** The notify step's side effect (default: none; the step returns the message). Runs at least once. */
  notify?: (message: OrderNotification, step: StepContext) => void | Promise<void>;
  /**
   * Called in the process that ran a step when the database has acknowledged the step's completion (never
   * for a step replayed from the journal): for a transactional step when its transaction committed, for
   * notify when the next step starts (Aries commits a completion before the next step's side effect).
   */
  acknowledged?: (executionId: string, stepKey: OrderStepKey) => void;
}

/** Workflows of this module are named `shop-order-<durability class>`. */
export const ORDER_WORKFLOW_PREFIX = 'shop-order-';

/** The shop's own tables, in the same database as Aries (a transactional step's statements run there). */
export const SHOP_DDL = `
  CREATE TABLE IF NOT EXISTS shop_stock (
    sku       text PRIMARY KEY,
    initial   integer NOT NULL,
    available integer NOT NULL CHECK (available >= 0),
    set_up_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS shop_orders (
    order_id     text PRIMARY KEY,
    execution_id uuid NOT NULL UNIQUE,
    sku          text NOT NULL REFERENCES shop_stock (sku),
    quantity     integer NOT NULL CHECK (quantity > 0),
    customer     text NOT NULL,
    status       text NOT NULL CHECK (status IN ('PLACED', 'SHIPPED')),
    placed_at    timestamptz NOT NULL DEFAULT now(),
    shipped_at   timestamptz,
    CHECK ((status = 'SHIPPED') = (shipped_at IS NOT NULL))
  );
  CREATE INDEX IF NOT EXISTS shop_orders_sku_idx ON shop_orders (sku);`;

type Db = Engine['db'];

/** Creates the shop's tables (if missing) and sets each SKU's stock (its initial and available count). */
export async function setUpShop(db: Db, stock: Record<string, number>): Promise<void> {
  await db.exec(SHOP_DDL);
  for (const [sku, count] of Object.entries(stock)) {
    await db.query(
      `INSERT INTO shop_stock (sku, initial, available) VALUES ($1, $2, $2)
       ON CONFLICT (sku) DO UPDATE SET initial = excluded.initial, available = excluded.available, set_up_at = now()`,
      [sku, count],
    );
  }
}

export function orderWorkflow(durability: Durability, hooks: OrderHooks = {}): Workflow<OrderInput, OrderResult> {
  return defineWorkflow<OrderInput, OrderResult>(
    `${ORDER_WORKFLOW_PREFIX}${durability}`,
    { durability, retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 2_000 } },
    async (ctx, order) => {
      // Which steps this process ran (rather than replayed), to report their acknowledgement.
      const ran = new Set<OrderStepKey>();
      const ack = (key: OrderStepKey) => {
        if (ran.has(key)) hooks.acknowledged?.(ctx.executionId, key);
      };

      const placed = await ctx.transaction(
        'place',
        async (tx) => {
          ran.add('place');
          await tx.query(
            `INSERT INTO shop_orders (order_id, execution_id, sku, quantity, customer, status) VALUES ($1, $2, $3, $4, $5, 'PLACED')`,
            [order.orderId, tx.executionId, order.sku, order.quantity, order.customer],
          );
          const [taken] = await tx.query<{ available: number }>(
            'UPDATE shop_stock SET available = available - $2 WHERE sku = $1 AND available >= $2 RETURNING available',
            [order.sku, order.quantity],
          );
          if (!taken) {
            const [left] = await tx.query<{ available: number }>('SELECT available FROM shop_stock WHERE sku = $1', [order.sku]);
            // Rolls the whole transaction back, the order row with it; no retry can make stock appear.
            throw new PermanentError(`out of stock: ${order.sku} has ${left?.available ?? 0} left, ${order.quantity} asked`);
          }
          const [settings] = await tx.query<{ isolation: string; synchronous_commit: string }>(
            `SELECT current_setting('transaction_isolation') AS isolation, current_setting('synchronous_commit') AS synchronous_commit`,
          );
          return { stockLeft: taken.available, isolation: settings!.isolation, synchronousCommit: settings!.synchronous_commit };
        },
        { isolation: 'read committed' },
      );
      ack('place');

      await ctx.step('notify', async (step) => {
        ran.add('notify');
        const message: OrderNotification = { to: order.customer, text: `order ${order.orderId}: ${order.quantity} × ${order.sku} confirmed` };
        await hooks.notify?.(message, step);
        return message;
      });

      await ctx.transaction(
        'ship',
        async (tx) => {
          ack('notify'); // this step's intent was written with notify's completion, before we got here
          ran.add('ship');
          const shipped = await tx.query(
            `UPDATE shop_orders SET status = 'SHIPPED', shipped_at = now() WHERE order_id = $1 AND status = 'PLACED' RETURNING 1`,
            [order.orderId],
          );
          if (shipped.length !== 1) throw new PermanentError(`order ${order.orderId} is not PLACED`);
        },
        { isolation: 'read committed' },
      );
      ack('ship');

      return { orderId: order.orderId, status: 'SHIPPED', ...placed };
    },
  );
}

/** What checkShop found: each count is of rows that break the rule named; all zero is consistent. */
export interface ShopCheck {
  orders: number;
  shipped: number;
  /** An order row whose place step has no recorded completion (its statements committed without it). */
  ordersWithoutPlace: number;
  /** A completed place step with no order row (its completion committed without its statements). */
  placeWithoutOrder: number;
  /** A SHIPPED order whose ship step has no recorded completion. */
  shippedWithoutShip: number;
  /** A completed ship step whose order is not SHIPPED. */
  shipWithoutShipped: number;
  /** A SKU whose stock taken (initial − available) differs from the quantities of its order rows. */
  stockMismatches: number;
}

/**
 * Whether every transactional step is all there or all gone: each order row matches its recorded place
 * step and its stock change, each SHIPPED status its recorded ship step. Only executions started since
 * the shop was set up count (a database may hold older runs' executions).
 */
export async function checkShop(db: Db): Promise<ShopCheck> {
  const steps = (key: OrderStepKey) => `
    SELECT s.execution_id FROM aries.steps s JOIN aries.executions e ON e.id = s.execution_id
     WHERE e.workflow_name LIKE '${ORDER_WORKFLOW_PREFIX}%' AND s.step_key = '${key}' AND s.status = 'COMPLETED'
       AND e.created_at >= (SELECT min(set_up_at) FROM shop_stock)`;
  const [row] = await db.query<Record<keyof ShopCheck, number | string>>(`
    SELECT (SELECT count(*) FROM shop_orders) AS "orders",
           (SELECT count(*) FROM shop_orders WHERE status = 'SHIPPED') AS "shipped",
           (SELECT count(*) FROM shop_orders o WHERE o.execution_id NOT IN (${steps('place')})) AS "ordersWithoutPlace",
           (SELECT count(*) FROM (${steps('place')}) p WHERE NOT EXISTS (SELECT 1 FROM shop_orders o WHERE o.execution_id = p.execution_id)) AS "placeWithoutOrder",
           (SELECT count(*) FROM shop_orders o WHERE o.status = 'SHIPPED' AND o.execution_id NOT IN (${steps('ship')})) AS "shippedWithoutShip",
           (SELECT count(*) FROM (${steps('ship')}) p
             WHERE NOT EXISTS (SELECT 1 FROM shop_orders o WHERE o.execution_id = p.execution_id AND o.status = 'SHIPPED')) AS "shipWithoutShipped",
           (SELECT count(*) FROM shop_stock st
             WHERE st.initial - st.available <> (SELECT coalesce(sum(o.quantity), 0) FROM shop_orders o WHERE o.sku = st.sku)) AS "stockMismatches"`);
  const n = (k: keyof ShopCheck) => Number(row![k]);
  return {
    orders: n('orders'),
    shipped: n('shipped'),
    ordersWithoutPlace: n('ordersWithoutPlace'),
    placeWithoutOrder: n('placeWithoutOrder'),
    shippedWithoutShip: n('shippedWithoutShip'),
    shipWithoutShipped: n('shipWithoutShipped'),
    stockMismatches: n('stockMismatches'),
  };
}

/** How many rows break a rule of checkShop (0: nothing is half-applied). */
export function halfApplied(c: ShopCheck): number {
  return c.ordersWithoutPlace + c.placeWithoutOrder + c.shippedWithoutShip + c.shipWithoutShipped + c.stockMismatches;
}
