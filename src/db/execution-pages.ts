/**
 * Executions by pages, newest first, at any table size. Keyset pagination on (created_at DESC, id DESC):
 * the cursor is the last row's key, so every page is a range scan of an index that already yields rows in
 * that order (sql/schema/executions/executions.sql lists which index serves which filter) and page 10,000 costs what page 1
 * costs. The cursor carries created_at as PostgreSQL's own text (microseconds; a JS Date keeps only
 * milliseconds, which would skip or repeat rows created in the same millisecond). Failure pages use the same
 * cursor over (failure_timestamp, failure_id).
 */
import { EXECUTION_STATUSES, type ExecutionStatus } from '../core/execution-states.js';
import { InvalidInputError } from '../errors.js';
import type { Queryable } from './database.js';
import { toExecution, type Execution, type ExecutionRow } from './rows.js';
import { isUuid } from './executions.js';

export interface ExecutionPageFilter {
  workflow?: string | undefined;
  status?: ExecutionStatus | undefined;
  createdAfter?: Date | undefined;
  createdBefore?: Date | undefined;
  /** An execution id, or an exact idempotency key. */
  search?: string | undefined;
  /** Rows per page (default 50, at most 1,000). */
  limit?: number | undefined;
  /** nextCursor of the previous page. */
  cursor?: string | undefined;
}

/**
 * An execution as pages list it: without input and output (they can be megabytes each), its error (a
 * cancel reason too) as a preview above ERROR_PREVIEW_BYTES (aries.error_preview: name, code, the first
 * 512 characters of the message, `$truncated` and `bytes`); read the execution for all of it.
 */
export type ExecutionSummary = Omit<Execution, 'input' | 'output'>;

/** Above this many bytes of JSON a stored error on a list page is a preview (aries.error_preview). */
export const ERROR_PREVIEW_BYTES = 1024;

export interface ExecutionPage {
  /** Read one execution for its input and output. */
  executions: ExecutionSummary[];
  /** Pass it back for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export const MAX_PAGE_SIZE = 1_000;

/** A timestamp column as a cursor carries it: UTC, to the microsecond. */
export const cursorTimeSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

// Input and output are not read (NULL) and errors are previews: a page of 1,000 executions stays small.
const SUMMARY_COLUMNS = `id, workflow_name, workflow_version, status, NULL::jsonb AS input, NULL::jsonb AS output,
  aries.error_preview(error, ${ERROR_PREVIEW_BYTES}) AS error,
  idempotency_key, lease_owner, lease_token, lease_expires_at, claim_count, step_count, created_at, updated_at,
  started_at, finished_at, parent_id, parent_step_key, parent_close, deadline_at,
  ${cursorTimeSql('created_at')} AS cursor_created_at`;

const ORDER = 'ORDER BY created_at DESC, id DESC';

interface PageRow extends ExecutionRow {
  cursor_created_at: string;
}

/** A time as cursors carry it (UTC, microseconds), and a real one: 2024-13-45 has the shape but is not. */
export function isCursorTime(value: string): boolean {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(value)) return false;
  const ms = Date.parse(value);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === value.slice(0, 19);
}

/** The cursor after the row keyed (time, id): time as cursorTimeSql gives it. */
export function encodeCursor(time: string, id: string): string {
  return Buffer.from(JSON.stringify([time, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { time: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string' ||
    !isUuid(parsed[1]) ||
    !isCursorTime(parsed[0])
  ) {
    throw new InvalidInputError('cursor is not one this server issued (pass nextCursor back unchanged)', { cursor });
  }
  return { time: parsed[0], id: parsed[1] };
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}; got ${limit}`, { limit });
  }
  return limit;
}

/** The statement for one combination of filters: each is a fixed text, so each gets its own plan. */
function pageStatement(filter: ExecutionPageFilter, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (filter.createdAfter) where.push(`created_at >= ${param(filter.createdAfter)}::timestamptz`);
  if (filter.createdBefore) where.push(`created_at < ${param(filter.createdBefore)}::timestamptz`);
  if (filter.cursor !== undefined) {
    const { time, id } = decodeCursor(filter.cursor);
    where.push(`(created_at, id) < (${param(time)}::timestamptz, ${param(id)}::uuid)`);
  }
  if (filter.search !== undefined) {
    where.push(
      isUuid(filter.search)
        ? `(id = ${param(filter.search)}::uuid OR idempotency_key = ${param(filter.search)})`
        : `idempotency_key = ${param(filter.search)}`,
    );
  }
  const rangeAnd = where.length ? ` AND ${where.join(' AND ')}` : '';
  const fetch = param(limit + 1);
  if (filter.workflow !== undefined && filter.status === undefined) {
    // One short scan of executions_workflow_status_idx per status, merged: the index serves both filters.
    const workflow = param(filter.workflow);
    const statuses = param(EXECUTION_STATUSES);
    return {
      sql: `SELECT p.* FROM pg_catalog.unnest(${statuses}::text[]) AS s(status),
              LATERAL (SELECT ${SUMMARY_COLUMNS} FROM aries.executions
                        WHERE workflow_name = ${workflow} AND status = s.status${rangeAnd} ${ORDER} LIMIT ${fetch}) p
             ${ORDER} LIMIT ${fetch}`,
      params,
    };
  }
  const equal: string[] = [];
  if (filter.workflow !== undefined) equal.push(`workflow_name = ${param(filter.workflow)}`);
  if (filter.status !== undefined) equal.push(`status = ${param(filter.status)}`);
  const conditions = [...equal, ...where];
  return {
    sql: `SELECT ${SUMMARY_COLUMNS} FROM aries.executions${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''} ${ORDER} LIMIT ${fetch}`,
    params,
  };
}

export async function listExecutionPage(db: Queryable, filter: ExecutionPageFilter = {}): Promise<ExecutionPage> {
  const limit = pageLimit(filter.limit);
  const { sql, params } = pageStatement(filter, limit);
  const rows = await db.query<PageRow>(sql, params);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    executions: page.map((row) => {
      const { input: _input, output: _output, ...summary } = toExecution(row);
      return summary;
    }),
    nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_created_at, last.id) : null,
  };
}

/** The plan of a page's statement (EXPLAIN), for the test that holds every filter to an index scan. */
export async function explainExecutionPage(db: Queryable, filter: ExecutionPageFilter = {}): Promise<string> {
  const { sql, params } = pageStatement(filter, pageLimit(filter.limit));
  const rows = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}
