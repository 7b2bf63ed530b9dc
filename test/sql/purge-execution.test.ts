/**
 * aries.purge_execution, called directly: what goes (the execution, its tree, everything hanging off them,
 * its kept key; a schedule slot keeps its slot but loses the id), the audit record it leaves, and what it
 * refuses (a busy execution AR017, a child AR018, an unknown id AR001, no name AR011).
 */
import pg from 'pg';
import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { exists, makeExecution, rowsOf } from '../helpers/retention.js';
import { sqlError } from '../helpers/sql.js';

const purge = (db: Queryable, id: string, by = 'alice', reason: string | null = 'leaked a token') =>
  db.query<Record<string, unknown>>('SELECT * FROM aries.purge_execution(p_execution_id => $1, p_purged_by => $2, p_reason => $3)', [
    id,
    by,
    reason,
  ]);

describeBackends('aries.purge_execution', (b) => {
  const db = () => b.engine.db;

  test('purge_execution deletes a finished execution with everything hanging off it and returns the audit record it keeps', async () => {
    const id = await makeExecution(db(), { status: 'COMPLETED', key: `purge-key-${Date.now()}` });
    const other = await makeExecution(db(), { status: 'COMPLETED' });
    const [before] = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM aries.journal WHERE execution_id = $1', [id]);
    const [record] = await purge(db(), id);
    expect(record).toMatchObject({
      execution_id: id,
      workflow_name: 'kept',
      workflow_version: '1',
      status: 'COMPLETED',
      purged_by: 'alice',
      reason: 'leaked a token',
      executions: 1,
      steps: 1,
      journal_records: before!.n,
      checkpoints: 1,
      failures: 1,
      signals: 1,
      waits: 1,
    });
    expect(typeof record!.database_user).toBe('string');
    expect(await rowsOf(db(), [id])).toEqual({ executions: 0, steps: 0, waits: 0, journal: 0, checkpoints: 0, failures: 0, signals: 0 });
    expect(await exists(db(), other)).toBe(true);
    const audit = await db().query('SELECT execution_id, purged_by FROM aries.purges WHERE execution_id = $1', [id]);
    expect(audit).toEqual([{ execution_id: id, purged_by: 'alice' }]);
  });

  test('purge_execution stamps purged_at with the database clock', async () => {
    const id = await makeExecution(db(), { status: 'CANCELLED' });
    const purgedAt = await db().transaction(async (tx) => {
      await tx.query(`SELECT set_config('aries.now', '2031-05-06T07:08:09Z', true)`);
      const [r] = await purge(tx, id);
      return r!.purged_at;
    });
    expect(new Date(purgedAt as string | Date).toISOString()).toBe('2031-05-06T07:08:09.000Z');
  });

  test('purge_execution takes FAILED and COMPENSATED executions, and refuses PENDING, RUNNING and WAITING ones with AR017 naming the execution and its status', async () => {
    for (const status of ['FAILED', 'COMPENSATED'] as const) {
      const id = await makeExecution(db(), { status });
      const [r] = await purge(db(), id);
      expect(r!.status).toBe(status);
      expect(await exists(db(), id)).toBe(false);
    }
    const pending = (await db().query<{ id: string }>(
      `SELECT execution_id AS id FROM aries.start_execution(p_workflow => 'kept', p_version => NULL, p_input => '{}'::jsonb)`,
    ))[0]!.id;
    for (const [id, status] of [
      [pending, 'PENDING'],
      [await makeExecution(db(), { status: 'RUNNING' }), 'RUNNING'],
      [await makeExecution(db(), { status: 'WAITING' }), 'WAITING'],
    ] as const) {
      const err = await sqlError(purge(db(), id));
      expect(err.code).toBe('AR017');
      expect(err.message).toContain(id);
      expect(err.message).toContain(status);
      expect(err.message).toMatch(/cancel it first/);
      expect(await exists(db(), id)).toBe(true);
    }
  });

  test('purge_execution of a top-level execution takes its whole tree; a child alone is refused with AR018 naming the top-level execution', async () => {
    const root = await makeExecution(db(), { status: 'COMPLETED' });
    const child = await makeExecution(db(), { status: 'COMPLETED', parentId: root });
    const grandchild = await makeExecution(db(), { status: 'CANCELLED', parentId: child });

    const err = await sqlError(purge(db(), grandchild));
    expect(err.code).toBe('AR018');
    expect(err.message).toContain(`child of execution ${child}`);
    expect(err.message).toContain(`purge top-level execution ${root}`);

    const [r] = await purge(db(), root);
    expect(r!.executions).toBe(3);
    expect(r!.steps).toBe(3);
    expect(await rowsOf(db(), [root, child, grandchild])).toEqual({ executions: 0, steps: 0, waits: 0, journal: 0, checkpoints: 0, failures: 0, signals: 0 });
  });

  test('purge_execution refuses a tree with a busy or SUB_COMMITTED child (AR017 naming the child) and deletes nothing', async () => {
    for (const status of ['RUNNING', 'SUB_COMMITTED'] as const) {
      const root = await makeExecution(db(), { status: 'FAILED' });
      const child = await makeExecution(db(), { status, parentId: root });
      const err = await sqlError(purge(db(), root));
      expect(err.code).toBe('AR017');
      expect(err.message).toContain(`child execution ${child} is ${status}`);
      expect(await exists(db(), root)).toBe(true);
      expect(await exists(db(), child)).toBe(true);
    }
  });

  test('purge_execution removes the kept idempotency key and the id from the schedule slot that started it', async () => {
    const id = await makeExecution(db(), { status: 'COMPLETED' });
    await db().query(
      `INSERT INTO aries.retained_idempotency_keys (idempotency_key, workflow_name, execution_id, status, finished_at, expires_at)
       VALUES ($1, 'kept', $2, 'COMPLETED', aries.now(), aries.now() + interval '1 day')`,
      [`kept-${id}`, id],
    );
    await db().query(`SELECT aries.upsert_schedule(p_name => $1, p_cron => '0 0 * * *', p_timezone => 'UTC', p_workflow => 'kept',
                        p_version => NULL, p_input => NULL, p_misfire => 'skip', p_max_lateness_ms => 60000, p_next_fire_at => aries.now() + interval '1 day')`, [
      `nightly-${id}`,
    ]);
    await db().query(`INSERT INTO aries.schedule_slots (schedule_name, slot_at, status, execution_id) VALUES ($1, aries.now(), 'started', $2)`, [
      `nightly-${id}`,
      id,
    ]);
    await purge(db(), id);
    expect(await db().query('SELECT 1 FROM aries.retained_idempotency_keys WHERE execution_id = $1', [id])).toEqual([]);
    expect(await db().query('SELECT status, execution_id FROM aries.schedule_slots WHERE schedule_name = $1', [`nightly-${id}`])).toEqual([
      { status: 'started', execution_id: null },
    ]);
  });

  test('purge_execution refuses an unknown id (AR001) and a purge that names no one (AR011)', async () => {
    const unknown = await sqlError(purge(db(), '00000000-0000-4000-8000-000000000000'));
    expect(unknown.code).toBe('AR001');
    expect(unknown.message).toBe('execution 00000000-0000-4000-8000-000000000000 not found');
    const id = await makeExecution(db(), { status: 'COMPLETED' });
    for (const by of ['', null]) expect((await sqlError(purge(db(), id, by as string))).code).toBe('AR011');
    expect((await sqlError(purge(db(), id, 'alice', 'x'.repeat(4097)))).code).toBe('AR011');
    expect(await exists(db(), id)).toBe(true);
  });

  test('the journal still refuses a delete of a record whose execution stays', async () => {
    const id = await makeExecution(db(), { status: 'COMPLETED' });
    const err = await sqlError(db().query('DELETE FROM aries.journal WHERE execution_id = $1', [id]));
    expect(err.code).toBe('AR008');
  });
});

describeBackends('aries.purge_execution racing a recovery', (b) => {
  // Two transactions at once need a server (PGlite runs one at a time).
  test.skipIf(b.name !== 'postgres')('a purge that waits on a FAILED execution an operator is recovering sees it PENDING once that commits, and refuses it (AR017)', async () => {
    const id = await makeExecution(b.engine.db, { status: 'FAILED' });
    const recovering = await pgClient(b.connection.databaseUrl!);
    const purging = await pgClient(b.connection.databaseUrl!);
    try {
      await recovering.query('BEGIN');
      await recovering.query(`UPDATE aries.executions SET status = 'PENDING' WHERE id = $1`, [id]);
      const purged = purging
        .query(`SELECT * FROM aries.purge_execution(p_execution_id => $1, p_purged_by => 'alice')`, [id])
        .then(() => undefined, (e: { code?: string; message: string }) => e);
      // The purge is blocked on the row lock until the recovery commits (asked from a third session: inside a
      // transaction pg_stat_activity is a snapshot taken at its first read).
      for (let i = 0; ; i++) {
        const [w] = await b.engine.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%aries.purge_execution(p_execution_id%'`,
        );
        if (w!.n > 0) break;
        if (i > 2000) throw new Error('the purge never waited for the row lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      await recovering.query('COMMIT');
      const err = await purged;
      expect(err?.code).toBe('AR017');
      expect(err?.message).toContain(`execution ${id} is PENDING`);
      expect(await exists(b.engine.db, id)).toBe(true);
    } finally {
      await recovering.end();
      await purging.end();
    }
  });
});

async function pgClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
