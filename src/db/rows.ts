/**
 * Stored rows (snake_case, as PostgreSQL returns them) and the domain objects built from them, converted
 * in this one place. Timestamps may arrive as Date (pg, PGlite) or ISO strings (through a remote
 * embedded instance), so conversion accepts both.
 */
import type { ExecutionStatus, StepStatus } from '../core/execution-states.js';
import type { FailureType, FaultSource } from '../core/failure-classification.js';
import type { StoredError } from '../core/stored-error.js';

export interface ExecutionRow {
  id: string;
  workflow_name: string;
  workflow_version: string;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: StoredError | null;
  idempotency_key: string | null;
  lease_owner: string | null;
  lease_token: number | string;
  lease_expires_at: Date | string | null;
  claim_count: number;
  step_count: number;
  created_at: Date | string;
  updated_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  parent_id: string | null;
  parent_step_key: string | null;
  parent_close: 'cancel' | 'abandon' | null;
  deadline_at: Date | string | null;
}

/** What the workflow code ran under a step key; a steps row keeps it, and replay holds the code to it. */
export type StepKind = 'step' | 'transaction' | 'sleep' | 'signal' | 'child';

export interface StepRow {
  execution_id: string;
  step_key: string;
  seq: number;
  status: StepStatus;
  attempt: number;
  output: unknown;
  /** The step completed and returned nothing (SQL NULL, unlike JSON null). */
  output_is_null: boolean;
  error: StoredError | null;
  started_at: Date | string;
  completed_at: Date | string | null;
  compensation_status: CompensationStatus | null;
  kind: StepKind;
  ended_at: Date | string | null;
  compensated_at?: Date | string | null;
  /** A wait's row (aries.waits) joined in; all NULL for the other kinds. */
  wait_created_at: Date | string | null;
  wait_wake_at: Date | string | null;
  wait_signal_name: string | null;
  wait_child_id: string | null;
  wait_child_status: ExecutionStatus | null;
  wait_resolved_at: Date | string | null;
}

export type CompensationStatus = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING';

export interface FailureRow {
  failure_id: string;
  execution_id: string;
  failure_type: FailureType;
  failure_message: string;
  failure_timestamp: Date | string;
  recovery_strategy: 'retry' | 'rollback' | 'compensate' | 'none';
  recovered: boolean;
  source: FaultSource;
  step_key: string | null;
  attempt: number | null;
  error_class: string | null;
  stack: string | null;
  details: unknown;
  retries_exhausted: boolean;
  checkpoint_id: string | null;
  recovered_at: Date | string | null;
  recovered_by: 'worker' | 'operator' | 'sweep' | 'cancel' | null;
}

/** A recorded, classified failure (the source model's orchestration_failures). */
export interface Failure {
  id: string;
  executionId: string;
  type: FailureType;
  message: string;
  at: Date;
  recoveryStrategy: FailureRow['recovery_strategy'];
  recovered: boolean;
  source: FaultSource;
  stepKey: string | null;
  attempt: number | null;
  errorClass: string | null;
  stack: string | null;
  details: unknown;
  /** A TRANSIENT error whose retry policy ran out: recorded PERMANENT (or PARTIAL), and this says so. */
  retriesExhausted: boolean;
  /** The checkpoint the execution was rolled back to (null: its start). */
  checkpointId: string | null;
  recoveredAt: Date | null;
  recoveredBy: FailureRow['recovered_by'];
}

export interface JournalRow {
  lsn: number | string;
  prev_lsn: number | string | null;
  kind: string;
  seq: number | null;
  step_key: string | null;
  attempt: number | null;
  payload: unknown;
  payload_is_null: boolean;
  checksum_ok: boolean;
  created_at: Date | string;
  execution_last_lsn: number | string | null;
}

export interface Execution {
  id: string;
  workflow: string;
  version: string;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: StoredError | null;
  idempotencyKey: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  claimCount: number;
  stepCount: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The execution that started this one with ctx.child, and under which step key (null: started by a client). */
  parent: ExecutionParent | null;
  /** The whole execution's deadline (timeoutMs), on the database clock; null: none. */
  deadlineAt: Date | null;
}

export interface ExecutionParent {
  id: string;
  stepKey: string;
  /** What cancelling the parent does to this child: cancel it too, or let it run on. */
  close: 'cancel' | 'abandon';
}

export interface Step {
  key: string;
  seq: number;
  /** Which primitive recorded it: step, transaction, or a wait (sleep, signal, child). */
  kind: StepKind;
  status: StepStatus;
  attempt: number;
  output: unknown;
  error: StoredError | null;
  startedAt: Date;
  completedAt: Date | null;
  /** When it stopped, whatever the outcome (completed, failed, cancelled, a wait settled); null while it runs or waits. */
  endedAt: Date | null;
  compensationStatus: CompensationStatus | null;
  /** When its compensation completed (null: not compensated). */
  compensatedAt: Date | null;
  /** What a wait waits for; null for steps and transactions. */
  wait: StepWait | null;
}

/**
 * A wait as an operator reads it. since: when it began (database clock). A sleep wakes at `until`; a signal
 * wait takes the oldest unconsumed signal named `signal`, a child wait the end of `childId`; either fails
 * with WAIT_TIMEOUT at `timeoutAt` (null: no timeout). settledAt: when it settled or was cancelled (null:
 * open).
 */
export interface StepWait {
  kind: 'sleep' | 'signal' | 'child';
  since: Date;
  until: Date | null;
  timeoutAt: Date | null;
  signal: string | null;
  childId: string | null;
  childStatus: ExecutionStatus | null;
  settledAt: Date | null;
}

export interface JournalRecord {
  lsn: number;
  prevLsn: number | null;
  kind: string;
  seq: number | null;
  stepKey: string | null;
  attempt: number | null;
  /** undefined when the record stores SQL NULL (a step that returned nothing). */
  payload: unknown;
  checksumOk: boolean;
  createdAt: Date;
  /** The execution's own record of its newest LSN: the journal must end there. */
  executionLastLsn: number | null;
}

export const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const toDateOrNull = (v: Date | string | null): Date | null => (v === null ? null : toDate(v));

export function toExecution(row: ExecutionRow): Execution {
  return {
    id: row.id,
    workflow: row.workflow_name,
    version: row.workflow_version,
    status: row.status,
    input: row.input,
    output: row.output,
    error: row.error,
    idempotencyKey: row.idempotency_key,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: toDateOrNull(row.lease_expires_at),
    claimCount: row.claim_count,
    stepCount: row.step_count,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    startedAt: toDateOrNull(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    parent:
      row.parent_id === null
        ? null
        : { id: row.parent_id, stepKey: row.parent_step_key ?? '', close: row.parent_close ?? 'cancel' },
    deadlineAt: toDateOrNull(row.deadline_at),
  };
}

export function toStep(row: StepRow): Step {
  return {
    key: row.step_key,
    seq: row.seq,
    kind: row.kind,
    status: row.status,
    attempt: row.attempt,
    output: row.output_is_null ? undefined : row.output,
    error: row.error,
    startedAt: toDate(row.started_at),
    completedAt: toDateOrNull(row.completed_at),
    endedAt: toDateOrNull(row.ended_at) ?? toDateOrNull(row.completed_at),
    compensationStatus: row.compensation_status,
    compensatedAt: toDateOrNull(row.compensated_at ?? null),
    wait: toStepWait(row),
  };
}

function toStepWait(row: StepRow): StepWait | null {
  if (row.kind !== 'sleep' && row.kind !== 'signal' && row.kind !== 'child') return null;
  const wakeAt = toFiniteDateOrNull(row.wait_wake_at);
  return {
    kind: row.kind,
    since: toDate(row.wait_created_at ?? row.started_at),
    until: row.kind === 'sleep' ? wakeAt : null,
    timeoutAt: row.kind === 'sleep' ? null : wakeAt,
    signal: row.wait_signal_name,
    childId: row.wait_child_id,
    childStatus: row.wait_child_status,
    settledAt: toDateOrNull(row.wait_resolved_at),
  };
}

/** A timestamp that may be 'infinity' (a wait with no end of its own): null then. */
function toFiniteDateOrNull(v: Date | string | null): Date | null {
  const d = toDateOrNull(v);
  return d && Number.isFinite(d.getTime()) ? d : null;
}

export function toFailure(row: FailureRow): Failure {
  return {
    id: row.failure_id,
    executionId: row.execution_id,
    type: row.failure_type,
    message: row.failure_message,
    at: toDate(row.failure_timestamp),
    recoveryStrategy: row.recovery_strategy,
    recovered: row.recovered,
    source: row.source,
    stepKey: row.step_key,
    attempt: row.attempt,
    errorClass: row.error_class,
    stack: row.stack,
    details: row.details,
    retriesExhausted: row.retries_exhausted,
    checkpointId: row.checkpoint_id,
    recoveredAt: toDateOrNull(row.recovered_at),
    recoveredBy: row.recovered_by,
  };
}

export function toJournalRecord(row: JournalRow): JournalRecord {
  return {
    lsn: Number(row.lsn),
    prevLsn: row.prev_lsn === null ? null : Number(row.prev_lsn),
    kind: row.kind,
    seq: row.seq,
    stepKey: row.step_key,
    attempt: row.attempt,
    payload: row.payload_is_null ? undefined : row.payload,
    checksumOk: row.checksum_ok,
    createdAt: toDate(row.created_at),
    executionLastLsn: row.execution_last_lsn === null ? null : Number(row.execution_last_lsn),
  };
}
