/**
 * An error as it is stored and shown: plain JSON, separate from the local Error object (which does not
 * survive a process). Only these fields are kept; a user's error may add `details` if it is JSON.
 */
import { InvalidInputError } from '../errors.js';
import { assertJsonValue, type JsonValue } from './json-value.js';
import { relativeStack } from './relative-stack.js';

export interface StoredError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  details?: JsonValue;
  [key: string]: JsonValue | undefined;
}

/** Bounds on what one stored error keeps: every list page and journal read carries it, so an error that
 *  quotes a whole response body must not make every later read megabytes long. */
export const MAX_ERROR_MESSAGE_CHARS = 4096;
export const MAX_ERROR_STACK_CHARS = 16_384;
export const MAX_ERROR_DETAILS_BYTES = 65_536;
/** An operator's cancel reason: the same bound as an error's message (it becomes one). */
export const MAX_REASON_CHARS = MAX_ERROR_MESSAGE_CHARS;

/** `text` cut to `max` characters, saying how much was cut. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  // never cut a surrogate pair in half: jsonb refuses a lone surrogate
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… [${text.length - end} more characters cut]`;
}

/**
 * How errors are turned into what is stored (engine options `storeStacks`, `redactError`). Every error a
 * worker stores (failures, journal records, executions.error, steps.error) is made by toStoredError and,
 * for a failure, redacted once by storedFailure: the rows copy the one stored form.
 */
export interface StoredErrorPolicy {
  /** false: no stack is stored. Default true, with paths relative to the working directory. */
  storeStacks?: boolean | undefined;
  /** Applied to every error before it is written: return the form to store (e.g. with secrets masked). */
  redactError?: ((stored: StoredError) => StoredError) | undefined;
}

/** The engine options `redactError` and `storeStacks`, checked. */
export function checkStoredErrorPolicy(options: { redactError?: unknown; storeStacks?: unknown }): StoredErrorPolicy {
  const { redactError, storeStacks } = options;
  if (redactError !== undefined && typeof redactError !== 'function') throw new InvalidInputError('redactError must be a function (stored) => stored');
  if (storeStacks !== undefined && typeof storeStacks !== 'boolean') throw new InvalidInputError('storeStacks must be true or false');
  return { redactError: redactError as StoredErrorPolicy['redactError'], storeStacks: storeStacks as boolean | undefined };
}

export function toStoredError(err: unknown, policy: StoredErrorPolicy = {}): StoredError {
  const stored = storedErrorUncapped(err);
  return capStoredError(stored, policy);
}

function capStoredError(stored: StoredError, policy: StoredErrorPolicy): StoredError {
  stored.message = capText(stored.message, MAX_ERROR_MESSAGE_CHARS);
  if (policy.storeStacks === false) delete stored.stack;
  else if (stored.stack !== undefined) stored.stack = capText(relativeStack(stored.stack), MAX_ERROR_STACK_CHARS);
  if (stored.details !== undefined) {
    const bytes = Buffer.byteLength(JSON.stringify(stored.details));
    if (bytes > MAX_ERROR_DETAILS_BYTES) stored.details = { cut: `details of ${bytes} bytes as JSON are over the ${MAX_ERROR_DETAILS_BYTES}-byte limit` };
  }
  return stored;
}

/**
 * `stored` through the policy's redactError hook, checked again afterwards: what the hook returns is
 * stored only if it is still an error (string name and message, JSON), capped like any other, with no
 * stack when stacks are off. A hook that throws or returns something else stores no message at all
 * rather than the unredacted one.
 */
export function redactStoredError(stored: StoredError, policy: StoredErrorPolicy): StoredError {
  const redact = policy.redactError;
  if (redact === undefined) return stored;
  let out: unknown;
  try {
    out = redact(structuredClone(stored));
    // `{ ...e, stack: e.stack?.replace(…) }` leaves stack undefined when there is none: a field left out
    if (typeof out === 'object' && out !== null && !Array.isArray(out)) {
      out = Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
    }
    assertJsonValue(out, 'the error redactError returned');
  } catch {
    out = undefined;
  }
  const o = out as Partial<StoredError> | undefined;
  if (o === undefined || o === null || typeof o !== 'object' || Array.isArray(o) || typeof o.name !== 'string' || typeof o.message !== 'string') {
    return { name: stored.name, message: '[redactError failed: the message is not stored]' };
  }
  return capStoredError({ ...(o as StoredError) }, policy);
}

function storedErrorUncapped(err: unknown): StoredError {
  if (err instanceof Error) {
    const stored: StoredError = { name: capText(err.name, 200), message: err.message };
    if (err.stack) stored.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') stored.code = capText(code, 200);
    const details = (err as { details?: unknown }).details;
    if (details !== undefined) {
      try {
        assertJsonValue(details, 'details');
        stored.details = details;
      } catch {
        // details that cannot be stored are left out rather than losing the error itself
      }
    }
    return stored;
  }
  let message: string;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { name: 'NonErrorThrown', message };
}
