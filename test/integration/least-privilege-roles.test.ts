/**
 * The roles of `aries roles` on a PostgreSQL server (PGlite has one user): created in this test's own
 * database under names unique to the run (dropped after), the schema migrated as the owner, a real worker
 * and the HTTP API running as the runtime role (steps, a retry, a compensation, a signal wait, a child,
 * retention and purge through their SECURITY DEFINER functions), the dashboard's reads as the read-only
 * role; what each role may not do is refused with 42501, which the API answers 403 PERMISSION_DENIED.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rolesSql } from '../../src/db/roles-sql.js';
import { createEngine, defineQueue, defineWorkflow, PermissionDeniedError, type Engine } from '../../src/index.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { serverEnabled } from '../helpers/backends.js';
import { TOKEN } from '../helpers/openapi-schema.js';
import { purgeChild, purgeOrder, tablesMentioning } from '../helpers/purge-workflows.js';
import { ADMIN_URL, createTestDatabase } from '../helpers/server.js';
import { sqlError } from '../helpers/sql.js';

const block = serverEnabled() ? describe : describe.skip;

const rolesQueue = defineQueue('roles-queue', { concurrency: 1, keyConcurrency: 1 });
const queued = defineWorkflow('roles-queued', { queue: rolesQueue }, async (ctx, input: { n: number }) => ctx.step('double', () => input.n * 2));

block('least-privilege roles [postgres]', () => {
  const tag = randomBytes(4).toString('hex');
  const names = { owner: `aries_owner_${tag}`, runtime: `aries_runtime_${tag}`, readonly: `aries_readonly_${tag}` };
  let database: { url: string; drop: () => Promise<void> };
  let runtime: Engine;
  let readonly: Engine;
  let runtimeApi: ApiServer;
  let readonlyApi: ApiServer;
  const as = (role: string) => {
    const u = new URL(database.url);
    u.username = role;
    return u.toString();
  };
  /** Runs SQL as the admin (superuser) of the test server, in the test's database. */
  const asAdmin = async (sql: string) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase('roles');
    await asAdmin(rolesSql(names));
    const owner = await createEngine({ databaseUrl: as(names.owner), onError: () => {} });
    await owner.close();
    await asAdmin(rolesSql(names)); // again after the migration: narrows the journal and the audit table
    runtime = await createEngine({ databaseUrl: as(names.runtime), onError: () => {} });
    readonly = await createEngine({ databaseUrl: as(names.readonly), onError: () => {} });
    runtimeApi = await startApiServer({ engine: runtime, port: 0, token: TOKEN, dashboardDir: false });
    readonlyApi = await startApiServer({ engine: readonly, port: 0, token: TOKEN, dashboardDir: false });
  });
  afterAll(async () => {
    await runtimeApi?.close();
    await readonlyApi?.close();
    await runtime?.close();
    await readonly?.close();
    await database?.drop();
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      for (const role of Object.values(names)) await client.query(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await client.end();
    }
  });

  async function call(server: ApiServer, method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  async function untilStatus(engine: Engine, id: string, status: string) {
    for (let i = 0; (await engine.admin.readExecution(id))?.status !== status; i++) {
      if (i > 1500) throw new Error(`execution ${id} never became ${status}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  test('the schema and everything in it belong to the owner; the runtime and read-only roles own nothing and have no DELETE', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const owners = await client.query<{ owner: string; n: number }>(
        `SELECT pg_get_userbyid(c.relowner) AS owner, count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'aries' GROUP BY 1`,
      );
      expect(owners.rows.map((r) => r.owner)).toEqual([names.owner]);
      const deletes = await client.query(
        `SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
          WHERE table_schema = 'aries' AND grantee IN ($1, $2) AND privilege_type IN ('DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')`,
        [names.runtime, names.readonly],
      );
      expect(deletes.rows).toEqual([]);
    } finally {
      await client.end();
    }
  });

  test('a worker and the API as the runtime role run workflows with steps, a retry, a signal, a child, a compensation and a queue; purge, retention and schedules run', async () => {
    const worker = runtime.worker({ workflows: [purgeOrder, purgeChild, queued], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await worker.start();
    try {
      const started = await call(runtimeApi, 'POST', '/api/executions', { workflow: 'purge-order', input: { secret: 'api-secret' } });
      expect(started.status).toBe(201);
      const id = started.json.id as string;
      await untilStatus(runtime, id, 'WAITING');
      expect((await call(runtimeApi, 'POST', `/api/executions/${id}/signals`, { name: 'confirm', payload: 'yes' })).status).toBe(201);
      await untilStatus(runtime, id, 'COMPLETED');
      const detail = await call(runtimeApi, 'GET', `/api/executions/${id}`);
      expect(detail.status).toBe(200);
      expect(detail.json.execution.output).toEqual({ confirmed: 'yes', length: 'api-secret'.length });
      expect(detail.json.failures.length).toBeGreaterThanOrEqual(1); // the retried attempt

      const failing = await runtime.start(purgeOrder, { secret: 'undo-me', fail: true });
      await untilStatus(runtime, failing.id, 'WAITING');
      await runtime.signal(failing.id, 'confirm', 'yes');
      await untilStatus(runtime, failing.id, 'COMPENSATED');

      const purged = await call(runtimeApi, 'POST', `/api/executions/${id}/purge`, { by: 'dana', reason: 'test' });
      expect(purged.status).toBe(200);
      expect(purged.json).toMatchObject({ executionId: id, purgedBy: 'dana', databaseUser: names.runtime });
      expect(await tablesMentioning(runtime.db, 'api-secret')).toEqual({});
      expect(await runtime.admin.purge(failing.id, { by: 'dana' })).toMatchObject({ status: 'COMPENSATED' });

      const handles = await Promise.all([1, 2, 3].map((n) => runtime.start(queued, { n }, { queueKey: 'k' })));
      expect(await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })))).toEqual([2, 4, 6]);
      await runtime.admin.setQueue('roles-queue', { concurrency: 2 });

      await runtime.admin.setRetention({ finishedMs: 1 });
      expect(await runtime.admin.purgeFinished()).toMatchObject({ executions: expect.any(Number) });
      await runtime.admin.clearRetention();
      // The built-in schedules run their SQL actions (retention, the recovery sweep) as the runtime role.
      for (const name of ['aries.retention', 'aries.auto-recover']) {
        expect((await runtime.admin.triggerSchedule(name)).actionResult).toEqual(expect.any(Number));
      }
      await runtime.schedule('roles-nightly', { cron: '0 3 * * *', workflow: 'roles-queued', input: { n: 1 } });
      await runtime.admin.deleteSchedule('roles-nightly');
      await runtime.admin.cancel((await runtime.start(purgeOrder, { secret: 'cancel-me' })).id);
    } finally {
      await worker.stop();
    }
  });

  test('the runtime role may not delete, change the journal, forge an audit record or change the schema', async () => {
    const [row] = await runtime.db.query<{ id: string }>('SELECT id FROM aries.executions LIMIT 1');
    for (const sql of [
      `DELETE FROM aries.executions WHERE id = '${row!.id}'`,
      'DELETE FROM aries.journal',
      'UPDATE aries.journal SET kind = kind',
      `INSERT INTO aries.purges (execution_id, workflow_name, workflow_version, status, purged_by, database_user, executions, steps, journal_records, checkpoints, failures, signals, waits)
       VALUES (gen_random_uuid(), 'x', '1', 'COMPLETED', 'forger', 'forger', 1, 0, 0, 0, 0, 0, 0)`,
      'UPDATE aries.purges SET purged_by = purged_by',
      'CREATE TABLE aries.extra (id int)',
      'ALTER TABLE aries.executions ADD COLUMN extra int',
      'DROP FUNCTION aries.purge_execution(uuid, text, text)',
    ]) {
      expect((await sqlError(runtime.db.query(sql))).code, sql).toBe('42501');
    }
  });

  test('the read-only role reads what the dashboard shows; its writes are refused: PermissionDeniedError from the SDK, 403 PERMISSION_DENIED from the API', async () => {
    const page = await readonly.admin.listExecutions({});
    expect(page.executions.length).toBeGreaterThan(0);
    const one = page.executions[0]!;
    expect((await readonly.admin.getExecution(one.id))?.execution.id).toBe(one.id);
    for (const path of ['/api/executions', `/api/executions/${one.id}`, `/api/executions/${one.id}/journal`, '/api/failures', '/api/queues', '/api/schedules', '/api/retention', '/api/purges']) {
      const res = await call(readonlyApi, 'GET', path);
      expect(res.status, `${path}: ${JSON.stringify(res.json)}`).toBe(200);
    }

    await expect(readonly.start('purge-order', { secret: 'no' })).rejects.toThrow(PermissionDeniedError);
    const start = await call(readonlyApi, 'POST', '/api/executions', { workflow: 'purge-order', input: { secret: 'no' } });
    expect(start.status).toBe(403);
    expect(start.json.error.code).toBe('PERMISSION_DENIED');
    expect(start.json.error.message).toMatch(/^the database role Aries connects as may not do this \(permission denied for [a-z]+ [a-z_]+\)/);
    expect(start.json.error.message).not.toContain(names.readonly);
    expect(start.json.error.message).not.toContain('127.0.0.1');

    const purge = await call(readonlyApi, 'POST', `/api/executions/${one.id}/purge`, { by: 'eve' });
    expect(purge.status).toBe(403);
    expect(purge.json.error).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(purge.json.error.message).toContain('permission denied for function purge_execution');
    expect(await readonly.admin.readExecution(one.id)).toBeDefined();
    expect((await sqlError(readonly.db.query('UPDATE aries.executions SET priority = 1'))).code).toBe('42501');
  });
});
