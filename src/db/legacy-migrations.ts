/**
 * Databases migrated before the baseline. Until 0001_baseline, the schema was built by four migrations
 * (0001_core, 0002_recovery, 0003_transactions, 0004_operator), and briefly a fifth (0005_step_kinds).
 * 0001_baseline is exactly what the four built, and 0002_step_kinds what the fifth added, so such a
 * database needs no DDL: only its aries.schema_migrations rows are replaced by the baseline's (migrate
 * does it in its transaction, under its lock). The files are gone from the package; they are recognised
 * by their recorded names and checksums (the sha256 of each file as released), kept here.
 *
 * Anything else recorded under those names is refused before anything changes: a database that has only
 * some of the four (an interrupted upgrade of an older release) or whose record names a changed file.
 */
import { MigrationChecksumError, SchemaVersionError } from '../errors.js';

export interface MigrationRow {
  version: number;
  name: string;
  checksum: string;
}

/** The original migrations in order, then the step-kinds one that 0002_step_kinds replaces. */
export const LEGACY_MIGRATIONS: readonly MigrationRow[] = [
  { version: 1, name: 'core', checksum: '3fc9085f2b6de5e9f471b963a3954837a34ca277948d8e4e8926710fe40d4d2a' },
  { version: 2, name: 'recovery', checksum: 'a56b2cbbcc6829ddee80791072cf0873358e3a5bd08af6482b8c3aea0d7e5c5a' },
  { version: 3, name: 'transactions', checksum: '7dd6a3f80f022d29fa8c8b6f9655a21ffe097ccb712288f8c37161fd7f699f31' },
  { version: 4, name: 'operator', checksum: '34f03d716f31f63fee7ff78462f9e633d173dd94fbe915fa691982ea8117d017' },
  { version: 5, name: 'step_kinds', checksum: '88567798f992b9a8400984790afc9a3ce809645cacaef3987b8051775dce75c6' },
];

/** How many legacy migrations the baseline stands for; the one after them maps to the baseline's next. */
const SQUASHED = 4;

const label = (r: { version: number; name: string }) => `${String(r.version).padStart(4, '0')}_${r.name}`;

/** A database whose first recorded migration is 0001_core was migrated by the legacy files. */
export function isLegacy(applied: readonly MigrationRow[]): boolean {
  return applied[0]?.version === 1 && applied[0].name === LEGACY_MIGRATIONS[0]!.name;
}

/**
 * The rows that replace a legacy record, `applied` in version order: the baseline's row (and the
 * step-kinds row, when the legacy one was applied), each with the checksum of the code's own file. Throws
 * MigrationChecksumError for a changed file and SchemaVersionError for an incomplete or unknown record.
 */
export function carriedRows(applied: readonly MigrationRow[], known: readonly MigrationRow[]): MigrationRow[] {
  const recorded = applied.map(label).join(', ');
  applied.forEach((row, i) => {
    const legacy = LEGACY_MIGRATIONS[i];
    if (!legacy || row.version !== legacy.version || row.name !== legacy.name) {
      throw new SchemaVersionError(
        `the database records the migrations ${recorded}, which no Aries release applied in that order ` +
          `(they were ${LEGACY_MIGRATIONS.map(label).join(', ')}); nothing was changed. ` +
          'Restore the database from a backup taken before it was changed by hand, or migrate a new database',
      );
    }
    if (row.checksum !== legacy.checksum) {
      throw new MigrationChecksumError(
        `migration ${label(row)} recorded in this database has checksum ${row.checksum.slice(0, 12)}…, not that of the ` +
          `${label(row)}.sql Aries released (${legacy.checksum.slice(0, 12)}…): it was migrated by a changed copy, so ` +
          'what its schema holds is unknown, and nothing was changed. Migrate with the released files, or, if its schema ' +
          `is known to be exactly the released one, record that with UPDATE aries.schema_migrations SET checksum = ` +
          `'${legacy.checksum}' WHERE version = ${row.version}; and start again`,
      );
    }
  });
  if (applied.length < SQUASHED) {
    throw new SchemaVersionError(
      `the database was migrated by an earlier Aries only to ${label(applied.at(-1)!)} (recorded: ${recorded}), not through ` +
        `all of ${LEGACY_MIGRATIONS.slice(0, SQUASHED).map(label).join(', ')}; this version carries only a database ` +
        'with all four onto its baseline, and nothing was changed. Finish that migration first: run "aries migrate" ' +
        `with the Aries version that applied ${label(applied[0]!)} (it applies the rest), then start this version again`,
    );
  }
  const [baseline, next] = known;
  if (baseline?.name !== 'baseline' || (applied.length > SQUASHED && next?.name !== LEGACY_MIGRATIONS[SQUASHED]!.name)) {
    throw new Error('the code has no baseline migration to carry a legacy database onto');
  }
  return (applied.length > SQUASHED ? [baseline, next!] : [baseline]).map(({ version, name, checksum }) => ({ version, name, checksum }));
}
