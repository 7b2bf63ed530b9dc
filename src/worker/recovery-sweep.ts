/**
 * The automatic recovery sweep (the source model's auto_recover_failures every 5 minutes), run by every
 * worker on a timer. Concurrent sweeps of many workers share the work through FOR UPDATE SKIP LOCKED in
 * the SQL function, so running it everywhere is safe; operators may instead schedule it with pg_cron and
 * turn it off here (recoverySweepMs: 0).
 */
import type { Queryable } from '../db/database.js';
import { autoRecoverFailures } from '../db/recovery.js';

export const DEFAULT_RECOVERY_SWEEP_MS = 5 * 60_000;

export function startRecoverySweep(
  db: Queryable,
  intervalMs: number,
  events: { onRecovered?: (count: number) => void; onError?: (err: unknown) => void },
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return; // a slow sweep is not stacked on
    running = autoRecoverFailures(db)
      .then((count) => {
        if (count > 0) events.onRecovered?.(count);
      })
      .catch((err: unknown) => events.onError?.(err))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
