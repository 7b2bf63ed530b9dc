/**
 * The start-up check the ACID document asks for: a server running with fsync or full_page_writes off
 * can lose committed work (or corrupt pages) on a crash, whatever durability class a workflow declares.
 */
import type { Queryable } from './database.js';

export async function durabilityWarnings(db: Queryable): Promise<string[]> {
  const [s] = await db.query<{ fsync: string; full_page_writes: string }>('SELECT * FROM aries.durability_settings()');
  const warnings: string[] = [];
  if (s?.fsync === 'off') {
    warnings.push('the PostgreSQL server runs with fsync=off: a crash of its machine can lose committed steps, whatever the workflows\' durability');
  }
  if (s?.full_page_writes === 'off') {
    warnings.push('the PostgreSQL server runs with full_page_writes=off: a crash during a page write can corrupt data');
  }
  return warnings;
}
