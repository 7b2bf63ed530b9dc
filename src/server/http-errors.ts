/**
 * The one map from errors to HTTP statuses, and the JSON body every error response has:
 * `{ "error": { "code", "message", "details"? } }`. The code is the stable string of AriesError; a lost or
 * refused database connection is DATABASE_UNREACHABLE (503); a refused privilege (42501) PERMISSION_DENIED
 * (403); anything else is INTERNAL (500), its message
 * kept out of the response and handed to the server's onError.
 */
import { isNetworkError } from '../core/transient-errors.js';
import { permissionDenied } from '../db/sqlstate-errors.js';
import { AriesError, type ErrorCode } from '../errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  MALFORMED_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  EXECUTION_NOT_FOUND: 404,
  SCHEDULE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ILLEGAL_TRANSITION: 409,
  NO_FAILURE_TO_RECOVER: 409,
  EXECUTION_BUSY: 409,
  EXECUTION_ACTIVE: 409,
  PURGE_REFUSED: 409,
  IDEMPOTENCY_CONFLICT: 409,
  LEASE_LOST: 409,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_INPUT: 422,
  INVALID_DEFINITION: 422,
  NOT_JSON_SERIALIZABLE: 422,
  UNKNOWN_WORKFLOW: 422,
  UNKNOWN_QUEUE: 422,
  DATABASE_UNREACHABLE: 503,
  ENGINE_CLOSED: 503,
  TIMEOUT: 504,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorResponse(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof AriesError && err.code === 'DATABASE_UNREACHABLE') {
    // its message names the database's address; that is for the server's log, not for a client
    return { status: 503, body: { error: { code: err.code, message: 'the database did not answer; try again' } }, internal: true };
  }
  if (err instanceof AriesError) {
    const status = STATUS[err.code] ?? 500;
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details !== undefined) body.error.details = err.details;
    return { status, body, internal: status === 500 };
  }
  // The database refused a value (class 22: data exception, e.g. a date out of range; 54000: too long
  // for an index): the caller's input, which the checks before it did not catch.
  const sqlstate = (err as { code?: unknown } | null)?.code;
  // The role the server connects as lacks a privilege (a read-only role asked to write): 403, not 500.
  if (sqlstate === '42501') return errorResponse(permissionDenied(err));
  if (typeof sqlstate === 'string' && (/^22[0-9A-Z]{3}$/.test(sqlstate) || sqlstate === '54000')) {
    return { status: 422, body: { error: { code: 'INVALID_INPUT', message: `the database refused a value: ${(err as Error).message}` } }, internal: false };
  }
  // The database dropped the connection, is restarting or refuses connections: say so, and that it passes.
  if (isNetworkError(err)) {
    return {
      status: 503,
      body: { error: { code: 'DATABASE_UNREACHABLE', message: 'the database did not answer; try again' } },
      internal: true,
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error (see the server log)' } }, internal: true };
}
