/**
 * An error as it is stored and shown: plain JSON, separate from the local Error object (which does not
 * survive a process). Only these fields are kept; a user's error may add `details` if it is JSON.
 */
import { assertJsonValue, type JsonValue } from './json-value.js';

export interface StoredError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  details?: JsonValue;
  [key: string]: JsonValue | undefined;
}

export function toStoredError(err: unknown): StoredError {
  if (err instanceof Error) {
    const stored: StoredError = { name: err.name, message: err.message };
    if (err.stack) stored.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') stored.code = code;
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
