/**
 * A stale worker: worker A claims an execution and hangs inside a step; its lease expires; worker B claims
 * the execution (the fencing token goes up), runs the step again and completes the execution. Then A wakes
 * up: its step's function finishes, but the write of its completion carries the old token and the database
 * refuses it with LeaseLostError, so A records nothing. The side effects show the step ran twice under one
 * key.
 */
import { expect, test } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { translateDatabaseError } from '../../src/db/sqlstate-errors.js';
import { defineWorkflow, LeaseLostError, Worker } from '../../src/index.js';
import type { RunOutcome } from '../../src/worker/run/execution-runner.js';
import { describeBackends } from '../helpers/backends.js';

interface EffectRow {
  step_key: string;
  attempt: number;
  idempotency_key: string;
}

/** A promise with its resolver, to hold a step open and to wait for events. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describeBackends('a worker whose lease expired', (b) => {
  test('cannot record the step it finishes after another worker took the execution over', async () => {
    const { engine } = b;
    await engine.db.exec(`CREATE TABLE lease_side_effects (
      id bigserial PRIMARY KEY, execution_id text, step_key text, attempt int, idempotency_key text)`);

    const chargeEnteredByA = deferred();
    const releaseA = deferred();
    const record = (executionId: string, stepKey: string, attempt: number, idempotencyKey: string) =>
      engine.db.query(
        'INSERT INTO lease_side_effects (execution_id, step_key, attempt, idempotency_key) VALUES ($1, $2, $3, $4)',
        [executionId, stepKey, attempt, idempotencyKey],
      );

    const workflow = defineWorkflow('stale-lease', async (ctx) => {
      await ctx.step('prepare', async (s) => {
        await record(s.executionId, s.stepKey, s.attempt, s.idempotencyKey);
        return 'prepared';
      });
      const charge = await ctx.step('charge', async (s) => {
        if (s.attempt === 1) {
          // Worker A, the first to run this step, hangs here until the test lets it go.
          chargeEnteredByA.resolve();
          await releaseA.promise;
        }
        await record(s.executionId, s.stepKey, s.attempt, s.idempotencyKey);
        return `charged on attempt ${s.attempt}`;
      });
      await ctx.step('receipt', async (s) => {
        await record(s.executionId, s.stepKey, s.attempt, s.idempotencyKey);
        return 'sent';
      });
      return { charge };
    });

    // Worker A sees the database through a spy that keeps every write of A the database refused.
    const refused: Array<{ fn: string; params: readonly unknown[]; error: unknown }> = [];
    const db = engine.db;
    const spied: Database = {
      kind: db.kind,
      description: db.description,
      query: async <Row,>(sql: string, params?: readonly unknown[]) => {
        const fn = /aries\.(\w+)/.exec(sql)?.[1] ?? sql;
        let rows: Row[];
        try {
          rows = await db.query<Row>(sql, params);
        } catch (err) {
          refused.push({ fn, params: params ?? [], error: translateDatabaseError(err) });
          throw err;
        }
        // A batch of step writes refuses its items one by one, in its result rows.
        for (const row of rows as Array<{ error_code?: string | null; error_message?: string | null }>) {
          if (row.error_code) {
            const err = Object.assign(new Error(row.error_message ?? ''), { code: row.error_code });
            refused.push({ fn, params: params ?? [], error: translateDatabaseError(err) });
          }
        }
        return rows;
      },
      exec: (sql) => db.exec(sql),
      transaction: (fn) => db.transaction(fn),
      listen: (channel, onNotify) => db.listen(channel, onNotify),
      close: async () => {},
    };
    const outcomeOfA = deferred<RunOutcome>();
    // Concurrency 1, so A cannot claim the execution back while its own run of it is still hanging; a lease
    // of a minute, so A's heartbeat does not run during the test: A is stale, not dead.
    const workerA = new Worker(
      spied,
      { workflows: [workflow], concurrency: 1, leaseMs: 60_000, pollIntervalMs: 50, id: 'worker-A' },
      { onFinished: (_id, outcome) => outcomeOfA.resolve(outcome), onError: () => {} },
    );
    const workerB = engine.worker({ workflows: [workflow], concurrency: 1, leaseMs: 60_000, pollIntervalMs: 50, id: 'worker-B' });
    const lease = async (id: string) => {
      const [row] = await db.query<{ lease_token: string | number; lease_owner: string | null; claim_count: number }>(
        'SELECT lease_token, lease_owner, claim_count FROM aries.executions WHERE id = $1',
        [id],
      );
      return { token: Number(row!.lease_token), owner: row!.lease_owner, claims: row!.claim_count };
    };

    try {
      await workerA.start();
      const handle = await engine.start(workflow, null);
      await chargeEnteredByA.promise;
      expect(await lease(handle.id)).toEqual({ token: 1, owner: 'worker-A', claims: 1 });

      // A's lease runs out while its step hangs (as if its heartbeat had stalled).
      await db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [handle.id]);

      await workerB.start();
      expect(await handle.result({ timeoutMs: 20_000 })).toEqual({ charge: 'charged on attempt 2' });
      expect(await lease(handle.id)).toMatchObject({ token: 2, claims: 2 });

      // Now A's step finishes; its completion under token 1 is refused, and its run ends without a write.
      releaseA.resolve();
      expect(await outcomeOfA.promise).toBe('leaseLost');
      // Every write A tried after the takeover was refused as a lost lease; among them, the one carrying
      // the completion of "charge" under A's token (1).
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const r of refused) expect(r.error, `${r.fn} refused`).toBeInstanceOf(LeaseLostError);
      expect(refused.some((r) => /"token":1[,}]/.test(String(r.params[0])) && String(r.params[0]).includes('"key":"charge"'))).toBe(true);
      expect(workerA.stats).toMatchObject({ claimed: 1, completed: 0, leaseLost: 1 });

      // The side effects: A's late charge ran after B's, under the same idempotency key.
      const effects = await db.query<EffectRow>(
        'SELECT step_key, attempt, idempotency_key FROM lease_side_effects WHERE execution_id = $1 ORDER BY id',
        [handle.id],
      );
      expect(effects.map((e) => [e.step_key, e.attempt])).toEqual([
        ['prepare', 1], // by A
        ['charge', 2], // by B
        ['receipt', 1], // by B
        ['charge', 1], // by A, after it had lost the execution
      ]);
      const chargeKeys = new Set(effects.filter((e) => e.step_key === 'charge').map((e) => e.idempotency_key));
      expect(chargeKeys).toEqual(new Set([`${handle.id}:charge`]));

      // What is recorded is B's work only: A added nothing after the execution completed.
      const detail = await engine.admin.getExecution(handle.id);
      expect(detail?.execution.status).toBe('COMPLETED');
      expect(detail?.steps.map((s) => [s.key, s.status, s.attempt, s.output])).toEqual([
        ['prepare', 'COMPLETED', 1, 'prepared'],
        ['charge', 'COMPLETED', 2, 'charged on attempt 2'],
        ['receipt', 'COMPLETED', 1, 'sent'],
      ]);
      const journal = (await engine.admin.readJournal(handle.id)).records;
      expect(journal.every((r) => r.checksumOk)).toBe(true);
      expect(journal.filter((r) => r.kind === 'step_completed' && r.stepKey === 'charge').map((r) => r.attempt)).toEqual([2]);
      expect(journal.at(-1)?.kind).toBe('execution_completed');
    } finally {
      releaseA.resolve();
      await workerA.stop();
      await workerB.stop();
    }
  });
});
