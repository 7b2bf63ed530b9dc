/**
 * The one table from SQLSTATEs raised by Aries's SQL functions (class AR, see the header of
 * the header of sql/migrations/0001_baseline.sql) to public error classes. Other database errors pass through unchanged.
 */
import {
  type AriesError,
  DuplicateStepKeyError,
  ExecutionBusyError,
  ExecutionActiveError,
  ExecutionNotFoundError,
  IdempotencyConflictError,
  IllegalTransitionError,
  InvalidInputError,
  JournalCorruptError,
  LeaseLostError,
  NoFailureToRecoverError,
  NondeterminismError,
  PermissionDeniedError,
  PurgeRefusedError,
  ScheduleNotFoundError,
  StepTimeoutError,
  UnknownQueueError,
  UnknownWorkflowError,
} from '../errors.js';

const BY_SQLSTATE: Record<string, (message: string) => AriesError> = {
  AR001: (m) => new ExecutionNotFoundError(m),
  AR002: (m) => new LeaseLostError(m),
  AR003: (m) => new IllegalTransitionError(m),
  AR004: (m) => new UnknownWorkflowError(m),
  AR005: (m) => new DuplicateStepKeyError(m),
  AR006: (m) => new NondeterminismError(m),
  AR007: (m) => new IdempotencyConflictError(m),
  AR008: (m) => new JournalCorruptError(m),
  AR009: (m) => new NoFailureToRecoverError(m),
  AR010: (m) => new ExecutionBusyError(m),
  AR011: (m) => new InvalidInputError(m),
  AR012: (m) => new StepTimeoutError(m),
  AR013: (m) => new UnknownQueueError(m),
  AR014: (m) => new ScheduleNotFoundError(m),
  AR017: (m) => new ExecutionActiveError(m),
  AR018: (m) => new PurgeRefusedError(m),
};

export const ARIES_SQLSTATES = Object.keys(BY_SQLSTATE);

/** The public error for a database error, or the error itself when it is not one of ours. */
export function translateDatabaseError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const { code, message, hint } = err as { code?: unknown; message?: unknown; hint?: unknown };
  if (typeof code !== 'string') return err;
  if (code === INSUFFICIENT_PRIVILEGE) return permissionDenied(err);
  const make = BY_SQLSTATE[code];
  if (!make) return err;
  const text = typeof message === 'string' ? message : String(message);
  const translated = make(typeof hint === 'string' && hint ? `${text} (${hint})` : text);
  (translated as { cause?: unknown }).cause = err;
  return translated;
}

/** SQLSTATE 42501: the connected role lacks a privilege (a grant of `aries roles` it does not have). */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * The public error for a refused privilege. The database's own words ("permission denied for table
 * journal") name the object, never the connection; they are kept, with what to do about it.
 */
export function permissionDenied(err: unknown): PermissionDeniedError {
  const message = String((err as { message?: unknown }).message ?? 'permission denied');
  const denied = new PermissionDeniedError(
    `the database role Aries connects as may not do this (${message}): use a role granted it (see "aries roles")`,
  );
  (denied as { cause?: unknown }).cause = err;
  return denied;
}

/** Awaits a database call and rethrows its error as the public class. */
export async function translated<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw translateDatabaseError(err);
  }
}
