/**
 * Typed wrappers of what operators read and do (sql/migrations/0004_operator.sql): cancel, an execution's
 * checkpoints, failures by pages and grouped, registered workflows, and the overview's figures. Like
 * sql-functions.ts, named arguments and errors as the public classes.
 */
import type { ExecutionStatus } from '../core/execution-states.js';
import type { FailureType } from '../core/failure-classification.js';
import type { Queryable } from './database.js';
import { cursorTimeSql, decodeCursor, encodeCursor, pageLimit } from './execution-pages.js';
import {
  toDate,
  toFailure,
  toJournalRecord,
  toStep,
  type Failure,
  type FailureRow,
  type JournalRecord,
  type JournalRow,
  type Step,
  type StepRow,
} from './rows.js';
import { translated } from './sqlstate-errors.js';

/** Cancels an execution that is not finished; returns the status it had and its workflow. */
export async function cancelExecution(
  db: Queryable,
  executionId: string,
  reason: string | null,
): Promise<{ previousStatus: ExecutionStatus; workflow: string }> {
  const [row] = await translated(
    db.query<{ previous_status: ExecutionStatus; workflow_name: string }>(
      'SELECT * FROM aries.cancel_execution(p_execution_id => $1, p_reason => $2)',
      [executionId, reason],
    ),
  );
  return { previousStatus: row!.previous_status, workflow: row!.workflow_name };
}

export interface Checkpoint {
  id: string;
  lsn: number;
  at: Date;
  /** Its checksum matches and it lies within the execution's journal: recovery may start from it. */
  valid: boolean;
  stepProgress: unknown;
}

export async function listCheckpoints(db: Queryable, executionId: string): Promise<Checkpoint[]> {
  const rows = await db.query<{ checkpoint_id: string; lsn: number | string; checkpoint_time: Date | string; valid: boolean; step_progress: unknown }>(
    `SELECT k.checkpoint_id, k.lsn, k.checkpoint_time, k.step_progress,
            k.checksum = aries.checkpoint_checksum(k.execution_id, k.lsn, k.state_data)
              AND k.lsn <= coalesce(e.last_lsn, 0) AS valid
       FROM aries.checkpoints k JOIN aries.executions e ON e.id = k.execution_id
      WHERE k.execution_id = $1 ORDER BY k.lsn DESC LIMIT 200`,
    [executionId],
  );
  return rows.map((r) => ({
    id: r.checkpoint_id,
    lsn: Number(r.lsn),
    at: toDate(r.checkpoint_time),
    valid: r.valid,
    stepProgress: r.step_progress,
  }));
}

export interface FailureWithWorkflow extends Failure {
  workflow: string;
}

export interface FailurePageFilter {
  /** One execution's failures only (served by failures_execution_idx). */
  executionId?: string | undefined;
  type?: FailureType | undefined;
  workflow?: string | undefined;
  unrecoveredOnly?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Failures newest first, by pages (keyset on failures_time_idx), each with its execution's workflow. */
export async function listFailurePage(
  db: Queryable,
  filter: FailurePageFilter = {},
): Promise<{ failures: FailureWithWorkflow[]; nextCursor: string | null }> {
  const limit = pageLimit(filter.limit);
  const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const rows = await db.query<FailureRow & { workflow_name: string; cursor_at: string }>(
    `SELECT f.*, e.workflow_name, ${cursorTimeSql('f.failure_timestamp')} AS cursor_at
       FROM aries.failures f JOIN aries.executions e ON e.id = f.execution_id
      WHERE ($1::text IS NULL OR f.failure_type = $1) AND ($2::text IS NULL OR e.workflow_name = $2)
        AND (NOT $3::boolean OR NOT f.recovered)
        AND ($4::timestamptz IS NULL OR (f.failure_timestamp, f.failure_id) < ($4::timestamptz, $5::uuid))
        AND ($7::uuid IS NULL OR f.execution_id = $7)
      ORDER BY f.failure_timestamp DESC, f.failure_id DESC LIMIT $6`,
    [
      filter.type ?? null,
      filter.workflow ?? null,
      filter.unrecoveredOnly ?? false,
      after?.time ?? null,
      after?.id ?? null,
      limit + 1,
      filter.executionId ?? null,
    ],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    failures: page.map((r) => ({ ...toFailure(r), workflow: r.workflow_name })),
    nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_at, last.failure_id) : null,
  };
}

export interface FailureGroup {
  workflow: string;
  type: FailureType;
  count: number;
  unrecovered: number;
  lastAt: Date;
}

/** Failures since `since`, grouped by workflow and type (a range scan of failures_time_idx). */
export async function summarizeFailures(db: Queryable, since: Date): Promise<FailureGroup[]> {
  const rows = await db.query<{ workflow_name: string; failure_type: FailureType; n: string | number; unrecovered: string | number; last_at: Date | string }>(
    `SELECT e.workflow_name, f.failure_type, count(*) AS n, count(*) FILTER (WHERE NOT f.recovered) AS unrecovered,
            max(f.failure_timestamp) AS last_at
       FROM aries.failures f JOIN aries.executions e ON e.id = f.execution_id
      WHERE f.failure_timestamp >= $1
      GROUP BY 1, 2 ORDER BY count(*) FILTER (WHERE NOT f.recovered) DESC, count(*) DESC, 1, 2`,
    [since],
  );
  return rows.map((r) => ({
    workflow: r.workflow_name,
    type: r.failure_type,
    count: Number(r.n),
    unrecovered: Number(r.unrecovered),
    lastAt: toDate(r.last_at),
  }));
}

export interface RegisteredWorkflow {
  name: string;
  version: string;
  registeredAt: Date;
  lastSeenAt: Date;
}

export async function listWorkflows(db: Queryable): Promise<RegisteredWorkflow[]> {
  const rows = await db.query<{ name: string; version: string; registered_at: Date | string; last_seen_at: Date | string }>(
    'SELECT name, version, registered_at, last_seen_at FROM aries.workflows ORDER BY name, registered_at DESC',
  );
  return rows.map((r) => ({ name: r.name, version: r.version, registeredAt: toDate(r.registered_at), lastSeenAt: toDate(r.last_seen_at) }));
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
  /** Executions in each status that is not final. */
  statusCounts: Partial<Record<ExecutionStatus, number>>;
  /** PENDING executions due now: the queue a worker would claim from. */
  queueDepth: number;
  /** RUNNING executions whose lease expired: their worker died or stalled; another will resume them. */
  expiredLeases: number;
}

export async function activeCounts(db: Queryable): Promise<ActiveCounts> {
  const rows = await db.query<{ status: ExecutionStatus; executions: string | number; due: string | number | null; expired: string | number | null }>(
    'SELECT * FROM aries.active_counts()',
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

/**
 * One page of an execution's journal (at most `limit` records after `afterLsn`); payloads whose JSON
 * exceeds `truncateAboveBytes` come back as a preview marker (aries.payload_preview).
 */
export async function readJournalPage(
  db: Queryable,
  executionId: string,
  // A null limit reads to the end (LIMIT NULL is LIMIT ALL).
  options: { afterLsn?: number | null; limit: number | null; truncateAboveBytes?: number | null },
): Promise<JournalRecord[]> {
  const rows = await translated(
    db.query<JournalRow>(
      `SELECT * FROM aries.read_journal_page(p_execution_id => $1, p_after_lsn => $2, p_limit => $3,
                                             p_truncate_above => $4)`,
      [executionId, options.afterLsn ?? null, options.limit, options.truncateAboveBytes ?? null],
    ),
  );
  return rows.map(toJournalRecord);
}

/** An execution's steps, outputs above `truncateAboveBytes` as a preview marker. */
export async function listStepPreviews(db: Queryable, executionId: string, truncateAboveBytes: number | null): Promise<Step[]> {
  const rows = await translated(
    db.query<StepRow>('SELECT * FROM aries.list_step_previews(p_execution_id => $1, p_truncate_above => $2)', [
      executionId,
      truncateAboveBytes,
    ]),
  );
  return rows.map(toStep);
}
