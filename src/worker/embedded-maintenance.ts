/**
 * PGlite runs no autovacuum and no background checkpointer, so the engine that holds an embedded
 * instance does their work: VACUUM (ANALYZE) of the high-churn tables, then CHECKPOINT, on a timer.
 * Each runs as one statement in PGlite's queue, between other queries.
 */
import type { Database } from '../db/database.js';

const TABLES = ['aries.executions', 'aries.steps', 'aries.journal', 'aries.checkpoints', 'aries.failures'];

export async function runEmbeddedMaintenance(db: Database): Promise<void> {
  for (const table of TABLES) await db.exec(`VACUUM (ANALYZE) ${table}`);
  await db.exec('CHECKPOINT');
}

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
