/**
 * A worker started while PostgreSQL is down or restarting ("the database system is starting up", a
 * refused or reset connection) waits for it instead of exiting: it tries again with backoff, one stderr
 * line per attempt, up to a bound. What no wait can fix fails at once with its own error: a wrong role or
 * password (SQLSTATE class 28), a database that does not exist (3D000), a malformed URL.
 */
import { isTransientError } from '../core/transient-errors.js';
import { DatabaseUnreachableError } from '../errors.js';

export interface ConnectRetry {
  /** Give up after this long (0: try once). */
  maxMs: number;
  /** One line per failed attempt (default: stderr). */
  say?: (line: string) => void;
}

/** Whether a failure to open is the database not being there *yet*, rather than a wrong setting. */
export function isRetryableOpenFailure(err: unknown): boolean {
  if (!(err instanceof DatabaseUnreachableError)) return false;
  return isTransientError(err.cause);
}

export async function openWithRetry<T>(open: () => Promise<T>, retry: ConnectRetry): Promise<T> {
  const say = retry.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const deadline = Date.now() + retry.maxMs;
  let delayMs = 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (err) {
      if (!isRetryableOpenFailure(err) || Date.now() + delayMs > deadline) throw err;
      const left = Math.ceil((deadline - Date.now()) / 1000);
      say(`aries: the database is not reachable yet (attempt ${attempt}: ${(err as Error).message}); trying again in ${delayMs} ms, for ${left} s more`);
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, 5_000);
    }
  }
}
