/**
 * sql/migrations and sql/schema say the same thing: database A is migrated, database B is built from the
 * schema files alone (in the order of sql/schema/order.txt), and their catalogs of schema aries must be
 * equal object by object. A change made in one place only fails here, naming the object.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { loadSchemaFiles } from '../../src/db/schema-files.js';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { compareCatalogs, describeDifferences, emptyDatabase, loadSchemaInto, readCatalog } from './catalog.js';

test('every file under sql/schema is listed once in order.txt, and every listed file exists', () => {
  const files = loadSchemaFiles();
  expect(files.length).toBeGreaterThan(50);
  expect(files[0]!.path).toBe('aries-schema.sql');
  expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
});

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`the migrations and sql/schema agree [${backend}]`, () => {
    let migrated: Awaited<ReturnType<typeof emptyDatabase>> | undefined;
    let loaded: Awaited<ReturnType<typeof emptyDatabase>> | undefined;
    beforeAll(async () => {
      migrated = await emptyDatabase(backend, 'agree_migrated');
      loaded = await emptyDatabase(backend, 'agree_loaded');
      await migrate(migrated.db);
      await loadSchemaInto(loaded.db);
    });
    afterAll(async () => {
      await migrated?.close();
      await loaded?.close();
    });

    test('a migrated database and one built from sql/schema have the same catalog of schema aries', async () => {
      const a = await readCatalog(migrated!.db);
      const b = await readCatalog(loaded!.db);
      expect(a.size).toBeGreaterThan(100);
      const differences = compareCatalogs(a, b, ['migrations', 'sql/schema']);
      expect(differences, describeDifferences(differences)).toEqual([]);
    });

    test('the comparison names exactly the one function that differs', async () => {
      const a = await readCatalog(migrated!.db);
      const marker = new Error('roll back');
      let differences: ReturnType<typeof compareCatalogs> = [];
      // Altered inside a transaction that is rolled back, so B is left as the schema files built it.
      await loaded!.db
        .transaction(async (tx) => {
          await tx.exec(`CREATE OR REPLACE FUNCTION aries.step_frontier(p_execution_id uuid) RETURNS integer
            LANGUAGE sql STABLE SET search_path = '' AS $$ SELECT -1 $$`);
          differences = compareCatalogs(a, await readCatalog(tx), ['migrations', 'sql/schema']);
          throw marker;
        })
        .catch((err: unknown) => {
          if (err !== marker) throw err;
        });
      expect(differences.map((d) => d.object)).toEqual(['function aries.step_frontier(p_execution_id uuid)']);
      expect(differences[0]!.detail).toContain('SELECT -1');
      expect(compareCatalogs(a, await readCatalog(loaded!.db))).toEqual([]);
    });

    test('the comparison names a column whose default differs, and a constraint only one side has', async () => {
      const a = await readCatalog(migrated!.db);
      const marker = new Error('roll back');
      let differences: ReturnType<typeof compareCatalogs> = [];
      await loaded!.db
        .transaction(async (tx) => {
          await tx.exec(`ALTER TABLE aries.steps ALTER COLUMN kind SET DEFAULT 'transaction';
                         ALTER TABLE aries.steps ADD CONSTRAINT steps_extra_check CHECK (attempt < 1000)`);
          differences = compareCatalogs(a, await readCatalog(tx), ['migrations', 'sql/schema']);
          throw marker;
        })
        .catch((err: unknown) => {
          if (err !== marker) throw err;
        });
      expect(differences.map((d) => d.object)).toEqual(['constraint steps_extra_check on aries.steps', 'table aries.steps']);
      expect(differences[0]!.detail).toContain('only in sql/schema');
      expect(differences[1]!.detail).toContain("kind text NOT NULL DEFAULT 'transaction'::text");
    });
  });
}
