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
}

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
}

export interface Step {
  key: string;
  seq: number;
  status: StepStatus;
  attempt: number;
  output: unknown;
  error: StoredError | null;
  startedAt: Date;
  completedAt: Date | null;
  compensationStatus: CompensationStatus | null;
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
  };
}

export function toStep(row: StepRow): Step {
  return {
    key: row.step_key,
    seq: row.seq,
    status: row.status,
    attempt: row.attempt,
    output: row.output_is_null ? undefined : row.output,
    error: row.error,
    startedAt: toDate(row.started_at),
    completedAt: toDateOrNull(row.completed_at),
    compensationStatus: row.compensation_status,
  };
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
