/** Direct calls of the SQL functions for tests that exercise the database's own rules. */
import type { Queryable } from '../../src/db/database.js';

export async function sqlStart(db: Queryable, workflow = 'wf', key: string | null = null, input: unknown = {}) {
  await db.query(`SELECT aries.register_workflow(p_name => $1, p_version => '1')`, [workflow]);
  const [row] = await db.query<{ execution_id: string; created: boolean; status: string }>(
    'SELECT * FROM aries.start_execution(p_workflow => $1, p_version => NULL, p_input => $2::jsonb, p_idempotency_key => $3)',
    [workflow, JSON.stringify(input), key],
  );
  return row!;
}

export async function sqlClaim(db: Queryable, worker: string, workflows = ['wf@1'], limit = 10, leaseMs = 30_000) {
  return db.query<{ id: string; lease_token: number; claim_count: number; resumed: boolean }>(
    'SELECT * FROM aries.claim_executions(p_worker => $1, p_workflow_keys => $2::text[], p_limit => $3, p_lease_ms => $4)',
    [worker, workflows, limit, leaseMs],
  );
}

/** Starts and claims one execution of a fresh workflow name, returning its id and fencing token. */
export async function sqlStartClaimed(db: Queryable, workflow: string) {
  const { execution_id } = await sqlStart(db, workflow);
  const claimed = await sqlClaim(db, 'w1', [`${workflow}@1`], 1);
  const mine = claimed.find((c) => c.id === execution_id);
  if (!mine) throw new Error('claim did not return the execution');
  return { id: execution_id, token: Number(mine.lease_token) };
}

/** Makes an execution's lease look expired, as if its worker died long ago. */
export async function expireLease(db: Queryable, id: string) {
  await db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 minute' WHERE id = $1`, [id]);
}

export async function sqlError(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected the database to refuse this');
}

/**
 * Waits until the step's completion is in the database: a step's completion is written with the next
 * write of its execution or by the flush timer, so a test that stops a run after a step waits for it here.
 */
export async function waitForStepCompleted(db: Queryable, executionId: string, stepKey: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db.query<{ status: string }>('SELECT status FROM aries.steps WHERE execution_id = $1 AND step_key = $2', [
      executionId,
      stepKey,
    ]);
    if (row?.status === 'COMPLETED') return;
    if (Date.now() > until) throw new Error(`step "${stepKey}" of execution ${executionId} was not completed within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
