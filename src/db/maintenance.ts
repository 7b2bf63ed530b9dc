/**
 * The maintenance PGlite lacks (no autovacuum, no background checkpointer): VACUUM (ANALYZE) of the
 * high-churn tables (all that a retention purge deletes from, so the space it frees is reused), then
 * CHECKPOINT. Each is one statement in PGlite's queue, between other queries.
 */
import type { Database } from './database.js';

const TABLES = [
  'aries.executions',
  'aries.steps',
  'aries.journal',
  'aries.checkpoints',
  'aries.failures',
  'aries.waits',
  'aries.signals',
  'aries.retained_idempotency_keys',
];

export async function vacuumAndCheckpoint(db: Database): Promise<void> {
  for (const table of TABLES) await db.exec(`VACUUM (ANALYZE) ${table}`);
  await db.exec('CHECKPOINT');
}
