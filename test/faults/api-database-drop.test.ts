import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The API while its database connection drops and the server is unreachable: each call answers at once
 * with 503 DATABASE_UNREACHABLE (JSON, saying to try again) instead of hanging or a bare 500, and the
 * API answers normally again once the database is back, without a restart.
 */
const block = serverEnabled() ? describe : describe.skip;

block('HTTP API when the database connection drops [postgres]', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let engine: Engine;
  let server: ApiServer;

  beforeAll(async () => {
    database = await createTestDatabase('api-drop');
    const target = new URL(database.url);
    proxy = await startTcpProxy({ targetHost: target.hostname, targetPort: Number(target.port || 5432) });
    engine = await createEngine({ databaseUrl: proxy.url(database.url), onError: () => {} });
    server = await startApiServer({ engine, port: 0, noAuth: true, dashboardDir: false, onError: () => {} });
  });
  afterAll(async () => {
    await server?.close();
    await engine?.close();
    await proxy?.close();
    await database?.drop();
  });

  test('503 DATABASE_UNREACHABLE while the database cannot be reached, 200 again once it can', async () => {
    expect((await fetch(`${server.url}/api/executions`)).status).toBe(200);
    proxy.refuseConnections(true);
    proxy.cutAll();
    for (const path of ['/api/executions', '/api/stats', '/api/health']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('DATABASE_UNREACHABLE');
      expect(body.error.message).toContain('try again');
    }
    proxy.refuseConnections(false);
    const back = await fetch(`${server.url}/api/executions`);
    expect(back.status).toBe(200);
  });
});
