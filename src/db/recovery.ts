/**
 * Recovery: an operator's recover_from_failure, the automatic sweep, and the failures they read.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { FailureType } from '../core/failure-classification.js';
import type { Queryable } from './database.js';
import { cursorTimeSql, decodeCursor, encodeCursor, pageLimit } from './execution-pages.js';
import { type Failure, type FailureRow, toDate, toFailure } from './rows.js';
import { translated } from './sqlstate-errors.js';

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

export interface FailureWithWorkflow extends Failure {
  workflow: string;
  /**
   * A preview (the page was read with truncateAboveBytes, and the failure's message, stack and details
   * were over it): the first 512 characters of the message, no stack nor details. Read the execution's
   * failures without a limit for all of it.
   */
  truncated: boolean;
}

export interface FailurePageFilter {
  /** One execution's failures only (served by failures_execution_idx). */
  executionId?: string | undefined;
  type?: FailureType | undefined;
  workflow?: string | undefined;
  unrecoveredOnly?: boolean | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** Failures whose message, stack and details exceed this many bytes come back as previews (truncated). */
  truncateAboveBytes?: number | undefined;
}

/** Failures newest first, by pages (keyset on failures_time_idx), each with its execution's workflow. */
export async function listFailurePage(
  db: Queryable,
  filter: FailurePageFilter = {},
): Promise<{ failures: FailureWithWorkflow[]; nextCursor: string | null }> {
  const limit = pageLimit(filter.limit);
  const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  const rows = await db.query<FailureRow & { workflow_name: string; cursor_at: string; truncated: boolean }>(
    `SELECT f.failure_id, f.execution_id, f.failure_type,
            CASE WHEN v.cut THEN pg_catalog.left(f.failure_message, 512) ELSE f.failure_message END AS failure_message,
            f.failure_timestamp, f.recovery_strategy, f.recovered, f.source, f.step_key, f.attempt, f.error_class,
            CASE WHEN v.cut THEN NULL ELSE f.stack END AS stack, CASE WHEN v.cut THEN NULL ELSE f.details END AS details,
            f.retries_exhausted, f.checkpoint_id, f.recovered_at, f.recovered_by, v.cut AS truncated,
            e.workflow_name, ${cursorTimeSql('f.failure_timestamp')} AS cursor_at
       FROM aries.failures f JOIN aries.executions e ON e.id = f.execution_id
       CROSS JOIN LATERAL (SELECT $8::integer IS NOT NULL
                                  AND pg_catalog.octet_length(f.failure_message) + coalesce(pg_catalog.octet_length(f.stack), 0)
                                      + coalesce(pg_catalog.octet_length(f.details::text), 0) > $8::integer AS cut) v
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
      filter.truncateAboveBytes ?? null,
    ],
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    failures: page.map((r) => ({ ...toFailure(r), workflow: r.workflow_name, truncated: r.truncated })),
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
