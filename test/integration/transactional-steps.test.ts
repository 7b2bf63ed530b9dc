import { expect, test } from 'vitest';
import { defineWorkflow, ExecutionFailedError, LeaseLostError, PermanentError, type TransactionContext, type Workflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

/**
 * Transactional steps: the user's statements and the step's completion commit in one transaction, at the
 * isolation level asked for and the workflow's durability class; the effect happens exactly once.
 */
describeBackends('transactional steps', (b) => {
  async function run<I>(wf: Workflow<I, unknown>, inputs: I[], concurrency = 4) {
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, concurrency, schedulerIntervalMs: 0 });
    await w.start();
    const handles = await Promise.all(inputs.map((i) => b.engine.start(wf, i)));
    const outcomes = await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 }).then((o) => ({ ok: true as const, o }), (e: unknown) => ({ ok: false as const, e }))));
    await w.stop();
    return { handles, outcomes, stats: w.stats };
  }

  test('the statements and the completion commit together: the effect is recorded once with the output', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_accounts (id text PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))');
    await b.engine.db.exec(`INSERT INTO tx_accounts VALUES ('a', 100), ('b', 0) ON CONFLICT (id) DO UPDATE SET balance = excluded.balance`);
    const wf = defineWorkflow('tx-move', async (ctx, amount: number) =>
      ctx.transaction('move', async (tx) => {
        await tx.query(`UPDATE tx_accounts SET balance = balance - $1 WHERE id = 'a'`, [amount]);
        await tx.query(`UPDATE tx_accounts SET balance = balance + $1 WHERE id = 'b'`, [amount]);
        const [row] = await tx.query<{ level: string }>('SELECT current_setting($1) AS level', ['transaction_isolation']);
        return { moved: amount, level: row!.level, attempt: tx.attempt, key: tx.idempotencyKey };
      }, { isolation: 'serializable' }),
    );
    const { handles, outcomes } = await run(wf, [30]);
    expect(outcomes[0]).toMatchObject({ ok: true, o: { moved: 30, level: 'serializable', attempt: 1, key: `${handles[0]!.id}:move` } });
    const rows = await b.engine.db.query<{ id: string; balance: number }>('SELECT id, balance FROM tx_accounts ORDER BY id');
    expect(rows).toEqual([{ id: 'a', balance: 70 }, { id: 'b', balance: 30 }]);
    const kinds = (await b.engine.admin.readJournal(handles[0]!.id)).records.map((r) => r.kind);
    expect(kinds).toEqual(['execution_started', 'step_started', 'step_completed', 'execution_completed']);
  });

  test('an error rolls the statements back: a CHECK violation fails the step and nothing is applied', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_wallets (id text PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))');
    await b.engine.db.exec(`INSERT INTO tx_wallets VALUES ('w', 10) ON CONFLICT (id) DO UPDATE SET balance = 10`);
    const wf = defineWorkflow('tx-overdraw', { retry: { maxAttempts: 1 } }, async (ctx) =>
      ctx.transaction('spend', async (tx) => {
        await tx.query(`INSERT INTO tx_wallets VALUES ('log-entry', 0)`); // applied only if the whole step commits
        await tx.query(`UPDATE tx_wallets SET balance = balance - 50 WHERE id = 'w'`);
      }),
    );
    const { outcomes } = await run(wf, [null]);
    expect(outcomes[0]!.ok).toBe(false);
    expect((outcomes[0] as { e: Error }).e).toBeInstanceOf(ExecutionFailedError);
    expect((outcomes[0] as { e: Error }).e.message).toMatch(/check constraint/);
    expect(await b.engine.db.query('SELECT id, balance FROM tx_wallets ORDER BY id')).toEqual([{ id: 'w', balance: 10 }]);
  });

  test('serialization failures retry the whole step: concurrent read-modify-writes at SERIALIZABLE all apply, none twice', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_counter (id int PRIMARY KEY, n int NOT NULL)');
    await b.engine.db.exec('INSERT INTO tx_counter VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0');
    const applied: string[] = [];
    const wf = defineWorkflow('tx-increment', { retry: { maxAttempts: 20, initialDelayMs: 5, maxDelayMs: 50 } }, async (ctx) =>
      ctx.transaction('increment', async (tx) => {
        const [row] = await tx.query<{ n: number }>('SELECT n FROM tx_counter WHERE id = 1');
        await new Promise((r) => setTimeout(r, 5)); // widen the race between the read and the write
        await tx.query('UPDATE tx_counter SET n = $1 WHERE id = 1', [row!.n + 1]);
        applied.push(tx.idempotencyKey);
        return row!.n + 1;
      }, { isolation: 'serializable' }),
    );
    const { outcomes } = await run(wf, Array.from({ length: 8 }, () => null), 8);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const [counter] = await b.engine.db.query<{ n: number }>('SELECT n FROM tx_counter WHERE id = 1');
    expect(counter!.n).toBe(8); // no lost update
    expect(new Set(outcomes.map((o) => (o as { o: number }).o)).size).toBe(8);
    const [top] = await b.engine.db.query<{ max: number }>(
      `SELECT max(s.attempt) AS max FROM aries.steps s JOIN aries.executions e ON e.id = s.execution_id WHERE e.workflow_name = 'tx-increment'`,
    );
    // On the server the transactions ran concurrently and some lost the race (40001) and ran again; on
    // PGlite one connection runs them one after another, so none had to.
    if (b.name === 'postgres') expect(top!.max).toBeGreaterThan(1);
    else expect(top!.max).toBe(1);
  });

  test("the workflow's durability class is the transaction's synchronous_commit", async () => {
    const wf = defineWorkflow('tx-durability', { durability: 'off' }, async (ctx) =>
      ctx.transaction('read', async (tx) => (await tx.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`))[0]!.s),
    );
    const strict = defineWorkflow('tx-durability-on', async (ctx) =>
      ctx.transaction('read', async (tx) => (await tx.query<{ s: string }>(`SELECT current_setting('synchronous_commit') AS s`))[0]!.s),
    );
    expect((await run(wf, [null])).outcomes[0]).toMatchObject({ ok: true, o: 'off' });
    expect((await run(strict, [null])).outcomes[0]).toMatchObject({ ok: true, o: 'on' });
  });

  test('a transactional step open longer than the lease does not stall the heartbeat or lose the lease', async () => {
    const wf = defineWorkflow('tx-long', async (ctx) => {
      await ctx.step('before', () => 1);
      return ctx.transaction('slow', async (tx) => {
        await tx.query('SELECT 1');
        await new Promise((r) => setTimeout(r, 1_500)); // longer than the lease below
        return 'done';
      }, { isolation: 'repeatable read' });
    });
    // A second execution runs beside it, so the heartbeat has a lease to renew that no step holds.
    const other = defineWorkflow('tx-long-other', async (ctx) => {
      for (let i = 0; i < 30; i++) await ctx.step(`s${i}`, () => new Promise((r) => setTimeout(r, 50)));
      return 'other';
    });
    const w = b.engine.worker({ workflows: [wf, other], leaseMs: 600, pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    try {
      const [h1, h2] = [await b.engine.start(wf, null), await b.engine.start(other, null)];
      expect(await h1.result({ timeoutMs: 20_000 })).toBe('done');
      expect(await h2.result({ timeoutMs: 20_000 })).toBe('other');
      if (b.name === 'postgres') expect(w.stats.leaseLost).toBe(0); // PGlite: one connection, everything waits for the step
      const steps = (await b.engine.admin.getExecution(h1.id))!.steps;
      expect(steps.find((s) => s.key === 'slow')?.attempt).toBe(1); // no 40001 from a heartbeat meeting the fence
    } finally {
      await w.stop();
    }
  });

  test('a worker whose lease was taken over never commits its statements (fencing)', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_fenced (v text)');
    let seen: unknown;
    const wf = defineWorkflow('tx-fenced', { retry: { maxAttempts: 1 } }, async (ctx) => {
      try {
        await ctx.transaction('write', async (tx) => {
          await tx.query(`INSERT INTO tx_fenced VALUES ('stale')`);
        });
      } catch (err) {
        seen = err;
        throw err;
      }
    });
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    // Another worker's claim bumps the token between the intent and the transaction.
    const original = b.engine.db.transaction.bind(b.engine.db);
    let bumped = false;
    b.engine.db.transaction = (async (fn: Parameters<typeof original>[0]) => {
      if (!bumped) {
        bumped = true;
        await b.engine.db.query(`UPDATE aries.executions SET lease_token = lease_token + 1 WHERE workflow_name = 'tx-fenced'`);
      }
      return original(fn);
    }) as typeof original;
    try {
      await w.start();
      await b.engine.start(wf, null);
      for (let i = 0; i < 200 && seen === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      b.engine.db.transaction = original;
      await w.stop();
    }
    expect(seen).toBeInstanceOf(LeaseLostError);
    expect(await b.engine.db.query('SELECT v FROM tx_fenced')).toEqual([]);
  });

  test('a transactional step is replayed, not re-run; a PermanentError thrown inside it rolls it back and fails the execution', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_log (v text)');
    let runs = 0;
    const wf = defineWorkflow('tx-permanent', async (ctx) => {
      await ctx.transaction('log', async (tx) => {
        runs++;
        await tx.query(`INSERT INTO tx_log VALUES ('logged')`);
      });
      await ctx.transaction('refuse', async (tx) => {
        await tx.query(`INSERT INTO tx_log VALUES ('never')`);
        throw new PermanentError('refused');
      });
    });
    const { handles, outcomes } = await run(wf, [null]);
    expect(outcomes[0]!.ok).toBe(false);
    expect(await b.engine.db.query('SELECT v FROM tx_log')).toEqual([{ v: 'logged' }]);
    await b.engine.admin.recover(handles[0]!.id); // resumes from the checkpoint after "log": it is replayed
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    await handles[0]!.result({ timeoutMs: 20_000 }).catch(() => {});
    await w.stop();
    expect(runs).toBe(1);
    expect(await b.engine.db.query('SELECT v FROM tx_log')).toEqual([{ v: 'logged' }]);
  });
  test('COMMIT, ROLLBACK or BEGIN sent through tx.query is refused: the step fails PERMANENTLY and its writes roll back', async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_escape (v text)');
    for (const statement of ['COMMIT', 'rollback', 'SELECT 1; COMMIT', 'BEGIN']) {
      const wf = defineWorkflow(`tx-escape-${statement.replace(/\W+/g, '-')}`, async (ctx) =>
        ctx.transaction('write', async (tx) => {
          await tx.query(`INSERT INTO tx_escape VALUES ('escaped')`);
          await tx.query(statement);
        }),
      );
      const { handles, outcomes } = await run(wf, [null]);
      expect(outcomes[0]!.ok).toBe(false);
      expect((outcomes[0] as { e: Error }).e.message).toMatch(/is refused: the engine owns this transaction/);
      expect((await b.engine.admin.getExecution(handles[0]!.id))!.steps.find((s) => s.key === 'write')?.attempt).toBe(1);
    }
    expect(await b.engine.db.query('SELECT v FROM tx_escape')).toEqual([]);
  });

  test("tx.client answers as node-postgres does: rows, rowCount, command, fields, and rowMode 'array'", async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS tx_client_rows (id int PRIMARY KEY, name text NOT NULL)');
    const wf = defineWorkflow('tx-client-shape', async (ctx) =>
      ctx.transaction('shape', async (tx) => {
        const inserted = await tx.client.query('INSERT INTO tx_client_rows VALUES ($1, $2), ($3, $4)', [1, 'ada', 2, 'bob']);
        const updated = await tx.client.query({ text: 'UPDATE tx_client_rows SET name = upper(name) WHERE id = $1', values: [2] });
        const objects = await tx.client.query<{ id: number; name: string }>('SELECT id, name FROM tx_client_rows ORDER BY id');
        const arrays = await tx.client.query({ text: 'SELECT id, name FROM tx_client_rows WHERE id > $1 ORDER BY id', rowMode: 'array' }, [0]);
        const created = await tx.client.query('CREATE TEMP TABLE tx_client_tmp (x int) ON COMMIT DROP');
        const big = await tx.client.query<{ n: unknown }>('SELECT 42::int8 AS n');
        let cursor = '';
        try {
          tx.client.query({ read: async () => [], close: async () => {} });
        } catch (err) {
          cursor = (err as Error).message;
        }
        return {
          big: big.rows[0]!.n,
          cursor,
          inserted: [inserted.command, inserted.rowCount],
          updated: [updated.command, updated.rowCount],
          objects: [objects.command, objects.rowCount, objects.rows, objects.fields.map((f) => [f.name, f.dataTypeID])],
          arrays: arrays.rows,
          created: [created.command, created.rowCount],
          pool: (await tx.client.connect()) === tx.client,
        };
      }),
    );
    const { outcomes } = await run(wf, [null]);
    expect(outcomes[0]).toEqual({
      ok: true,
      o: {
        inserted: ['INSERT', 2],
        updated: ['UPDATE', 1],
        objects: ['SELECT', 2, [{ id: 1, name: 'ada' }, { id: 2, name: 'BOB' }], [['id', 23], ['name', 25]]],
        arrays: [[1, 'ada'], [2, 'BOB']],
        created: ['CREATE', null],
        pool: true,
        big: 42,
        cursor: expect.stringMatching(/cursors \(streaming\) are not supported/),
      },
    });
  });

  test('tx.client is refused once the step has returned: its transaction is the engine\'s again', async () => {
    let kept: TransactionContext['client'] | undefined;
    const wf = defineWorkflow('tx-client-after', async (ctx) => {
      await ctx.transaction('keep', async (tx) => {
        kept = tx.client;
      });
      return ctx.step('use', async () => kept!.query('SELECT 1').then(() => 'ran', (err: Error) => err.message));
    });
    const { outcomes } = await run(wf, [null]);
    expect(outcomes[0]).toEqual({ ok: true, o: expect.stringMatching(/a statement was sent after the function returned/) });
  });
});
