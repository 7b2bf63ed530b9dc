/**
 * PGlite runs no autovacuum and no background checkpointer, so the engine that holds an embedded
 * instance does their work on a timer (src/db/maintenance.ts), one run at a time.
 */
import type { Database } from '../db/database.js';
import { vacuumAndCheckpoint } from '../db/maintenance.js';

export const runEmbeddedMaintenance = vacuumAndCheckpoint;

export function startEmbeddedMaintenance(
  db: Database,
  intervalMs: number,
  onError: (err: unknown, context: string) => void,
): (() => void) | undefined {
  if (intervalMs <= 0) return undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    runEmbeddedMaintenance(db)
      .catch((err) => onError(err, 'embedded maintenance'))
      .finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
