/**
 * Purge: one execution (with its tree of children) deleted on an operator's word, and the audit records
 * those purges leave in aries.purges. One typed wrapper per SQL function, called with named arguments;
 * errors come back as the public classes (AR017 busy, AR018 a child, AR001 unknown).
 */
import type { ExecutionStatus } from '../core/execution-states.js';
import type { Queryable } from './database.js';
import { toDate } from './rows.js';
import { translated } from './sqlstate-errors.js';

/** One audit record: who purged which execution, why and when, and how many rows went with it. */
export interface PurgeRecord {
  id: number;
  executionId: string;
  workflow: string;
  version: string;
  /** The status it had when it was purged. */
  status: ExecutionStatus;
  /** The name the caller gave (the CLI's default: the OS user). */
  purgedBy: string;
  /** The database user of the session that purged it. */
  databaseUser: string;
  reason: string | null;
  /** On the database clock. */
  purgedAt: Date;
  /** Rows removed: the execution and its children, and what belonged to them. */
  removed: { executions: number; steps: number; journalRecords: number; checkpoints: number; failures: number; signals: number; waits: number };
}

interface PurgeRow {
  id: string | number;
  execution_id: string;
  workflow_name: string;
  workflow_version: string;
  status: ExecutionStatus;
  purged_by: string;
  database_user: string;
  reason: string | null;
  purged_at: Date | string;
  executions: number;
  steps: number;
  journal_records: number;
  checkpoints: number;
  failures: number;
  signals: number;
  waits: number;
}

function toPurgeRecord(r: PurgeRow): PurgeRecord {
  return {
    id: Number(r.id),
    executionId: r.execution_id,
    workflow: r.workflow_name,
    version: r.workflow_version,
    status: r.status,
    purgedBy: r.purged_by,
    databaseUser: r.database_user,
    reason: r.reason,
    purgedAt: toDate(r.purged_at),
    removed: {
      executions: r.executions,
      steps: r.steps,
      journalRecords: r.journal_records,
      checkpoints: r.checkpoints,
      failures: r.failures,
      signals: r.signals,
      waits: r.waits,
    },
  };
}

/** Deletes one execution at rest with its children (aries.purge_execution); returns the audit record. */
export async function purgeExecution(db: Queryable, executionId: string, purgedBy: string, reason: string | null): Promise<PurgeRecord> {
  const [row] = await translated(
    db.query<PurgeRow>('SELECT * FROM aries.purge_execution(p_execution_id => $1, p_purged_by => $2, p_reason => $3)', [
      executionId,
      purgedBy,
      reason,
    ]),
  );
  return toPurgeRecord(row!);
}

/** The audit records, newest first; of one execution id when given. */
export async function listPurges(db: Queryable, options: { executionId?: string; limit: number }): Promise<PurgeRecord[]> {
  const rows = await translated(
    db.query<PurgeRow>(
      `SELECT * FROM aries.purges WHERE $1::uuid IS NULL OR execution_id = $1::uuid ORDER BY purged_at DESC, id DESC LIMIT $2`,
      [options.executionId ?? null, options.limit],
    ),
  );
  return rows.map(toPurgeRecord);
}
