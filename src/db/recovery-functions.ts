/**
 * Typed wrappers of the failure-model functions of schema aries (sql/migrations/0002_recovery.sql): retry
 * timers, compensation, rollback checkpoints, operator recovery and the automatic sweep. Like
 * sql-functions.ts, one wrapper per function, named arguments, errors as the public classes.
 */
import type { FaultSource } from '../core/failure-classification.js';
import type { StoredError } from '../core/stored-error.js';
import type { Queryable } from './database.js';
import { toFailure, type CompensationStatus, type Failure, type FailureRow } from './rows.js';
import type { Lease, StepKind } from './sql-functions.js';
import { translated } from './sqlstate-errors.js';

/** Schedules the retry of a step's attempt that failed TRANSIENTLY; returns when it is due. */
export async function retryStep(
  db: Queryable,
  lease: Lease,
  args: { seq: number; stepKey: string; attempt: number; errorJson: string; delayMs: number; source: FaultSource },
): Promise<Date> {
  const [row] = await translated(
    db.query<{ at: Date | string }>(
      `SELECT aries.retry_step(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4, p_attempt => $5,
                              p_error => $6::jsonb, p_delay_ms => $7, p_source => $8) AS at`,
      [lease.executionId, lease.token, args.seq, args.stepKey, args.attempt, args.errorJson, args.delayMs, args.source],
    ),
  );
  return new Date(row!.at);
}

/** An execution's status and current fencing token, to tell whether a transition whose COMMIT was cut happened. */
export async function readLeaseState(db: Queryable, executionId: string): Promise<{ status: string; token: number } | undefined> {
  const [row] = await db.query<{ status: string; lease_token: number | string }>(
    'SELECT status, lease_token FROM aries.executions WHERE id = $1',
    [executionId],
  );
  return row ? { status: row.status, token: Number(row.lease_token) } : undefined;
}

/** Attempts a step (and its compensation) used of their current retry budgets. */
export async function stepAttemptsUsed(
  db: Queryable,
  executionId: string,
  stepKey: string,
): Promise<{ step: number; compensation: number }> {
  const [row] = await translated(
    db.query<{ step_attempts: number | null; compensation_attempts: number | null }>(
      'SELECT * FROM aries.step_attempts_used(p_execution_id => $1, p_step_key => $2)',
      [executionId, stepKey],
    ),
  );
  return { step: row?.step_attempts ?? 0, compensation: row?.compensation_attempts ?? 0 };
}

/** Attempts of a step started in a row with no outcome, the one starting now included (a crash loop). */
export async function stepCrashStreak(db: Queryable, executionId: string, stepKey: string): Promise<number> {
  const [row] = await translated(
    db.query<{ streak: number }>('SELECT aries.step_crash_streak(p_execution_id => $1, p_step_key => $2) AS streak', [executionId, stepKey]),
  );
  return row?.streak ?? 0;
}

export async function beginCompensation(
  db: Queryable,
  lease: Lease,
  args: { errorJson: string; source: FaultSource; stepKey?: string | undefined; attempt?: number | undefined; retriesExhausted: boolean },
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.begin_compensation(p_execution_id => $1, p_token => $2, p_error => $3::jsonb, p_source => $4,
                                      p_step_key => $5, p_attempt => $6, p_retries_exhausted => $7)`,
      [lease.executionId, lease.token, args.errorJson, args.source, args.stepKey ?? null, args.attempt ?? null, args.retriesExhausted],
    ),
  );
}

/** Journals a compensation event; 'started' returns the compensation's attempt. */
export async function recordCompensation(
  db: Queryable,
  lease: Lease,
  args: { stepKey: string; event: 'started' | 'completed' | 'failed'; attempt?: number; payloadJson?: string | null },
): Promise<number> {
  const [row] = await translated(
    db.query<{ attempt: number }>(
      `SELECT aries.record_compensation(p_execution_id => $1, p_token => $2, p_step_key => $3, p_event => $4,
                                       p_attempt => $5, p_payload => $6::jsonb) AS attempt`,
      [lease.executionId, lease.token, args.stepKey, args.event, args.attempt ?? null, args.payloadJson ?? null],
    ),
  );
  return row!.attempt;
}

export async function retryCompensation(
  db: Queryable,
  lease: Lease,
  args: { stepKey: string; attempt: number; errorJson: string; delayMs: number; source: FaultSource },
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.retry_compensation(p_execution_id => $1, p_token => $2, p_step_key => $3, p_attempt => $4,
                                      p_error => $5::jsonb, p_delay_ms => $6, p_source => $7)`,
      [lease.executionId, lease.token, args.stepKey, args.attempt, args.errorJson, args.delayMs, args.source],
    ),
  );
}

export async function finishCompensation(db: Queryable, lease: Lease): Promise<void> {
  await translated(
    db.query('SELECT aries.finish_compensation(p_execution_id => $1, p_token => $2)', [lease.executionId, lease.token]),
  );
}

export interface RecoveryCheckpoint {
  id: string;
  lsn: number;
  state: unknown;
}

/** The newest checkpoint of an execution that verifies, or undefined (recovery starts from the start). */
export async function recoveryCheckpoint(db: Queryable, executionId: string): Promise<RecoveryCheckpoint | undefined> {
  const [row] = await translated(
    db.query<{ checkpoint_id: string; lsn: number | string; state_data: unknown }>(
      'SELECT * FROM aries.recovery_checkpoint(p_execution_id => $1)',
      [executionId],
    ),
  );
  return row ? { id: row.checkpoint_id, lsn: Number(row.lsn), state: row.state_data } : undefined;
}

export interface StepRecordRow {
  seq: number;
  step_key: string;
  kind: StepKind;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING' | 'ROLLED_BACK';
  attempt: number;
  output_lsn: number | string | null;
  /** Output columns and record_found / record_ok mean something for COMPLETED rows only. */
  output: unknown;
  output_is_null: boolean | null;
  record_found: boolean;
  record_ok: boolean;
  error: StoredError | null;
  compensation_status: CompensationStatus | null;
  compensation_attempt: number;
  compensation_attempt_base: number;
}

/** Every step recorded at positions [fromSeq, toSeq), whatever its status, by position. */
export async function readStepRecords(db: Queryable, executionId: string, fromSeq: number, toSeq: number): Promise<StepRecordRow[]> {
  return translated(
    db.query<StepRecordRow>(
      'SELECT * FROM aries.read_step_records(p_execution_id => $1, p_from_seq => $2, p_to_seq => $3)',
      [executionId, fromSeq, toSeq],
    ),
  );
}

/** The highest position any step of the execution holds (-1: none). */
export async function stepFrontier(db: Queryable, executionId: string): Promise<number> {
  const [row] = await translated(
    db.query<{ frontier: number }>('SELECT aries.step_frontier(p_execution_id => $1) AS frontier', [executionId]),
  );
  return row?.frontier ?? -1;
}

/** An operator's recovery; returns the checkpoint the execution continues from (null: its start). */
export async function recoverFromFailure(
  db: Queryable,
  executionId: string,
  failureType: string | null = null,
): Promise<string | null> {
  const [row] = await translated(
    db.query<{ checkpoint_id: string | null }>(
      'SELECT aries.recover_from_failure(p_execution_id => $1, p_failure_type => $2) AS checkpoint_id',
      [executionId, failureType],
    ),
  );
  return row?.checkpoint_id ?? null;
}

/** The automatic recovery sweep; returns how many executions it recovered. */
export async function autoRecoverFailures(
  db: Queryable,
  options: { maxAgeMs?: number; maxPerExecution?: number } = {},
): Promise<number> {
  const [row] = await translated(
    db.query<{ recovered: number | string }>(
      `SELECT aries.auto_recover_failures(p_max_age => $1 * interval '1 millisecond', p_max_per_execution => $2) AS recovered`,
      [options.maxAgeMs ?? 3_600_000, options.maxPerExecution ?? 3],
    ),
  );
  return Number(row?.recovered ?? 0);
}

export async function listFailures(
  db: Queryable,
  filter: { executionId?: string | undefined; unrecoveredOnly?: boolean; limit?: number } = {},
): Promise<Failure[]> {
  const rows = await translated(
    db.query<FailureRow>(
      'SELECT * FROM aries.list_failures(p_execution_id => $1, p_unrecovered_only => $2, p_limit => $3)',
      [filter.executionId ?? null, filter.unrecoveredOnly ?? false, filter.limit ?? 100],
    ),
  );
  return rows.map(toFailure);
}

export interface WorkerLeases {
  worker: string;
  executions: number;
  compensating: number;
  earliestLeaseExpiry: Date;
  latestLeaseExpiry: Date;
  /** Leases past their expiry: the worker is presumed dead, and another will resume these executions. */
  expired: number;
}

/** The workers holding leases now (aries.list_workers). */
export async function listWorkers(db: Queryable): Promise<WorkerLeases[]> {
  const rows = await translated(
    db.query<{
      worker: string;
      executions: number | string;
      compensating: number | string;
      earliest_lease_expiry: Date | string;
      latest_lease_expiry: Date | string;
      expired: number | string;
    }>('SELECT * FROM aries.list_workers()'),
  );
  return rows.map((r) => ({
    worker: r.worker,
    executions: Number(r.executions),
    compensating: Number(r.compensating),
    earliestLeaseExpiry: new Date(r.earliest_lease_expiry),
    latestLeaseExpiry: new Date(r.latest_lease_expiry),
    expired: Number(r.expired),
  }));
}
