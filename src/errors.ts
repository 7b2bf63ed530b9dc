/**
 * Every public error of Aries. One base class with a stable string `code`; subclasses are grouped by who
 * must act: the programmer (a bad definition or input), the operator (configuration, schema, data), or
 * nobody in particular (concurrency outcomes the engine handles, surfaced for visibility).
 */

export type ErrorCode =
  | 'INVALID_DEFINITION'
  | 'INVALID_INPUT'
  | 'NOT_JSON_SERIALIZABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNKNOWN_WORKFLOW'
  | 'UNKNOWN_QUEUE'
  | 'DUPLICATE_STEP_KEY'
  | 'NONDETERMINISM'
  | 'IDEMPOTENCY_CONFLICT'
  | 'EXECUTION_NOT_FOUND'
  | 'SCHEDULE_NOT_FOUND'
  | 'EXECUTION_FAILED'
  | 'EXECUTION_COMPENSATED'
  | 'EXECUTION_CANCELLED'
  | 'PERMANENT_FAILURE'
  | 'NO_FAILURE_TO_RECOVER'
  | 'EXECUTION_BUSY'
  | 'EXECUTION_ACTIVE'
  | 'PURGE_REFUSED'
  | 'PERMISSION_DENIED'
  | 'STEP_ATTEMPTS_EXHAUSTED'
  | 'STEP_FAILED'
  | 'INVALID_DATABASE_URL'
  | 'DATABASE_UNREACHABLE'
  | 'DATA_DIR_LOCKED'
  | 'SCHEMA_VERSION'
  | 'MIGRATION_CHECKSUM'
  | 'JOURNAL_CORRUPT'
  | 'CODEC_REQUIRED'
  | 'PAYLOAD_DECODE_FAILED'
  | 'LEASE_LOST'
  | 'ILLEGAL_TRANSITION'
  | 'ENGINE_CLOSED'
  | 'TIMEOUT'
  | 'WAIT_TIMEOUT'
  | 'STEP_TIMEOUT'
  | 'CHILD_FAILED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'MALFORMED_REQUEST'
  | 'INTERNAL';

export class AriesError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
  }
}

// ---- the programmer must act -------------------------------------------------------------------

export class InvalidDefinitionError extends AriesError {
  constructor(message: string) {
    super('INVALID_DEFINITION', message);
  }
}

export class InvalidInputError extends AriesError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_INPUT', message, { details });
  }
}

/** A value that must be stored (input, step output, result) is not plain JSON; `path` names where. */
export class NotJsonSerializableError extends AriesError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super('NOT_JSON_SERIALIZABLE', `${path} is not JSON-serialisable: ${reason}`, { details: { path } });
    this.path = path;
  }
}

export class PayloadTooLargeError extends AriesError {
  constructor(what: string, bytes: number, limit: number) {
    super('PAYLOAD_TOO_LARGE', `${what} is ${bytes} bytes as JSON; the limit is ${limit} bytes`, {
      details: { bytes, limit },
    });
  }
}

export class UnknownWorkflowError extends AriesError {
  constructor(message: string) {
    super('UNKNOWN_WORKFLOW', message);
  }
}

/** A start named a queue (or its workflow's definition did) that is not in aries.queues (AR013). */
export class UnknownQueueError extends AriesError {
  constructor(message: string) {
    super('UNKNOWN_QUEUE', message);
  }
}

export class DuplicateStepKeyError extends AriesError {
  constructor(message: string) {
    super('DUPLICATE_STEP_KEY', message);
  }
}

/** Replay met a different step than the journal recorded at that position: the code changed under it. */
export class NondeterminismError extends AriesError {
  constructor(message: string) {
    super('NONDETERMINISM', message);
  }
}

export class IdempotencyConflictError extends AriesError {
  constructor(message: string) {
    super('IDEMPOTENCY_CONFLICT', message);
  }
}

export class ExecutionNotFoundError extends AriesError {
  constructor(message: string) {
    super('EXECUTION_NOT_FOUND', message);
  }
}

/** No schedule of that name (pause, resume, trigger, delete, get). */
export class ScheduleNotFoundError extends AriesError {
  constructor(message: string) {
    super('SCHEDULE_NOT_FOUND', message);
  }
}

/**
 * An execution whose body retention deleted while its idempotency key is still kept: it is not found
 * (same code), but it is known how it ended.
 */
export class ExecutionPurgedError extends ExecutionNotFoundError {
  constructor(
    readonly executionId: string,
    readonly finalStatus: string,
    readonly finishedAt: Date,
  ) {
    super(
      `execution ${executionId} ended ${finalStatus} at ${finishedAt.toISOString()} and was purged by retention: ` +
        'its output, journal and steps are gone (only its idempotency key is kept)',
    );
  }
}

/** What `handle.result()` throws for an execution that ended FAILED; `stored` is the recorded error. */
export class ExecutionFailedError extends AriesError {
  readonly executionId: string;
  constructor(executionId: string, stored: { name?: string; message?: string }) {
    super('EXECUTION_FAILED', `execution ${executionId} failed: ${stored.name ?? 'Error'}: ${stored.message ?? ''}`, {
      details: { executionId, error: stored },
    });
    this.executionId = executionId;
  }
}

/**
 * What `handle.result()` throws for an execution that was compensated: it failed after some of its steps
 * took effect, and their compensations undid them.
 */
export class ExecutionCompensatedError extends AriesError {
  readonly executionId: string;
  constructor(executionId: string, stored: { name?: string; message?: string } | null) {
    super(
      'EXECUTION_COMPENSATED',
      `execution ${executionId} was compensated after it failed: ${stored?.name ?? 'Error'}: ${stored?.message ?? ''}`,
      { details: { executionId, error: stored } },
    );
    this.executionId = executionId;
  }
}

/** What `handle.result()` throws for an execution an operator cancelled; `reason` is theirs. */
export class ExecutionCancelledError extends AriesError {
  readonly executionId: string;
  constructor(executionId: string, stored: { message?: string } | null) {
    super('EXECUTION_CANCELLED', `execution ${executionId} was cancelled: ${stored?.message ?? 'cancelled by an operator'}`, {
      details: { executionId, reason: stored?.message ?? null },
    });
    this.executionId = executionId;
  }
}

/**
 * Throw it from a step (or a classifier's verdict) for an error that no retry can fix, such as a
 * declined card: the step is not retried, and the execution is rolled back or compensated at once.
 */
export class PermanentError extends AriesError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('PERMANENT_FAILURE', message, options);
  }
}

/**
 * A step's worker died during each of its attempts until its retry policy's maxAttempts were spent (a crash
 * loop): it is not started again, and fails as if its retries had run out.
 */
export class StepAttemptsExhaustedError extends AriesError {
  constructor(message: string) {
    super('STEP_ATTEMPTS_EXHAUSTED', message);
  }
}

/** A step's error as replay raises it again from the journal (the original object is gone). */
export class StepFailedError extends AriesError {
  readonly stepKey: string;
  readonly originalName: string;
  constructor(stepKey: string, stored: { name?: string; message?: string }) {
    super('STEP_FAILED', stored.message ?? `step "${stepKey}" failed`, { details: { stepKey, error: stored } });
    this.stepKey = stepKey;
    this.originalName = stored.name ?? 'Error';
  }
}

// ---- the operator must act ---------------------------------------------------------------------

export class InvalidDatabaseUrlError extends AriesError {
  constructor(message: string) {
    super('INVALID_DATABASE_URL', message);
  }
}

export class DatabaseUnreachableError extends AriesError {
  constructor(message: string, cause?: unknown) {
    super('DATABASE_UNREACHABLE', message, { cause });
  }
}

export class DataDirLockedError extends AriesError {
  readonly holderPid: number;
  constructor(message: string, holderPid: number) {
    super('DATA_DIR_LOCKED', message, { details: { holderPid } });
    this.holderPid = holderPid;
  }
}

export class SchemaVersionError extends AriesError {
  constructor(message: string) {
    super('SCHEMA_VERSION', message);
  }
}

export class MigrationChecksumError extends AriesError {
  constructor(message: string) {
    super('MIGRATION_CHECKSUM', message);
  }
}

/** recover_from_failure found no unrecovered failure of the execution (of the type asked for). */
export class NoFailureToRecoverError extends AriesError {
  constructor(message: string) {
    super('NO_FAILURE_TO_RECOVER', message);
  }
}

/** The execution is held by a worker right now: there is nothing for an operator to recover. */
export class ExecutionBusyError extends AriesError {
  constructor(message: string) {
    super('EXECUTION_BUSY', message);
  }
}

/** A purge met an execution that is not at rest (PENDING, RUNNING, waiting, compensating…): cancel it first. */
export class ExecutionActiveError extends AriesError {
  constructor(message: string) {
    super('EXECUTION_ACTIVE', message);
  }
}

/** A purge named a child execution: a child goes with its tree, purged from its top-level execution. */
export class PurgeRefusedError extends AriesError {
  constructor(message: string) {
    super('PURGE_REFUSED', message);
  }
}

/**
 * The database role Aries connects as lacks a privilege the operation needs (SQLSTATE 42501): a read-only
 * role that was asked to write, or a role missing a grant of `aries roles`.
 */
export class PermissionDeniedError extends AriesError {
  constructor(message: string) {
    super('PERMISSION_DENIED', message);
  }
}

export class JournalCorruptError extends AriesError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('JOURNAL_CORRUPT', message, { details });
  }
}

/** A stored payload is encoded (its envelope names the codec) and this engine has no codec to decode it. */
export class CodecRequiredError extends AriesError {
  constructor(what: string, codec: string) {
    super('CODEC_REQUIRED', `${what} is encoded by codec "${codec}": this engine needs the engine option codec to decode it`, {
      details: { codec },
    });
  }
}

/**
 * The codec could not decode a stored payload: its key id is unknown (a key taken out of the codec's keys
 * too early) or the data was changed (authentication failed). Never garbage in its place.
 */
export class PayloadDecodeError extends AriesError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('PAYLOAD_DECODE_FAILED', message, { details });
  }
}

// ---- concurrency outcomes ----------------------------------------------------------------------

/** This worker's lease on an execution was taken over; its writes are refused by the fencing token. */
export class LeaseLostError extends AriesError {
  constructor(message: string) {
    super('LEASE_LOST', message);
  }
}

export class IllegalTransitionError extends AriesError {
  constructor(message: string) {
    super('ILLEGAL_TRANSITION', message);
  }
}

export class EngineClosedError extends AriesError {
  constructor() {
    super('ENGINE_CLOSED', 'the engine is closed');
  }
}

export class TimeoutError extends AriesError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/** A whole execution ran past its deadline (timeoutMs): it ends FAILED with this failure. */
export class ExecutionTimeoutError extends TimeoutError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    if (details) (this as { details: Record<string, unknown> | undefined }).details = details;
  }
}

// ---- the workflow may catch these ------------------------------------------------------------------

/**
 * A wait (ctx.waitForSignal, ctx.child) reached its timeout on the database clock before what it waited
 * for came. The workflow may catch it and go on (escalate, give up); uncaught, it fails the execution.
 */
export class WaitTimeoutError extends AriesError {
  constructor(
    message: string,
    readonly waitKey: string,
    readonly signalName?: string,
    readonly childExecutionId?: string,
  ) {
    super('WAIT_TIMEOUT', message, { details: { waitKey, signalName, childExecutionId } });
  }
}

/** One attempt of a step ran past its timeoutMs: a TRANSIENT failure, retried under the step's policy. */
export class StepTimeoutError extends AriesError {
  constructor(message: string, details?: { stepKey: string; timeoutMs: number }) {
    super('STEP_TIMEOUT', message, details ? { details } : undefined);
  }
}

/** A child workflow ended without a result (FAILED, COMPENSATED, CANCELLED): the parent's ctx.child step fails. */
export class ChildWorkflowFailedError extends AriesError {
  constructor(
    message: string,
    readonly childExecutionId: string,
    readonly childStatus: string,
    readonly failureType: string,
    readonly childError: unknown,
  ) {
    super('CHILD_FAILED', message, { details: { childExecutionId, childStatus, failureType, childError } });
  }
}

// ---- the caller of the HTTP API must act ---------------------------------------------------------

/**
 * A request the HTTP API refuses before it reaches the engine: no or a wrong token (UNAUTHORIZED), a
 * cross-site write (FORBIDDEN), an unknown path (NOT_FOUND) or method, a body that is not JSON.
 */
export class RequestRefusedError extends AriesError {
  constructor(code: 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'MALFORMED_REQUEST', message: string) {
    super(code, message);
  }
}
