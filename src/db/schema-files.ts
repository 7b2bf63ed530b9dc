/**
 * sql/schema/<subject>/<object>.sql: each table (with its indexes and constraints), function, trigger and
 * sequence of schema aries as it is now, one file each. The migrations are what databases run; these files
 * are what a reader opens, and test/sql/schema-agreement.test.ts proves that loading them builds the same
 * catalog as migrating. The load order is explicit, in sql/schema/order.txt (one path a line, '#' starts
 * a comment): objects depend on one another, which no file-name sort would follow. Every .sql file under
 * sql/schema must be listed there exactly once, and every listed file must exist.
 *
 * Not shipped in the package (it needs only sql/migrations): this is for tests and tools run from the
 * repository.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SchemaFile {
  /** Relative to sql/schema, e.g. "steps/record-steps.sql". */
  path: string;
  sql: string;
}

const SCHEMA_DIR = fileURLToPath(new URL('../../sql/schema/', import.meta.url));

function sqlFilesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const rel = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(join(dir, entry)).isDirectory()) return sqlFilesUnder(join(dir, entry), rel);
    return entry.endsWith('.sql') ? [rel] : [];
  });
}

/** The schema files in load order; throws when order.txt and the files on disk disagree. */
export function loadSchemaFiles(dir = SCHEMA_DIR): SchemaFile[] {
  const order = readFileSync(join(dir, 'order.txt'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
  const onDisk = new Set(sqlFilesUnder(dir));
  const seen = new Set<string>();
  for (const path of order) {
    if (seen.has(path)) throw new Error(`sql/schema/order.txt lists ${path} twice`);
    if (!onDisk.has(path)) throw new Error(`sql/schema/order.txt lists ${path}, which does not exist`);
    seen.add(path);
  }
  const unlisted = [...onDisk].filter((path) => !seen.has(path)).sort();
  if (unlisted.length > 0) {
    throw new Error(`sql/schema/order.txt does not list ${unlisted.join(', ')}: add each where its dependencies allow`);
  }
  return order.map((path) => ({ path, sql: readFileSync(join(dir, path), 'utf8') }));
}
