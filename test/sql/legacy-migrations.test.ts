/**
 * A database built by the migrations the baseline replaced (their files are kept in
 * test/fixtures/legacy-migrations for this test only) is carried onto the baseline by migrate, with its
 * data, into the catalog a fresh migration builds; one that has only some of them, or a changed one, is
 * refused and left as it was.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { LEGACY_MIGRATIONS } from '../../src/db/legacy-migrations.js';
import { checkSchema, loadMigrations, migrate } from '../../src/db/migrate.js';
import { MigrationChecksumError, SchemaVersionError } from '../../src/errors.js';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { compareCatalogs, describeDifferences, emptyDatabase, readCatalog } from './catalog.js';

const LEGACY_DIR = fileURLToPath(new URL('../fixtures/legacy-migrations/', import.meta.url));
const legacyFiles = loadMigrations(LEGACY_DIR);

/** Migrates as Aries did before the baseline: the first `count` legacy files, each recorded. */
async function legacyMigrate(db: Database, count: number, tamper?: number): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.exec(`CREATE SCHEMA IF NOT EXISTS aries;
      CREATE TABLE aries.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                                            applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const m of legacyFiles.slice(0, count)) {
      await tx.exec(m.sql);
      const checksum = m.version === tamper ? createHash('sha256').update(`${m.sql}-- edited\n`).digest('hex') : m.checksum;
      await tx.query('INSERT INTO aries.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, checksum]);
    }
  });
}

const recorded = (db: Database) =>
  db.query<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM aries.schema_migrations ORDER BY version');

test('the legacy checksums the code recognises are those of the released files', () => {
  expect(legacyFiles.map(({ version, name, checksum }) => ({ version, name, checksum }))).toEqual(LEGACY_MIGRATIONS);
});

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`a database migrated before the baseline [${backend}]`, () => {
    const open: Array<{ close: () => Promise<void> }> = [];
    const fresh = async (label: string) => {
      const d = await emptyDatabase(backend, label);
      open.push(d);
      return d.db;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((d) => d.close()));
    });

    test('is carried onto the baseline with its executions and steps intact, into the catalog of a fresh migration', async () => {
      const db = await fresh('legacy_full');
      await legacyMigrate(db, 4);
      // An execution with a completed step and a started one, written by the legacy functions.
      await db.query(`SELECT aries.register_workflow('wf', '1')`);
      const [{ execution_id: id } = { execution_id: '' }] = await db.query<{ execution_id: string }>(
        `SELECT * FROM aries.start_execution(p_workflow => 'wf', p_version => '1', p_input => '{"n": 1}'::jsonb)`,
      );
      const [claimed] = await db.query<{ lease_token: number }>(
        `SELECT * FROM aries.claim_executions(p_worker => 'w', p_workflow_keys => ARRAY['wf@1'], p_limit => 1, p_lease_ms => 60000)`,
      );
      const token = Number(claimed!.lease_token);
      await db.query('SELECT aries.begin_step($1, $2, 0, $3)', [id, token, 'a']);
      await db.query(`SELECT aries.complete_step($1, $2, 0, 'a', 1, '{"out": 1}'::jsonb, true)`, [id, token]);
      await db.query('SELECT aries.begin_step($1, $2, 1, $3)', [id, token, 'b']);
      const journalBefore = await db.query('SELECT lsn, kind, checksum FROM aries.journal ORDER BY lsn');

      const known = loadMigrations();
      expect(await checkSchema(db)).toEqual({ schemaVersion: 1, pending: known.length - 1, legacy: true });
      const result = await migrate(db);
      // step_kinds, then every migration after it
      expect(result.applied.map((m) => m.name)).toEqual(known.slice(1).map((m) => m.name));
      expect(result.applied[0]!.name).toBe('step_kinds');
      expect(await recorded(db)).toEqual(known.map(({ version, name, checksum }) => ({ version, name, checksum })));
      expect(await checkSchema(db)).toEqual({ schemaVersion: known.at(-1)!.version, pending: 0, legacy: false });

      expect(await db.query('SELECT lsn, kind, checksum FROM aries.journal ORDER BY lsn')).toEqual(journalBefore);
      const journal = await db.query<{ checksum_ok: boolean }>('SELECT checksum_ok FROM aries.read_journal(p_execution_id => $1)', [id]);
      expect(journal.every((r) => r.checksum_ok)).toBe(true);
      const steps = await db.query('SELECT step_key, kind, status, attempt, output, record_ok FROM aries.read_step_records($1, 0, 10)', [id]);
      expect(steps).toEqual([
        { step_key: 'a', kind: 'step', status: 'COMPLETED', attempt: 1, output: { out: 1 }, record_ok: true },
        { step_key: 'b', kind: 'step', status: 'RUNNING', attempt: 1, output: null, record_ok: false },
      ]);
      // The execution goes on under the new functions.
      await db.query(`SELECT aries.complete_step($1, $2, 1, 'b', 1, '2'::jsonb)`, [id, token]);
      await db.query(`SELECT aries.complete_execution($1, $2, '"done"'::jsonb)`, [id, token]);

      const reference = await fresh('legacy_reference');
      await migrate(reference);
      const differences = compareCatalogs(await readCatalog(db), await readCatalog(reference), ['carried', 'fresh']);
      expect(differences, describeDifferences(differences)).toEqual([]);
    });

    test('is carried with its step-kinds migration, which is then not applied again', async () => {
      const db = await fresh('legacy_kinds');
      await legacyMigrate(db, 5);
      const result = await migrate(db);
      const known = loadMigrations();
      // the migrations after step_kinds, and not step_kinds again
      expect(result).toEqual({ applied: known.slice(2).map((m) => expect.objectContaining({ name: m.name })), schemaVersion: known.at(-1)!.version });
      expect((await recorded(db)).map((r) => `${r.version} ${r.name}`)).toEqual(known.map((m) => `${m.version} ${m.name}`));
      expect((await recorded(db)).slice(0, 2).map((r) => `${r.version} ${r.name}`)).toEqual(['1 baseline', '2 step_kinds']);
      const reference = await fresh('legacy_kinds_ref');
      await migrate(reference);
      const differences = compareCatalogs(await readCatalog(db), await readCatalog(reference), ['carried', 'fresh']);
      expect(differences, describeDifferences(differences)).toEqual([]);
    });

    test('with only some of the original migrations is refused with what to do, and left unchanged', async () => {
      const db = await fresh('legacy_partial');
      await legacyMigrate(db, 2);
      const before = await recorded(db);
      const err = await migrate(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SchemaVersionError);
      expect((err as Error).message).toBe(
        'the database was migrated by an earlier Aries only to 0002_recovery (recorded: 0001_core, 0002_recovery), not ' +
          'through all of 0001_core, 0002_recovery, 0003_transactions, 0004_operator; this version carries only a database ' +
          'with all four onto its baseline, and nothing was changed. Finish that migration first: run "aries migrate" with ' +
          'the Aries version that applied 0001_core (it applies the rest), then start this version again',
      );
      expect(await recorded(db)).toEqual(before);
      const [fn] = await db.query<{ present: boolean }>(
        `SELECT to_regprocedure('aries.durability_rank(text)') IS NOT NULL AS present`,
      );
      expect(fn!.present).toBe(false);
    });

    test('whose record names a changed original file is refused with what to do, and left unchanged', async () => {
      const db = await fresh('legacy_changed');
      await legacyMigrate(db, 4, 3);
      const before = await recorded(db);
      const err = await migrate(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MigrationChecksumError);
      expect((err as Error).message).toContain('migration 0003_transactions recorded in this database has checksum');
      expect((err as Error).message).toContain(
        `UPDATE aries.schema_migrations SET checksum = '${LEGACY_MIGRATIONS[2]!.checksum}' WHERE version = 3;`,
      );
      expect(await recorded(db)).toEqual(before);
      await expect(checkSchema(db)).rejects.toBeInstanceOf(MigrationChecksumError);
    });
  });
}
