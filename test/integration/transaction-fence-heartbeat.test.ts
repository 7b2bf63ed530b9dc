/**
 * A transactional step's fence and the worker's own heartbeat. At REPEATABLE READ and SERIALIZABLE the
 * fence (lock_owned_execution, FOR UPDATE of the execution's row) fails with a serialization failure if
 * the row was updated after the transaction's snapshot: a lease renewal committed in between made the
 * engine fail its own step. The heartbeat leaves the row alone while the step's transaction runs.
 *
 * The test widens the window: between the transaction's snapshot (taken by a first statement) and the
 * fence, it waits for a renewal of the execution to commit, or for three heartbeats. Server only: on
 * PGlite a renewal cannot run while a transaction holds the one connection.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database, Transaction } from '../../src/db/database.js';
import { createEngine, defineWorkflow, Worker, type Engine } from '../../src/index.js';
import { openTestDatabase, serverEnabled } from '../helpers/backends.js';

const LEASE_MS = 300;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The engine's database; each transaction takes its snapshot, then waits for a renewal of `id()` before its next statement. */
function widened(db: Database, id: () => string, renewed: string[]): Database {
  return {
    kind: db.kind,
    description: db.description,
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
      const rows = await db.query<Row>(sql, params);
      if (sql.includes('aries.renew_leases') && (params?.[1] as string[] | undefined)?.includes(id())) renewed.push(id());
      return rows;
    },
    exec: (sql) => db.exec(sql),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: async () => {},
    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      return db.transaction((tx) => {
        let waited = false;
        const wait = async () => {
          if (waited) return;
          waited = true;
          await tx.query('SELECT 1'); // the snapshot
          const before = renewed.length;
          for (let i = 0; i < 30 && renewed.length === before; i++) await sleep(LEASE_MS / 10);
        };
        return fn({
          exec: async (sql) => {
            await tx.exec(sql);
            if (sql.startsWith('SET TRANSACTION')) await wait();
          },
          query: (sql, params) => tx.query(sql, params),
          run: (statement) => tx.run(statement),
        });
      });
    },
  };
}

(serverEnabled() ? describe : describe.skip)('a SERIALIZABLE transactional step and its worker\'s heartbeat [postgres]', () => {
  let engine: Engine | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await openTestDatabase('postgres', 'fence heartbeat');
    cleanup = opened.cleanup;
    engine = await createEngine({ ...opened.connection, onError: () => {} });
    await engine.db.exec('CREATE TABLE fence_counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO fence_counter VALUES (1, 0)');
  });
  afterAll(async () => {
    await engine?.close();
    await cleanup?.();
  });

  test('no lease renewal commits between the transaction\'s snapshot and its fence: the first attempt commits', async () => {
    const e = engine!;
    const workflow = defineWorkflow('fence-heartbeat', async (ctx) =>
      ctx.transaction(
        'bump',
        async (tx) => {
          await tx.query('UPDATE fence_counter SET n = n + 1 WHERE id = 1');
          return tx.attempt;
        },
        { isolation: 'serializable', retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 } },
      ),
    );
    const handle = await e.start(workflow, null);
    const renewed: string[] = [];
    const worker = new Worker(
      widened(e.db, () => handle.id, renewed),
      { workflows: [workflow], concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: 50, schedulerIntervalMs: 0 },
      { onError: () => {} },
    );
    await worker.start();
    try {
      expect(await handle.result({ timeoutMs: 20_000 })).toBe(1);
    } finally {
      await worker.stop();
    }
    const detail = await e.admin.getExecution(handle.id);
    expect(detail?.steps.map((s) => [s.key, s.status, s.attempt])).toEqual([['bump', 'COMPLETED', 1]]);
    const [row] = await e.db.query<{ n: number }>('SELECT n FROM fence_counter WHERE id = 1');
    expect(row?.n).toBe(1);
  });
});
