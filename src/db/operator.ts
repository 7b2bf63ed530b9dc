/**
 * Operator actions and overviews: cancel, throughput per time bucket, unfinished counts.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { ExecutionStatus } from '../core/execution-states.js';
import type { FailureType } from '../core/failure-classification.js';
import type { Queryable } from './database.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

/** Cancels an execution that is not finished (or, compensate, makes it compensate); returns the status it had and its workflow. */
export async function cancelExecution(
  db: Queryable,
  executionId: string,
  reason: string | null,
  compensate = false,
): Promise<{ previousStatus: ExecutionStatus; workflow: string }> {
  const [row] = await translated(
    db.query<{ previous_status: ExecutionStatus; workflow_name: string }>(
      'SELECT * FROM aries.cancel_execution(p_execution_id => $1, p_reason => $2, p_compensate => $3)',
      [executionId, reason, compensate],
    ),
  );
  return { previousStatus: row!.previous_status, workflow: row!.workflow_name };
}

export interface StatsBucket {
  at: Date;
  started: number;
  completed: number;
  failed: number;
  compensated: number;
  cancelled: number;
  failures: Record<FailureType, number>;
}

export async function executionStats(db: Queryable, from: Date, to: Date, bucketSeconds: number): Promise<StatsBucket[]> {
  const rows = await translated(
    db.query<Record<string, string | number | Date>>(
      'SELECT * FROM aries.execution_stats(p_from => $1, p_to => $2, p_bucket_seconds => $3)',
      [from, to, bucketSeconds],
    ),
  );
  return rows.map((r) => ({
    at: toDate(r.bucket_at as Date | string),
    started: Number(r.started),
    completed: Number(r.completed),
    failed: Number(r.failed),
    compensated: Number(r.compensated),
    cancelled: Number(r.cancelled),
    failures: { TRANSIENT: Number(r.transient_failures), PERMANENT: Number(r.permanent_failures), PARTIAL: Number(r.partial_failures) },
  }));
}

export interface ActiveCounts {
  /** Executions in each status that is not final (SLEEPING, WAITING and SUB_COMMITTED included). */
  statusCounts: Partial<Record<ExecutionStatus, number>>;
  /** PENDING executions due now: the queue a worker would claim from. */
  queueDepth: number;
  /** RUNNING executions whose lease expired: their worker died or stalled; another will resume them. */
  expiredLeases: number;
}

/** aries.active_counts: one index-only count per status that is not final. */
export async function activeCounts(db: Queryable): Promise<ActiveCounts> {
  const rows = await db.query<{ status: ExecutionStatus; executions: string | number; due: string | number | null; expired: string | number | null }>(
    'SELECT status, executions, due, expired FROM aries.active_counts()',
  );
  const statusCounts: Partial<Record<ExecutionStatus, number>> = {};
  let queueDepth = 0;
  let expiredLeases = 0;
  for (const r of rows) {
    statusCounts[r.status] = Number(r.executions);
    if (r.due !== null) queueDepth = Number(r.due);
    if (r.expired !== null) expiredLeases = Number(r.expired);
  }
  return { statusCounts, queueDepth, expiredLeases };
}
