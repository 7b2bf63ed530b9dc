/**
 * SQLSTATE 42501 (insufficient_privilege) on both backends: the read-only role of `aries roles` (on PGlite
 * taken with SET ROLE on the engine's one connection; on the server by logging in as it) is refused a
 * write, which the SDK throws as PermissionDeniedError and the HTTP API answers 403 PERMISSION_DENIED with
 * the database's words and no connection details, instead of a 500.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rolesSql } from '../../src/db/roles-sql.js';
import { createEngine, PermissionDeniedError, type Engine } from '../../src/index.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { TOKEN } from '../helpers/openapi-schema.js';

describeBackends('permission denied', (b) => {
  const tag = randomBytes(4).toString('hex');
  const names = { owner: `aries_o_${tag}`, runtime: `aries_rt_${tag}`, readonly: `aries_ro_${tag}` };
  let readonly: Engine;
  let server: ApiServer;
  let id: string;

  beforeAll(async () => {
    await b.engine.db.query(`SELECT aries.register_workflow(p_name => 'denied', p_version => '1')`);
    id = (await b.engine.start('denied', {})).id;
    await b.engine.db.exec(rolesSql(names));
    if (b.name === 'pglite') {
      await b.engine.db.exec(`SET ROLE ${names.readonly}`);
      readonly = b.engine;
    } else {
      const url = new URL(b.connection.databaseUrl!);
      url.username = names.readonly;
      readonly = await createEngine({ databaseUrl: url.toString(), onError: () => {} });
    }
    server = await startApiServer({ engine: readonly, port: 0, token: TOKEN, dashboardDir: false });
  });
  afterAll(async () => {
    await server?.close();
    if (b.name === 'pglite') {
      await b.engine.db.exec('RESET ROLE');
    } else {
      await readonly?.close();
      for (const role of Object.values(names)) await b.engine.db.exec(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
    }
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  test('the read-only role reads an execution, and a write it may not do is PermissionDeniedError in the SDK', async () => {
    expect((await readonly.admin.readExecution(id))?.status).toBe('PENDING');
    const err = await readonly.admin.cancel(id, 'no').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as PermissionDeniedError).code).toBe('PERMISSION_DENIED');
    expect((err as Error).message).toMatch(/^the database role Aries connects as may not do this \(permission denied for table [a-z_]+\)/);
  });

  test('the API answers a refused privilege with 403 PERMISSION_DENIED naming what was refused, not 500', async () => {
    expect((await call('GET', `/api/executions/${id}`)).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/api/executions'],
      ['POST', `/api/executions/${id}/cancel`],
      ['POST', `/api/executions/${id}/purge`],
      ['POST', `/api/executions/${id}/signals`],
    ] as const) {
      const body = path === '/api/executions' ? { workflow: 'denied' } : path.endsWith('signals') ? { name: 'go' } : {};
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).toBe(403);
      expect(res.json.error.code).toBe('PERMISSION_DENIED');
      expect(res.json.error.message).toMatch(/permission denied for (table|function|sequence) [a-z_]+/);
      expect(res.json.error.message).not.toMatch(/127\.0\.0\.1|postgres:\/\//);
    }
    expect((await readonly.admin.readExecution(id))?.status).toBe('PENDING');
  });
});
