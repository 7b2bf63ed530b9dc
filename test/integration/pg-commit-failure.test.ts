/**
 * A COMMIT that fails (a deferred constraint, a serialization failure at commit) has already ended the
 * transaction: the node-postgres adapter must not send a ROLLBACK after it, which the server answers with
 * "WARNING: there is no transaction in progress" in its log and to the client. The connection stays
 * usable. PostgreSQL server only: the adapter under test is the server's (PGlite runs its transactions
 * inside its own process through another adapter).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { PgDatabase } from '../../src/db/pg-database.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';

describe.skipIf(!serverEnabled())('a failed COMMIT on the PostgreSQL server adapter [postgres]', () => {
  let db: PgDatabase;
  let drop: () => Promise<void>;
  const notices: string[] = [];
  beforeAll(async () => {
    const created = await createTestDatabase('commit-failure');
    drop = created.drop;
    db = await PgDatabase.connect({ url: created.url, poolSize: 1 });
    const pool = (db as unknown as { pool: pg.Pool }).pool;
    pool.on('connect', (client) => client.on('notice', (n) => notices.push(`${n.severity ?? ''} ${n.message}`)));
    // the one pooled client was made before the listener: make the pool open a new one
    await pool.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => {});
    await db.exec(`CREATE TABLE parent (id int PRIMARY KEY);
      CREATE TABLE child (parent_id int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  test('the error of the COMMIT is thrown, no ROLLBACK follows it, and the connection is reused', async () => {
    const err = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO child VALUES (42)'); // checked only at COMMIT
    }).catch((e: unknown) => e as { code?: string });
    expect((err as { code?: string }).code).toBe('23503');
    const [after] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM child');
    expect(after!.n).toBe(0);
    expect(notices.filter((n) => /no transaction in progress/.test(n))).toEqual([]);
    // a statement that fails inside the transaction is still rolled back the usual way
    await expect(db.transaction(async (tx) => tx.query('SELECT 1/0'))).rejects.toMatchObject({ code: '22012' });
    await db.transaction(async (tx) => tx.query('INSERT INTO parent VALUES (1)'));
    expect(await db.query('SELECT id FROM parent')).toEqual([{ id: 1 }]);
    expect(notices).toEqual([]);
  });
});
