/**
 * Executions in a given end state for the retention tests, made through the state machine's own
 * transitions (PENDING → RUNNING → the end), with a row in every table that hangs off an execution.
 */
import type { Queryable } from '../../src/db/database.js';

export type EndState = 'COMPLETED' | 'COMPENSATED' | 'CANCELLED' | 'FAILED' | 'RUNNING' | 'WAITING' | 'SUB_COMMITTED';

export interface MadeExecution {
  workflow?: string;
  status: EndState;
  /** For a finished one: how long before the database clock it finished. */
  finishedAgoMs?: number;
  key?: string | null;
  parentId?: string;
}

const PATHS: Record<EndState, string[]> = {
  COMPLETED: ['RUNNING', 'COMPLETED'],
  COMPENSATED: ['RUNNING', 'COMPENSATING', 'COMPENSATED'],
  CANCELLED: ['CANCELLED'],
  FAILED: ['RUNNING', 'FAILED'],
  RUNNING: ['RUNNING'],
  WAITING: ['RUNNING', 'WAITING'],
  SUB_COMMITTED: ['RUNNING', 'SUB_COMMITTED'],
};

const FINISHED = new Set(['COMPLETED', 'COMPENSATED', 'CANCELLED']);

export async function makeExecution(db: Queryable, spec: MadeExecution): Promise<string> {
  const workflow = spec.workflow ?? 'kept';
  await db.query(`SELECT aries.register_workflow(p_name => $1, p_version => '1')`, [workflow]);
  const [row] = await db.query<{ id: string }>(
    `SELECT gen_random_uuid() AS id`,
  );
  const id = row!.id;
  await db.query(
    `SELECT aries.create_execution(p_id => $1, p_workflow => $2, p_version => '1', p_input => '{}'::jsonb,
            p_idempotency_key => $3, p_timeout_ms => NULL, p_parent_id => $4, p_parent_step_key => $5,
            p_parent_close => $6)`,
    [id, workflow, spec.key ?? null, spec.parentId ?? null, spec.parentId ? `child-${id}` : null, spec.parentId ? 'abandon' : null],
  );
  if (spec.parentId) await db.query('UPDATE aries.executions SET has_children = true WHERE id = $1', [spec.parentId]);
  await addDependents(db, id);
  for (const status of PATHS[spec.status]) {
    const leased = status === 'RUNNING' || status === 'COMPENSATING';
    await db.query(
      `UPDATE aries.executions SET status = $2,
              lease_owner = CASE WHEN $3 THEN 'test-worker' END,
              lease_expires_at = CASE WHEN $3 THEN aries.now() + interval '1 hour' END,
              finished_at = CASE WHEN $4 THEN aries.now() - $5 * interval '1 millisecond' END
        WHERE id = $1`,
      [id, status, leased, FINISHED.has(status), spec.finishedAgoMs ?? 0],
    );
  }
  return id;
}

/** A step (with a wait on it), a journal record, a checkpoint, a failure and a signal. */
async function addDependents(db: Queryable, id: string): Promise<void> {
  await db.query(
    `INSERT INTO aries.steps (execution_id, step_key, seq, status, kind) VALUES ($1, 'nap', 0, 'CANCELLED', 'sleep')`,
    [id],
  );
  await db.query(`INSERT INTO aries.waits (execution_id, step_key, kind, wake_at) VALUES ($1, 'nap', 'sleep', aries.now())`, [id]);
  await db.query(
    `INSERT INTO aries.checkpoints (execution_id, lsn, state_data, checksum) VALUES ($1, 1, '{}'::jsonb, 'x')`,
    [id],
  );
  await db.query(
    `INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source)
     VALUES ($1, 'TRANSIENT', 'flaky', 'retry', 'step')`,
    [id],
  );
  await db.query(`INSERT INTO aries.signals (execution_id, name) VALUES ($1, 'poke')`, [id]);
}

const DEPENDENT_TABLES = ['executions', 'steps', 'waits', 'journal', 'checkpoints', 'failures', 'signals'];

/** How many rows each table holds for these executions (executions by id, the others by execution_id). */
export async function rowsOf(db: Queryable, ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of DEPENDENT_TABLES) {
    const column = table === 'executions' ? 'id' : 'execution_id';
    const [r] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.${table} WHERE ${column} = ANY ($1::uuid[])`, [ids]);
    out[table] = r!.n;
  }
  return out;
}

export async function exists(db: Queryable, id: string): Promise<boolean> {
  const [r] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM aries.executions WHERE id = $1', [id]);
  return r!.n === 1;
}

/** One purge pass, with the database clock moved forward by aheadMs in its transaction. */
export async function purge(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  batch = 1000,
  aheadMs = 0,
): Promise<{ executions: number; keys_kept: number; keys_expired: number }> {
  return db.transaction(async (tx) => {
    if (aheadMs !== 0) await tx.query(`SELECT set_config('aries.now', (now() + $1 * interval '1 millisecond')::text, true)`, [aheadMs]);
    const [r] = await tx.query<{ executions: number; keys_kept: number; keys_expired: number }>(
      'SELECT * FROM aries.purge_finished(p_batch => $1)',
      [batch],
    );
    return r!;
  });
}
