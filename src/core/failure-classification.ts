/**
 * Every error is classified TRANSIENT, PERMANENT or PARTIAL (the source model's failure types), and the
 * fault's source named beside it: node, network, data or step (the step's own code).
 *
 *   1. classifiers the user gave (the step's, then the workflow's), first answer wins;
 *   2. built-in rules: a PermanentError, an error marked `retryable: false`, or an error class the retry
 *      policy lists as non-retryable → PERMANENT; an Aries programmer error (bad definition, output that
 *      is not JSON, a changed workflow) → PERMANENT; network errors (ECONNRESET, ETIMEDOUT, ECONNREFUSED
 *      …) and SQLSTATE classes 08, 40001, 40P01, 57P01–03, 53300 → TRANSIENT;
 *   3. programmer errors (TypeError, ReferenceError, SyntaxError, RangeError) and deterministic SQL errors
 *      (SQLSTATE classes 22 data exception, 23 integrity constraint violation, 42 syntax or access rule,
 *      on the error or a cause of it) → PERMANENT: the same code on the same data fails the same way, so a retry only burns attempts;
 *   4. anything else → TRANSIENT: it is retried as the retry policy allows, then becomes PERMANENT.
 *
 * PARTIAL is decided for the execution, not the error: a PERMANENT failure after steps with compensations
 * completed leaves the execution partially applied (a classifier may also answer PARTIAL itself).
 */
import { isNetworkError, isTransientError } from './transient-errors.js';

export type FailureType = 'TRANSIENT' | 'PERMANENT' | 'PARTIAL';
export type FaultSource = 'node' | 'network' | 'data' | 'step';

export const FAILURE_TYPES: readonly FailureType[] = ['TRANSIENT', 'PERMANENT', 'PARTIAL'];

/** A user's classifier: a failure type, or undefined to leave the error to the next rule. */
export type ErrorClassifier = (error: unknown) => FailureType | undefined | null | void;

export interface Classification {
  type: FailureType;
  source: FaultSource;
}

/** Error codes of Aries errors that no retry can fix (the code or the data must change). */
const PERMANENT_ARIES_CODES = new Set([
  'INVALID_DEFINITION',
  'INVALID_INPUT',
  'NOT_JSON_SERIALIZABLE',
  'PAYLOAD_TOO_LARGE',
  'DUPLICATE_STEP_KEY',
  'NONDETERMINISM',
  'JOURNAL_CORRUPT',
  'PERMANENT_FAILURE',
  // a wait that timed out and a child that failed do not change by running again: the workflow catches
  // them or fails (a classifier may say otherwise)
  'WAIT_TIMEOUT',
  'CHILD_FAILED',
  'TIMEOUT',
]);

function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/** JavaScript's own errors of a program that is wrong; running it again cannot help. */
const PROGRAMMER_ERROR_CLASSES: readonly (new (...args: never[]) => Error)[] = [TypeError, ReferenceError, SyntaxError, RangeError];

/** SQLSTATE classes whose errors are decided by the statement and the data, not by timing. */
const DETERMINISTIC_SQLSTATE_CLASSES = ['22', '23', '42'];

function isDeterministicError(error: unknown): boolean {
  if (PROGRAMMER_ERROR_CLASSES.some((cls) => error instanceof cls)) return true;
  // The SQLSTATE may be on a cause: query builders wrap the driver's error in their own (Drizzle's
  // "Failed query: …" keeps it as `cause`).
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && DETERMINISTIC_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return false;
}

function isMarkedPermanent(error: unknown, nonRetryable: readonly string[]): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; retryable?: unknown; constructor?: { name?: unknown } };
  if (e.retryable === false) return true;
  if (typeof e.code === 'string' && PERMANENT_ARIES_CODES.has(e.code)) return true;
  const names = [errorName(error), typeof e.constructor?.name === 'string' ? e.constructor.name : undefined];
  return names.some((n) => n !== undefined && nonRetryable.includes(n));
}

export function classifyError(
  error: unknown,
  classifiers: readonly (ErrorClassifier | undefined)[],
  nonRetryable: readonly string[] = [],
): Classification {
  const source: FaultSource = isNetworkError(error) ? 'network' : 'step';
  for (const classify of classifiers) {
    if (!classify) continue;
    let answer: unknown;
    try {
      answer = classify(error);
    } catch {
      continue; // a classifier that throws has no opinion; the built-in rules decide
    }
    if (typeof answer === 'string' && (FAILURE_TYPES as readonly string[]).includes(answer)) {
      return { type: answer as FailureType, source };
    }
  }
  if (isMarkedPermanent(error, nonRetryable)) return { type: 'PERMANENT', source };
  if (isTransientError(error)) return { type: 'TRANSIENT', source };
  if (isDeterministicError(error)) return { type: 'PERMANENT', source };
  return { type: 'TRANSIENT', source };
}
