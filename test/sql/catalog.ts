/**
 * The catalog of schema aries as text, one entry per object, for comparing two databases: tables with
 * their columns (in order: type, default, not-null), constraints (pg_get_constraintdef), indexes
 * (pg_get_indexdef), functions (pg_get_functiondef: signature, attributes and body), triggers
 * (pg_get_triggerdef), sequences, views, and the rows of the lookup tables the schema itself fills.
 * aries.schema_migrations is migrate's bookkeeping, not part of the schema, and is left out.
 */
import { openDatabase, type OpenedDatabase } from '../../src/db/open-database.js';
import type { Queryable } from '../../src/db/database.js';
import { loadSchemaFiles } from '../../src/db/schema-files.js';
import type { BackendName } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';

export type Catalog = Map<string, string>;

const BOOKKEEPING = 'schema_migrations';
const SEED_TABLES = ['execution_statuses', 'execution_transitions'];

export async function readCatalog(db: Queryable): Promise<Catalog> {
  const catalog: Catalog = new Map();
  const add = (rows: { object: string; definition: string }[]) => rows.forEach((r) => catalog.set(r.object, r.definition));
  add(
    await db.query(
      `SELECT 'table aries.' || c.relname AS object,
              string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                         || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''), E'\\n' ORDER BY a.attnum) AS definition
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
        WHERE n.nspname = 'aries' AND c.relkind IN ('r', 'p') AND c.relname <> $1
        GROUP BY c.relname`,
      [BOOKKEEPING],
    ),
  );
  add(
    await db.query(
      `SELECT 'constraint ' || con.conname || ' on aries.' || c.relname AS object, pg_get_constraintdef(con.oid) AS definition
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'aries' AND c.relname <> $1`,
      [BOOKKEEPING],
    ),
  );
  add(
    await db.query(
      `SELECT 'index aries.' || i.relname AS object, pg_get_indexdef(i.oid) AS definition
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE n.nspname = 'aries' AND t.relname <> $1`,
      [BOOKKEEPING],
    ),
  );
  add(
    await db.query(
      `SELECT 'function aries.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS object,
              pg_get_functiondef(p.oid) AS definition
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'aries' AND p.prokind IN ('f', 'p')`,
    ),
  );
  add(
    await db.query(
      `SELECT 'trigger ' || t.tgname || ' on aries.' || c.relname AS object, pg_get_triggerdef(t.oid) AS definition
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'aries' AND NOT t.tgisinternal`,
    ),
  );
  add(
    await db.query(
      `SELECT 'sequence aries.' || c.relname AS object,
              format('%s start %s increment %s min %s max %s cache %s cycle %s', format_type(s.seqtypid, NULL), s.seqstart,
                     s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle) AS definition
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'aries'`,
    ),
  );
  add(
    await db.query(
      `SELECT 'view aries.' || c.relname AS object, pg_get_viewdef(c.oid) AS definition
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'aries' AND c.relkind IN ('v', 'm')`,
    ),
  );
  for (const table of SEED_TABLES) {
    const [row] = await db.query<{ definition: string | null }>(
      `SELECT string_agg(t::text, E'\\n' ORDER BY t::text) AS definition FROM aries.${table} t`,
    );
    catalog.set(`rows of aries.${table}`, row?.definition ?? '');
  }
  return catalog;
}

export interface CatalogDifference {
  object: string;
  /** Readable: which side lacks it, or the first lines where the two definitions part. */
  detail: string;
}

export function compareCatalogs(a: Catalog, b: Catalog, names: [string, string] = ['A', 'B']): CatalogDifference[] {
  const objects = [...new Set([...a.keys(), ...b.keys()])].sort();
  const differences: CatalogDifference[] = [];
  for (const object of objects) {
    const left = a.get(object);
    const right = b.get(object);
    if (left === right) continue;
    if (left === undefined || right === undefined) {
      differences.push({ object, detail: `${object}: only in ${left === undefined ? names[1] : names[0]}` });
      continue;
    }
    const l = left.split('\n');
    const r = right.split('\n');
    const at = l.findIndex((line, i) => line !== r[i]);
    const from = at === -1 ? l.length : at;
    const show = (lines: string[], sign: string) => lines.slice(from, from + 3).map((line) => `  ${sign} ${line}`);
    differences.push({
      object,
      detail: [`${object} differs from line ${from + 1} (- ${names[0]}, + ${names[1]}):`, ...show(l, '-'), ...show(r, '+')].join('\n'),
    });
  }
  return differences;
}

export const describeDifferences = (differences: CatalogDifference[]): string =>
  differences.length === 0 ? 'the catalogs agree' : differences.map((d) => d.detail).join('\n');

/** A fresh, empty database of a backend (nothing migrated), and how to drop it. */
export async function emptyDatabase(backend: BackendName, label: string): Promise<{ db: OpenedDatabase['db']; close: () => Promise<void> }> {
  if (backend === 'pglite') {
    const opened = await openDatabase({ inMemory: true });
    return { db: opened.db, close: opened.close };
  }
  const created = await createTestDatabase(label);
  const opened = await openDatabase({ databaseUrl: created.url, poolSize: 2 });
  return {
    db: opened.db,
    close: async () => {
      await opened.close();
      await created.drop();
    },
  };
}

/** Builds schema aries from sql/schema, in the order of order.txt, in one transaction. */
export async function loadSchemaInto(db: OpenedDatabase['db']): Promise<void> {
  const files = loadSchemaFiles();
  await db.transaction(async (tx) => {
    for (const file of files) {
      try {
        await tx.exec(file.sql);
      } catch (err) {
        throw new Error(`sql/schema/${file.path}: ${(err as Error).message}`, { cause: err });
      }
    }
  });
}
