/**
 * Where a string occurs anywhere in the aries schema: every table, every row, every column, as text.
 * Used to prove a secret reached no table at all (not only the ones a test thought of).
 */
import type { Database } from '../../src/db/database.js';

/** The aries tables whose rows contain `needle`, with how many rows each (an empty object: none). */
export async function tablesContaining(db: Database, needle: string): Promise<Record<string, number>> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'aries' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const hits: Record<string, number> = {};
  for (const { table_name } of tables) {
    const [row] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM aries.${table_name} t WHERE strpos(t::text, $1) > 0`,
      [needle],
    );
    if (row!.n > 0) hits[table_name] = row!.n;
  }
  return hits;
}
