/**
 * The HTTP API's JSON shapes, as the dashboard reads them (timestamps are ISO-8601 strings). The status
 * list and which statuses are final come from the engine's own state machine (pure code, bundled).
 */
import { TERMINAL_STATUSES, type ExecutionStatus } from '../../../src/core/execution-states';

export { EXECUTION_STATUSES, type ExecutionStatus } from '../../../src/core/execution-states';

/** Statuses an execution never leaves. */
export const FINAL_STATUSES: ReadonlySet<string> = TERMINAL_STATUSES;

export const FAILURE_TYPES = ['TRANSIENT', 'PERMANENT', 'PARTIAL'] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

export interface StoredError {
  name?: string;
  message?: string;
  [key: string]: unknown;
}

export interface ExecutionSummary {
  id: string;
  workflow: string;
  version: string;
  status: ExecutionStatus;
  idempotencyKey: string | null;
  claimCount: number;
  stepCount: number;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: StoredError | null;
}

export interface Execution extends ExecutionSummary {
  input: unknown;
  output: unknown;
}

export interface Step {
  key: string;
  seq: number;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING' | 'ROLLED_BACK';
  attempt: number;
  output: unknown;
  error: StoredError | null;
  startedAt: string;
  completedAt: string | null;
  compensationStatus: null | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING';
  compensatedAt?: string | null;
}

export interface Checkpoint {
  id: string;
  lsn: number;
  at: string;
  valid: boolean;
  stepProgress: unknown;
}

export interface Failure {
  id: string;
  executionId: string;
  workflow?: string;
  type: FailureType;
  message: string;
  at: string;
  recoveryStrategy: 'retry' | 'rollback' | 'compensate' | 'none';
  recovered: boolean;
  source: 'node' | 'network' | 'data' | 'step';
  stepKey: string | null;
  attempt: number | null;
  errorClass: string | null;
  retriesExhausted: boolean;
  checkpointId: string | null;
  recoveredAt: string | null;
  recoveredBy: string | null;
}

export interface JournalRecord {
  lsn: number;
  prevLsn: number | null;
  kind: string;
  seq: number | null;
  stepKey: string | null;
  attempt: number | null;
  payload: unknown;
  checksumOk: boolean;
  createdAt: string;
}

export interface JournalPage {
  records: JournalRecord[];
  nextAfterLsn: number | null;
}

export interface ExecutionDetail {
  execution: Execution;
  steps: Step[];
  checkpoints: Checkpoint[];
  failures: Failure[];
  journal: JournalPage;
}

export interface ExecutionList {
  executions: ExecutionSummary[];
  nextCursor: string | null;
}

export interface FailureList {
  failures: Failure[];
  nextCursor: string | null;
}

export interface FailureGroup {
  workflow: string;
  type: FailureType;
  count: number;
  unrecovered: number;
  lastAt: string;
}

export interface WorkerLeases {
  workerId: string;
  executions: number;
  compensating: number;
  expired: number;
  leaseExpiresAt: string | null;
}

export interface WorkflowInfo {
  name: string;
  version: string;
  registeredAt: string;
  lastSeenAt: string | null;
}

export interface StatsBucket {
  at: string;
  started: number;
  completed: number;
  failed: number;
  compensated: number;
  cancelled: number;
  failures: Record<FailureType, number>;
}

export interface Stats {
  from: string;
  to: string;
  bucketSeconds: number;
  buckets: StatsBucket[];
  statusCounts: Partial<Record<ExecutionStatus, number>>;
  queueDepth: number;
}

export interface Health {
  ok: boolean;
  backend: 'pglite' | 'postgres';
  version: string;
  auth: boolean;
}

/** What the API sends instead of a payload bigger than its limit, unless asked for `?full=true`. */
export interface TruncatedPayload {
  $truncated: true;
  bytes: number;
  preview: string;
}

export function isTruncated(value: unknown): value is TruncatedPayload {
  return typeof value === 'object' && value !== null && (value as { $truncated?: unknown }).$truncated === true;
}
