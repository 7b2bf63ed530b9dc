/**
 * Forward-only migrations from sql/migrations/NNNN_name.sql. They are applied in one transaction under
 * an advisory lock (so concurrent workers starting together migrate once), each recorded with a
 * checksum; an applied migration whose file changed, or a database migrated by newer code, is refused.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MigrationChecksumError, SchemaVersionError } from '../errors.js';
import type { Database, Queryable } from './database.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  schemaVersion: number;
}

// Resolved from this module so it works from src/ (tests) and dist/ (the package) alike.
const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/migrations/', import.meta.url));
const MIGRATE_LOCK_KEY = 0x41524945; // "ARIE"

let cached: Migration[] | undefined;

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  if (cached && dir === MIGRATIONS_DIR) return cached;
  const migrations = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.version}_${m.name} is out of sequence (expected ${i + 1})`);
  });
  if (dir === MIGRATIONS_DIR) cached = migrations;
  return migrations;
}

export const CODE_SCHEMA_VERSION = (): number => loadMigrations().length;

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function readApplied(q: Queryable): Promise<AppliedRow[] | undefined> {
  const [exists] = await q.query<{ present: boolean }>(
    "SELECT to_regclass('aries.schema_migrations') IS NOT NULL AS present",
  );
  if (!exists?.present) return undefined;
  return q.query<AppliedRow>('SELECT version, name, checksum FROM aries.schema_migrations ORDER BY version');
}

function verify(applied: AppliedRow[], known: Migration[]): void {
  const newest = applied.at(-1)?.version ?? 0;
  if (newest > known.length) {
    throw new SchemaVersionError(
      `the database schema is at version ${newest}, newer than this code (version ${known.length}); ` +
        'upgrade Aries before running it against this database',
    );
  }
  for (const row of applied) {
    const m = known[row.version - 1];
    if (!m || m.checksum !== row.checksum) {
      throw new MigrationChecksumError(
        `migration ${row.version}_${row.name} was changed after it was applied ` +
          `(recorded checksum ${row.checksum.slice(0, 12)}…, file ${m ? m.checksum.slice(0, 12) + '…' : 'missing'}); ` +
          'migrations are forward-only: add a new one instead',
      );
    }
  }
}

/** The schema version recorded in the database (0 when it was never migrated), checked against the code. */
export async function checkSchema(db: Queryable): Promise<{ schemaVersion: number; pending: number }> {
  const known = loadMigrations();
  const applied = (await readApplied(db)) ?? [];
  verify(applied, known);
  return { schemaVersion: applied.length, pending: known.length - applied.length };
}

export async function migrate(
  db: Database,
  onProgress?: (m: Migration, index: number, total: number) => void,
): Promise<MigrationResult> {
  const known = loadMigrations();
  // Fast path: nothing to do needs no lock and no transaction.
  const current = await checkSchema(db);
  if (current.pending === 0) return { applied: [], schemaVersion: current.schemaVersion };

  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK_KEY]);
    await tx.query('CREATE SCHEMA IF NOT EXISTS aries');
    await tx.query(`CREATE TABLE IF NOT EXISTS aries.schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = (await readApplied(tx)) ?? [];
    verify(applied, known);
    const pending = known.slice(applied.length);
    for (const [i, m] of pending.entries()) {
      onProgress?.(m, i, pending.length);
      await tx.exec(m.sql);
      await tx.query('INSERT INTO aries.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
    }
    return { applied: pending, schemaVersion: known.length };
  });
}
