/**
 * One typed wrapper per SQL function of schema aries, called with named arguments. Each transition on
 * the hot path is one round trip. Errors raised by the functions come back as the public classes.
 */
import type { Durability } from '../core/durability.js';
import type { ExecutionStatus } from '../core/execution-states.js';
import type { FailureType, FaultSource } from '../core/failure-classification.js';
import type { Queryable } from './database.js';
import {
  toExecution,
  toJournalRecord,
  toStep,
  type Execution,
  type ExecutionRow,
  type JournalRecord,
  type JournalRow,
  type Step,
  type StepRow,
} from './rows.js';
import { translated, translateDatabaseError } from './sqlstate-errors.js';

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
}

export async function registerWorkflow(db: Queryable, name: string, version: string): Promise<void> {
  await translated(db.query('SELECT aries.register_workflow(p_name => $1, p_version => $2)', [name, version]));
}

export async function startExecution(
  db: Queryable,
  args: { workflow: string; version: string | null; inputJson: string | null; idempotencyKey: string | null },
): Promise<{ executionId: string; created: boolean; status: ExecutionStatus }> {
  const [row] = await translated(
    db.query<{ execution_id: string; created: boolean; status: ExecutionStatus }>(
      `SELECT * FROM aries.start_execution(p_workflow => $1, p_version => $2, p_input => $3::jsonb,
                                          p_idempotency_key => $4)`,
      [args.workflow, args.version, args.inputJson, args.idempotencyKey],
    ),
  );
  if (!row) throw new Error('start_execution returned no row');
  return { executionId: row.execution_id, created: row.created, status: row.status };
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
  }));
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
function completionsJson(completions: readonly StepCompletion[]): string | null {
  if (completions.length === 0) return null;
  return `[${completions
    .map((c) => {
      const head = `{"seq":${c.seq},"key":${JSON.stringify(c.stepKey)},"attempt":${c.attempt},"checkpoint":${c.checkpoint}`;
      return c.outputJson === null ? `${head}}` : `${head},"output":${c.outputJson}}`;
    })
    .join(',')}]`;
}

/** What the workflow code ran under a step key; a steps row keeps it, and replay holds the code to it. */
export type StepKind = 'step' | 'transaction';

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
}

/** The outcome of one request of a batch: the started step's attempt, or the error that refused it. */
export type StepWriteResult = { attempt: number | undefined } | { error: unknown };

/**
 * Group commit: the step writes of several executions in one transaction (record_steps_batch). Each
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
      return `{"execution_id":"${r.lease.executionId}","token":${r.lease.token}${completed ? `,"completed":${completed}` : ''}${start}}`;
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

/** Ends an execution COMPLETED, recording the completions of its last steps in the same transaction. */
export async function completeExecution(
  db: Queryable,
  lease: Lease,
  outputJson: string | null,
  completions: readonly StepCompletion[] = [],
  durability: Durability = 'on',
): Promise<void> {
  await translated(
    db.query(
      `SELECT aries.apply_durability(p_class => $5),
              aries.complete_execution(p_execution_id => $1, p_token => $2, p_output => $3::jsonb, p_completed => $4::jsonb)`,
      [lease.executionId, lease.token, outputJson, completionsJson(completions), durability],
    ),
  );
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

export async function releaseExecution(db: Queryable, lease: Lease): Promise<void> {
  await translated(
    db.query('SELECT aries.release_execution(p_execution_id => $1, p_token => $2)', [lease.executionId, lease.token]),
  );
}

export async function readJournal(db: Queryable, executionId: string, afterLsn: number | null = null): Promise<JournalRecord[]> {
  const rows = await translated(
    db.query<JournalRow>('SELECT * FROM aries.read_journal(p_execution_id => $1, p_after_lsn => $2)', [executionId, afterLsn]),
  );
  return rows.map(toJournalRecord);
}

// ---- reads for clients, the CLI and tests ------------------------------------------------------------

// Input and output through aries.payload_preview: whole unless a limit ($2) is given.
const EXECUTION_COLUMNS = `id, workflow_name, workflow_version, status, aries.payload_preview(input, $2) AS input,
  aries.payload_preview(output, $2) AS output, error, idempotency_key, lease_owner, lease_token, lease_expires_at,
  claim_count, step_count, created_at, updated_at, started_at, finished_at`;

/**
 * One execution. With `truncateAboveBytes`, an input or output larger than that (as JSON) comes back as
 * `{ $truncated: true, bytes, preview }`, cut in the database.
 */
export async function getExecution(db: Queryable, id: string, truncateAboveBytes: number | null = null): Promise<Execution | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.query<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM aries.executions WHERE id = $1`, [id, truncateAboveBytes]);
  return row ? toExecution(row) : undefined;
}

export async function listSteps(db: Queryable, executionId: string): Promise<Step[]> {
  const rows = await db.query<StepRow>(
    `SELECT s.execution_id, s.step_key, s.seq, s.status, s.attempt, j.payload AS output,
            j.lsn IS NOT NULL AND j.payload IS NULL AS output_is_null, s.error, s.started_at, s.completed_at,
            s.compensation_status
       FROM aries.steps s LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
      WHERE s.execution_id = $1 ORDER BY s.seq`,
    [executionId],
  );
  return rows.map(toStep);
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
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

/** Sets the transaction's synchronous_commit for a durability class (aries.apply_durability). */
export async function applyDurability(q: Queryable, durability: Durability): Promise<void> {
  await translated(q.query('SELECT aries.apply_durability(p_class => $1)', [durability]));
}
