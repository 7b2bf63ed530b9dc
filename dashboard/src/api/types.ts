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

/** A stored error; above the server's limit a preview (`$truncated`: name, code, the first 512 characters of the message). */
export interface StoredError {
  name?: string;
  message?: string;
  $truncated?: true;
  /** With $truncated: the whole error's JSON size. */
  bytes?: number;
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
  /** The execution that started this one with ctx.child, under which step key (null: a client started it). */
  parent: { id: string; stepKey: string; close: 'cancel' | 'abandon' } | null;
  /** The whole execution's deadline (timeoutMs); null: none. */
  deadlineAt: string | null;
}

export interface Execution extends ExecutionSummary {
  input: unknown;
  output: unknown;
}

export type StepKind = 'step' | 'transaction' | 'sleep' | 'signal' | 'child';

export interface Step {
  key: string;
  seq: number;
  kind: StepKind;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING' | 'ROLLED_BACK' | 'WAITING' | 'CANCELLED';
  attempt: number;
  output: unknown;
  error: StoredError | null;
  startedAt: string;
  completedAt: string | null;
  /** When it stopped, whatever the outcome; null while it runs or waits. */
  endedAt: string | null;
  compensationStatus: null | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'RETRYING';
  /** When its compensation completed (null: not compensated). */
  compensatedAt: string | null;
  /** What a wait waits for; null for steps and transactions. */
  wait: StepWait | null;
}

/** A sleep wakes at `until`; a signal wait takes a signal named `signal`, a child wait the end of `childId`. */
export interface StepWait {
  kind: 'sleep' | 'signal' | 'child';
  since: string;
  until: string | null;
  timeoutAt: string | null;
  signal: string | null;
  childId: string | null;
  childStatus: ExecutionStatus | null;
  settledAt: string | null;
}

export interface ChildExecution {
  id: string;
  workflow: string;
  status: ExecutionStatus;
  stepKey: string;
  createdAt: string;
  finishedAt: string | null;
}

/** A signal in an execution's mailbox, with the wait that consumed it (null: not yet). */
export interface MailboxSignal {
  id: string;
  name: string;
  payload: unknown;
  idempotencyKey: string | null;
  sentAt: string;
  consumedBy: string | null;
  consumedAt: string | null;
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
  /** A preview: the first 512 characters of its message, no stack nor details (the execution page has all of it). */
  truncated?: boolean;
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
  children: ChildExecution[];
  signals: MailboxSignal[];
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

export type WorkerStatus = 'live' | 'stale' | 'stopped';

/** A registered worker (or a lease owner without a registry row: its registry fields null). */
export interface WorkerInfo {
  workerId: string;
  status: WorkerStatus;
  host: string | null;
  pid: number | null;
  workflows: string[];
  concurrency: number | null;
  startedAt: string | null;
  heartbeatAt: string | null;
  stoppedAt: string | null;
  executions: number;
  compensating: number;
  expired: number;
  earliestLeaseExpiry: string | null;
  leaseExpiresAt: string | null;
}

export interface Workers {
  live: number;
  workers: WorkerInfo[];
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

/** A queue's limits (null: unlimited) and live stats, as GET /api/queues sends them. */
export interface Queue {
  name: string;
  concurrency: number | null;
  workerConcurrency: number | null;
  keyConcurrency: number | null;
  rateLimit: { limit: number; periodMs: number } | null;
  paused: boolean;
  /** Who set the limits last: the code's definition, or an operator (then a deploy keeps them). */
  source: 'definition' | 'operator';
  createdAt: string;
  updatedAt: string;
  /** PENDING and due. */
  pending: number;
  /** PENDING, not due yet (a delay, a debounce, a backoff). */
  delayed: number;
  /** Holding a slot. */
  running: number;
  /** SLEEPING or WAITING: holding no slot. */
  waiting: number;
  /** How long the oldest due PENDING one has been due (null: none). */
  oldestDueMs: number | null;
  /** First starts within the rate window (null: no rate limit). */
  startedInWindow: number | null;
}

/** What PATCH /api/queues/{name} takes: a limit given replaces the current one, null removes it. */
export interface QueueChange {
  concurrency?: number | null;
  workerConcurrency?: number | null;
  keyConcurrency?: number | null;
  rateLimit?: { limit: number; periodMs: number } | null;
  paused?: boolean;
}

/** One record of what a schedule did: a started or manual run, or a range of skipped or missed slots. */
export interface ScheduleSlot {
  id: number;
  slotAt: string;
  /** A range's last slot (null: one slot). */
  throughAt: string | null;
  count: number;
  status: 'started' | 'skipped' | 'missed' | 'manual';
  executionId: string | null;
  executionStatus: ExecutionStatus | null;
  actionResult: number | null;
  recordedAt: string;
}

export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  /** null for a built-in schedule, which runs `action`. */
  workflow: string | null;
  version: string | null;
  input?: unknown;
  action: string | null;
  misfire: 'skip' | 'once' | 'all';
  maxLatenessMs: number;
  paused: boolean;
  nextFireAt: string;
  lastSlotAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Its newest 5 slot records, newest first. */
  recentSlots: ScheduleSlot[];
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
