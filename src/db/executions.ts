/**
 * Executions: starting one, its two ends (completed with its last completions; failed, rolled back to a
 * checkpoint), reading one, and the children it started.
 * One typed wrapper per SQL function, called with named arguments; errors come back as the public classes.
 */
import type { ExecutionStatus } from '../core/execution-states.js';
import type { FailureType, FaultSource } from '../core/failure-classification.js';
import type { Queryable } from './database.js';
import type { Lease } from './leases.js';
import { type Execution, type ExecutionRow, toDate, toExecution } from './rows.js';
import { translated } from './sqlstate-errors.js';

/** Where and when a start places its execution (start_execution's queue, delay and debounce arguments). */
export interface StartPlacement {
  /** The queue (null: the one its workflow's definition names, if any). */
  queue?: string | null;
  queueKey?: string | null;
  priority?: number;
  delayMs?: number | null;
  debounce?: { key: string; delayMs: number; maxDelayMs: number | null } | null;
}

export async function startExecution(
  db: Queryable,
  args: {
    workflow: string;
    version: string | null;
    inputJson: string | null;
    idempotencyKey: string | null;
    timeoutMs?: number | null;
    /** false: a start under a known key with another input is not refused here (the caller compares). */
    inputMustMatch?: boolean;
  } & StartPlacement,
): Promise<{ executionId: string; created: boolean; status: ExecutionStatus; debounced: boolean }> {
  const [row] = await translated(
    db.query<{ execution_id: string; created: boolean; status: ExecutionStatus; debounced: boolean }>(
      `SELECT * FROM aries.start_execution(p_workflow => $1, p_version => $2, p_input => $3::jsonb,
                                          p_idempotency_key => $4, p_timeout_ms => $5, p_queue => $6,
                                          p_queue_key => $7, p_priority => $8, p_delay_ms => $9,
                                          p_debounce_key => $10, p_debounce_delay_ms => $11,
                                          p_debounce_max_delay_ms => $12, p_input_must_match => $13)`,
      [
        args.workflow,
        args.version,
        args.inputJson,
        args.idempotencyKey,
        args.timeoutMs ?? null,
        args.queue ?? null,
        args.queueKey ?? null,
        args.priority ?? 0,
        args.delayMs ?? null,
        args.debounce?.key ?? null,
        args.debounce?.delayMs ?? null,
        args.debounce?.maxDelayMs ?? null,
        args.inputMustMatch ?? true,
      ],
    ),
  );
  if (!row) throw new Error('start_execution returned no row');
  return { executionId: row.execution_id, created: row.created, status: row.status, debounced: row.debounced };
}

/** Many executions of one workflow in one call (aries.start_executions): one row per item, in order. */
export async function startExecutions(
  db: Queryable,
  args: {
    workflow: string;
    version: string | null;
    /** Each item's input as JSON text (null: no input). */
    inputsJson: readonly (string | null)[];
    /** Each item's idempotency key (null: none); omitted: no keys. */
    idempotencyKeys: readonly (string | null)[] | null;
    timeoutMs?: number | null;
    /** false: the database does not compare inputs under a known key (the caller compares decoded ones). */
    inputMustMatch?: boolean;
  } & Omit<StartPlacement, 'debounce'>,
): Promise<{ executionId: string; created: boolean; status: ExecutionStatus }[]> {
  const rows = await translated(
    db.query<{ ord: number; execution_id: string; created: boolean; status: ExecutionStatus }>(
      `SELECT * FROM aries.start_executions(p_workflow => $1, p_version => $2, p_inputs => $3::jsonb,
                                           p_idempotency_keys => $4::jsonb, p_timeout_ms => $5, p_queue => $6,
                                           p_queue_key => $7, p_priority => $8, p_delay_ms => $9,
                                           p_input_must_match => $10)`,
      [
        args.workflow,
        args.version,
        `[${args.inputsJson.map((j) => j ?? 'null').join(',')}]`,
        args.idempotencyKeys === null ? null : JSON.stringify(args.idempotencyKeys),
        args.timeoutMs ?? null,
        args.queue ?? null,
        args.queueKey ?? null,
        args.priority ?? 0,
        args.delayMs ?? null,
        args.inputMustMatch ?? true,
      ],
    ),
  );
  if (rows.length !== args.inputsJson.length) throw new Error(`start_executions returned ${rows.length} rows for ${args.inputsJson.length} items`);
  return rows.map((r) => ({ executionId: r.execution_id, created: r.created, status: r.status }));
}

export async function failExecution(
  db: Queryable,
  lease: Lease,
  args: {
    errorJson: string;
    failureType: FailureType;
    source: FaultSource;
    stepKey?: string | undefined;
    attempt?: number | undefined;
    retriesExhausted?: boolean | undefined;
    /** Roll back to a checkpoint before this LSN (a corrupt record is not a state to return to). */
    rollbackBeforeLsn?: number | undefined;
  },
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => $3::jsonb,
                                  p_failure_type => $4, p_source => $5, p_step_key => $6, p_attempt => $7,
                                  p_retries_exhausted => $8, p_rollback_before_lsn => $9)`,
      [
        lease.executionId,
        lease.token,
        args.errorJson,
        args.failureType,
        args.source,
        args.stepKey ?? null,
        args.attempt ?? null,
        args.retriesExhausted ?? false,
        args.rollbackBeforeLsn ?? null,
      ],
    ),
  );
}

/**
 * One execution. With `truncateAboveBytes`, an input or output larger than that (as JSON) comes back as
 * `{ $truncated: true, bytes, preview }`, cut in the database.
 */
export async function getExecution(db: Queryable, id: string, truncateAboveBytes: number | null = null): Promise<Execution | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.query<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM aries.executions WHERE id = $1`, [id, truncateAboveBytes]);
  return row ? toExecution(row) : undefined;
}

// Input and output through aries.payload_preview, the error through aries.error_preview: whole unless a
// limit ($2) is given.
const EXECUTION_COLUMNS = `id, workflow_name, workflow_version, status, aries.payload_preview(input, $2) AS input,
  aries.payload_preview(output, $2) AS output, aries.error_preview(error, $2) AS error, idempotency_key, lease_owner, lease_token, lease_expires_at,
  claim_count, step_count, created_at, updated_at, started_at, finished_at, parent_id, parent_step_key, parent_close,
  deadline_at`;

/** A child execution as its parent's page lists it. */
export interface ChildExecution {
  id: string;
  workflow: string;
  status: ExecutionStatus;
  /** The parent's step key that started it (ctx.child's key). */
  stepKey: string;
  createdAt: Date;
  finishedAt: Date | null;
}

/** The children an execution started with ctx.child, in the order they were started (at most `limit`). */
export async function listChildren(db: Queryable, parentId: string, limit: number): Promise<ChildExecution[]> {
  if (!isUuid(parentId)) return [];
  const rows = await db.query<{
    id: string;
    workflow_name: string;
    status: ExecutionStatus;
    parent_step_key: string;
    created_at: Date | string;
    finished_at: Date | string | null;
  }>(
    `SELECT id, workflow_name, status, parent_step_key, created_at, finished_at FROM aries.executions
      WHERE parent_id = $1 ORDER BY created_at, id LIMIT $2`,
    [parentId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    workflow: r.workflow_name,
    status: r.status,
    stepKey: r.parent_step_key,
    createdAt: toDate(r.created_at),
    finishedAt: r.finished_at === null ? null : toDate(r.finished_at),
  }));
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
