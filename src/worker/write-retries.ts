/**
 * Retrying a write in place: for writes that are idempotent under the lease's fencing token, trying again
 * after a transient error (a dropped connection, a deadlock) is safe, and handing the execution back
 * instead could lose what the write was for (a retry's backoff, a compensation's final failure).
 */
import { isTransientError } from '../core/transient-errors.js';

/** The waits between tries; after the last, the error is the caller's. */
const RETRY_DELAYS_MS = [100, 400, 1_600];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function withRetries<T>(write: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await write();
    } catch (err) {
      if (!isTransientError(err) || i >= RETRY_DELAYS_MS.length) throw err;
      await sleep(RETRY_DELAYS_MS[i]!);
    }
  }
}
