/**
 * Steps: the hot-path transition (completions and the next intent in one round trip, one group commit for
 * many executions), a step's failure and durable retry, attempt counts, and the records replay reads by key.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import { ISOLATION_LEVELS, type Durability, type IsolationLevel } from '../core/durability.js';
import type { FaultSource } from '../core/failure-classification.js';
import type { StoredError } from '../core/stored-error.js';
import type { Queryable, Transaction } from './database.js';
import type { Lease } from './leases.js';
import { type CompensationStatus, type Step, type StepKind, type StepRow, toStep } from './rows.js';
import { translateDatabaseError, translated } from './sqlstate-errors.js';

/** A step's completion waiting to be recorded with the next step transition. */
export interface StepCompletion {
  seq: number;
  stepKey: string;
  attempt: number;
  /** The output as JSON text, or null when the step returned nothing (stored as SQL NULL). */
  outputJson: string | null;
  checkpoint: boolean;
}

/** The jsonb array record_steps and complete_execution take; an absent "output" means SQL NULL. */
export function completionsJson(completions: readonly StepCompletion[]): string | null {
  if (completions.length === 0) return null;
  return `[${completions
    .map((c) => {
      const head = `{"seq":${c.seq},"key":${JSON.stringify(c.stepKey)},"attempt":${c.attempt},"checkpoint":${c.checkpoint}`;
      return c.outputJson === null ? `${head}}` : `${head},"output":${c.outputJson}}`;
    })
    .join(',')}]`;
}

export type { StepKind } from './rows.js';

/** The step a write starts: its position, key and kind (default 'step'). */
export interface StepStart {
  seq: number;
  stepKey: string;
  kind?: StepKind | undefined;
}

/**
 * One round trip per step: records `completions` and, when `start` is given, the intent to run that step.
 * `kind` is the started step's kind, and that of a completed step whose intent is missing (a transactional
 * step records its completion without an intent). Returns the started step's attempt number (undefined
 * when nothing was started).
 */
export async function recordSteps(
  db: Queryable,
  lease: Lease,
  completions: readonly StepCompletion[],
  start?: StepStart,
  kind: StepKind = start?.kind ?? 'step',
): Promise<number | undefined> {
  const [row] = await translated(
    db.query<{ attempt: number | null }>(
      `SELECT aries.record_steps(p_execution_id => $1, p_token => $2, p_completed => $3::jsonb,
                                p_start_seq => $4, p_start_key => $5, p_start_kind => $6) AS attempt`,
      [lease.executionId, lease.token, completionsJson(completions), start?.seq ?? null, start?.stepKey ?? null, kind],
    ),
  );
  return row?.attempt ?? undefined;
}

export interface StepWriteRequest {
  lease: Lease;
  durability: Durability;
  completions: readonly StepCompletion[];
  start?: StepStart | undefined;
  /** Ends the execution COMPLETED with this output (JSON text, or null for none) after its completions. */
  finish?: { outputJson: string | null } | undefined;
}

/** The outcome of one request of a batch: the started step's attempt, or the error that refused it. */
export type StepWriteResult = { attempt: number | undefined } | { error: unknown };

/**
 * Group commit: the step writes (and ends) of several executions in one transaction (record_steps_batch). Each
 * request succeeds or fails on its own; the whole call throws only when the transaction itself failed.
 */
export async function recordStepsBatch(
  db: Queryable,
  requests: readonly StepWriteRequest[],
  durability: Durability = 'on',
): Promise<StepWriteResult[]> {
  const body = `[${requests
    .map((r) => {
      const completed = completionsJson(r.completions);
      const start = r.start
        ? `,"start_seq":${r.start.seq},"start_key":${JSON.stringify(r.start.stepKey)}${r.start.kind ? `,"start_kind":"${r.start.kind}"` : ''}`
        : '';
      const finish = r.finish ? `,"finish":${r.finish.outputJson === null ? '{}' : `{"output":${r.finish.outputJson}}`}` : '';
      return `{"execution_id":"${r.lease.executionId}","token":${r.lease.token}${completed ? `,"completed":${completed}` : ''}${start}${finish}}`;
    })
    .join(',')}]`;
  const rows = await db.query<{ execution_id: string; attempt: number | null; error_code: string | null; error_message: string | null }>(
    'SELECT * FROM aries.record_steps_durably(p_requests => $1::jsonb, p_durability => $2)',
    [body, durability],
  );
  const byId = new Map(rows.map((r) => [r.execution_id, r]));
  return requests.map((r) => {
    const row = byId.get(r.lease.executionId);
    if (!row) return { error: new Error(`record_steps_batch returned nothing for execution ${r.lease.executionId}`) };
    if (row.error_code !== null) {
      return { error: translateDatabaseError(Object.assign(new Error(row.error_message ?? row.error_code), { code: row.error_code })) };
    }
    return { attempt: row.attempt ?? undefined };
  });
}

export async function failStep(
  db: Queryable,
  lease: Lease,
  args: { seq: number; stepKey: string; attempt: number; errorJson: string },
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.fail_step(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4,
                             p_attempt => $5, p_error => $6::jsonb)`,
      [lease.executionId, lease.token, args.seq, args.stepKey, args.attempt, args.errorJson],
    ),
  );
}

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

/**
 * What an operator reads of a step beside its row: its kind and end, when its compensation completed, and
 * for a wait its aries.waits row and the status of the child it waits for (s: the steps row). A FAILED
 * (or rolled back) step's row keeps no end time; it ended at its newest step_failed record, not at a
 * failure row (a caught error has none; an execution's failure is recorded after the steps that followed).
 */
const STEP_VIEW_COLUMNS = `s.kind,
  coalesce(s.ended_at, CASE WHEN s.status IN ('FAILED', 'ROLLED_BACK') THEN (
    SELECT r.created_at FROM aries.journal r
     WHERE r.execution_id = s.execution_id AND r.step_key = s.step_key AND r.kind = 'step_failed'
     ORDER BY r.lsn DESC LIMIT 1) END) AS ended_at,
  s.compensated_at, w.created_at AS wait_created_at, w.wake_at AS wait_wake_at,
  w.signal_name AS wait_signal_name, w.child_id AS wait_child_id, ch.status AS wait_child_status,
  w.resolved_at AS wait_resolved_at`;
const STEP_VIEW_JOINS = `LEFT JOIN aries.waits w ON w.execution_id = s.execution_id AND w.step_key = s.step_key
  LEFT JOIN aries.executions ch ON ch.id = w.child_id`;

export async function listSteps(db: Queryable, executionId: string): Promise<Step[]> {
  const rows = await db.query<StepRow>(
    `SELECT s.execution_id, s.step_key, s.seq, s.status, s.attempt, j.payload AS output,
            j.lsn IS NOT NULL AND j.payload IS NULL AS output_is_null, s.error, s.started_at, s.completed_at,
            s.compensation_status, ${STEP_VIEW_COLUMNS}
       FROM aries.steps s LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
       ${STEP_VIEW_JOINS}
      WHERE s.execution_id = $1 ORDER BY s.seq`,
    [executionId],
  );
  return rows.map(toStep);
}

export interface StepRecordRow {
  seq: number;
  step_key: string;
  kind: StepKind;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING' | 'ROLLED_BACK' | 'WAITING' | 'CANCELLED';
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
  /** A wait's: the LSN of the record that settled or cancelled it (null while open; other kinds: null). */
  wait_lsn: number | string | null;
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

/** Sets the transaction's synchronous_commit for a durability class (aries.apply_durability). */
export async function applyDurability(q: Queryable, durability: Durability): Promise<void> {
  await translated(q.query('SELECT aries.apply_durability(p_class => $1)', [durability]));
}

/** An execution's steps, outputs above `truncateAboveBytes` as a preview marker. */
export async function listStepPreviews(db: Queryable, executionId: string, truncateAboveBytes: number | null): Promise<Step[]> {
  const rows = await translated(
    db.query<StepRow>(
      `SELECT p.*, ${STEP_VIEW_COLUMNS}
         FROM aries.list_step_previews(p_execution_id => $1, p_truncate_above => $2) p
         JOIN aries.steps s ON s.execution_id = p.execution_id AND s.step_key = p.step_key
         ${STEP_VIEW_JOINS}
        ORDER BY p.seq`,
      [executionId, truncateAboveBytes],
    ),
  );
  return rows.map(toStep);
}

/** Sets the isolation level of the transaction a transactional step runs in (its first statement). */
export async function setTransactionIsolation(q: Transaction, isolation: IsolationLevel): Promise<void> {
  if (!ISOLATION_LEVELS.includes(isolation)) throw new Error(`unknown isolation level ${JSON.stringify(isolation)}`);
  await q.exec(`SET TRANSACTION ISOLATION LEVEL ${isolation.toUpperCase()}`);
}
