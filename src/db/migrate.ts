/**
 * Forward-only migrations from sql/migrations/NNNN_name.sql. They are applied in one transaction under
 * an advisory lock (so concurrent workers starting together migrate once), each recorded with a
 * checksum; an applied migration whose file changed, or a database migrated by newer code, is refused.
 * A database built by the migrations the baseline replaced is carried onto it in that same transaction
 * (legacy-migrations.ts), or refused before anything changes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MigrationChecksumError, SchemaVersionError } from '../errors.js';
import type { Database, Queryable } from './database.js';
import { carriedRows, isLegacy, type MigrationRow } from './legacy-migrations.js';

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
  // Numbers increase but may skip one (a branch's migration numbered after ones still unmerged); a
  // database must have applied exactly the first files in this order (verify), so a gap filled later is refused.
  migrations.forEach((m, i) => {
    const previous = i === 0 ? 0 : migrations[i - 1]!.version;
    if (m.version <= previous) throw new Error(`migration ${m.version}_${m.name} is out of sequence (after ${previous})`);
  });
  if (dir === MIGRATIONS_DIR) cached = migrations;
  return migrations;
}

export const CODE_SCHEMA_VERSION = (): number => loadMigrations().at(-1)?.version ?? 0;

type AppliedRow = MigrationRow;

async function readApplied(q: Queryable): Promise<AppliedRow[] | undefined> {
  const [exists] = await q.query<{ present: boolean }>(
    "SELECT to_regclass('aries.schema_migrations') IS NOT NULL AS present",
  );
  if (!exists?.present) return undefined;
  return q.query<AppliedRow>('SELECT version, name, checksum FROM aries.schema_migrations ORDER BY version');
}

function verify(applied: AppliedRow[], known: Migration[]): void {
  const newest = applied.at(-1)?.version ?? 0;
  const codeVersion = known.at(-1)?.version ?? 0;
  if (newest > codeVersion) {
    throw new SchemaVersionError(
      `the database schema is at version ${newest}, newer than this code (version ${codeVersion}); ` +
        'upgrade Aries before running it against this database',
    );
  }
  for (const [i, row] of applied.entries()) {
    const m = known[i]?.version === row.version ? known[i] : undefined;
    if (!m || m.checksum !== row.checksum) {
      throw new MigrationChecksumError(
        `migration ${row.version}_${row.name} was changed after it was applied ` +
          `(recorded checksum ${row.checksum.slice(0, 12)}…, file ${m ? m.checksum.slice(0, 12) + '…' : 'missing'}); ` +
          'migrations are forward-only: add a new one instead',
      );
    }
  }
}

/**
 * The schema version recorded in the database (0 when it was never migrated), checked against the code.
 * A legacy record counts as the baseline rows it will be carried onto (`legacy`: it still has to be).
 */
export async function checkSchema(db: Queryable): Promise<{ schemaVersion: number; pending: number; legacy: boolean }> {
  const known = loadMigrations();
  const recorded = (await readApplied(db)) ?? [];
  const legacy = isLegacy(recorded);
  const applied = legacy ? carriedRows(recorded, known) : recorded;
  verify(applied, known);
  return { schemaVersion: applied.at(-1)?.version ?? 0, pending: known.length - applied.length, legacy };
}

export async function migrate(
  db: Database,
  onProgress?: (m: Migration, index: number, total: number) => void,
): Promise<MigrationResult> {
  const known = loadMigrations();
  // Fast path: nothing to do needs no lock and no transaction.
  const current = await checkSchema(db);
  if (current.pending === 0 && !current.legacy) return { applied: [], schemaVersion: current.schemaVersion };

  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK_KEY]);
    await tx.query('CREATE SCHEMA IF NOT EXISTS aries');
    await tx.query(`CREATE TABLE IF NOT EXISTS aries.schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    let applied = (await readApplied(tx)) ?? [];
    if (isLegacy(applied)) {
      // Only the record changes: the catalog the legacy files built is the baseline's. Each new row keeps
      // when its schema was reached (the last legacy row it stands for).
      const carried = carriedRows(applied, known);
      const reachedAt = await tx.query<{ applied_at: unknown }>(
        'SELECT applied_at FROM aries.schema_migrations WHERE version IN (4, 5) ORDER BY version',
      );
      await tx.query('DELETE FROM aries.schema_migrations');
      for (const [i, row] of carried.entries()) {
        await tx.query('INSERT INTO aries.schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)', [
          row.version,
          row.name,
          row.checksum,
          reachedAt[i]!.applied_at,
        ]);
      }
      applied = carried;
    }
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
    return { applied: pending, schemaVersion: known.at(-1)?.version ?? 0 };
  });
}
