/**
 * Leases: claiming executions (FOR UPDATE SKIP LOCKED, expiry judged on the database clock) and when a
 * rate-limited queue can admit again, renewing and releasing them, and the fence a transactional step takes
 * (who holds what is listed with the workers registry, workers.ts).
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { Queryable } from './database.js';
import { translated } from './sqlstate-errors.js';

export interface Lease {
  executionId: string;
  token: number;
}

export interface ClaimedExecution extends Lease {
  workflow: string;
  version: string;
  input: unknown;
  claimCount: number;
  /** True when the execution was RUNNING under an expired lease: another worker died holding it. */
  resumed: boolean;
  /** The execution is COMPENSATING: the worker runs its compensations, not its next steps. */
  compensating: boolean;
  /** Milliseconds until its deadline (timeoutMs), by the database clock; <= 0: passed; undefined: none. */
  deadlineInMs: number | undefined;
  /** The queue it was admitted into; undefined: unqueued. */
  queueName: string | undefined;
}

export async function claimExecutions(
  db: Queryable,
  args: { worker: string; workflowKeys: string[]; limit: number; leaseMs: number; running?: string[] },
): Promise<ClaimedExecution[]> {
  const rows = await translated(
    db.query<{
      id: string;
      workflow_name: string;
      workflow_version: string;
      input: unknown;
      lease_token: number | string;
      claim_count: number;
      resumed: boolean;
      compensating: boolean;
      deadline_in_ms: number | null;
      queue_name: string | null;
    }>(
      `SELECT * FROM aries.claim_executions(p_worker => $1, p_workflow_keys => $2::text[], p_limit => $3,
                                           p_lease_ms => $4, p_running => $5::uuid[])`,
      [args.worker, args.workflowKeys, args.limit, args.leaseMs, args.running ?? []],
    ),
  );
  return rows.map((r) => ({
    executionId: r.id,
    workflow: r.workflow_name,
    version: r.workflow_version,
    input: r.input,
    token: Number(r.lease_token),
    claimCount: r.claim_count,
    resumed: r.resumed,
    compensating: r.compensating,
    deadlineInMs: r.deadline_in_ms === null ? undefined : Number(r.deadline_in_ms),
    queueName: r.queue_name ?? undefined,
  }));
}

/**
 * Milliseconds (database clock) until a queue whose rate window is full, and which holds back first
 * starts of these workflows, can admit again; null when none does (aries.next_queue_admission).
 */
export async function nextQueueAdmission(db: Queryable, workflowKeys: string[]): Promise<number | null> {
  const [row] = await translated(
    db.query<{ ms: number | string | null }>('SELECT aries.next_queue_admission(p_workflow_keys => $1::text[]) AS ms', [workflowKeys]),
  );
  return row?.ms == null ? null : Number(row.ms);
}

/** Renews leases; returns the ids still owned. */
export async function renewLeases(db: Queryable, worker: string, leases: Lease[], leaseMs: number): Promise<Set<string>> {
  if (leases.length === 0) return new Set();
  const rows = await translated(
    db.query<{ id: string }>(
      `SELECT id FROM aries.renew_leases(p_worker => $1, p_ids => $2::uuid[], p_tokens => $3::bigint[],
                                        p_lease_ms => $4)`,
      [worker, leases.map((l) => l.executionId), leases.map((l) => l.token), leaseMs],
    ),
  );
  return new Set(rows.map((r) => r.id));
}

export async function releaseExecution(db: Queryable, lease: Lease): Promise<void> {
  await translated(
    db.query('SELECT aries.release_execution(p_execution_id => $1, p_token => $2)', [lease.executionId, lease.token]),
  );
}

/** An execution's status and current fencing token, to tell whether a transition whose COMMIT was cut happened. */
export async function readLeaseState(db: Queryable, executionId: string): Promise<{ status: string; token: number } | undefined> {
  const [row] = await db.query<{ status: string; lease_token: number | string }>(
    'SELECT status, lease_token FROM aries.executions WHERE id = $1',
    [executionId],
  );
  return row ? { status: row.status, token: Number(row.lease_token) } : undefined;
}

/**
 * Locks the execution row if `lease` still owns it (AR002 otherwise): the fence a transactional step takes
 * as its first statement, so a worker whose lease was taken over never runs the step's statements.
 */
export async function lockOwnedExecution(q: Queryable, lease: Lease): Promise<void> {
  await translated(
    q.query('SELECT 1 FROM aries.lock_owned_execution(p_execution_id => $1, p_token => $2)', [lease.executionId, lease.token]),
  );
}
