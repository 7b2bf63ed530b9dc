/**
 * Purge end to end on both backends: executions a real worker ran (steps, a retried attempt, a signal, a
 * child, a compensation) are purged through engine.admin and the HTTP API; afterwards no row of any aries
 * table mentions their id or the secret in their input, except the audit record naming the id.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ExecutionActiveError, ExecutionNotFoundError, PurgeRefusedError, type Worker } from '../../src/index.js';
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { expectSchema, TOKEN } from '../helpers/openapi-schema.js';
import { purgeChild, purgeOrder, tablesMentioning } from '../helpers/purge-workflows.js';

describeBackends('purge', (b) => {
  let worker: Worker;
  let server: ApiServer;

  beforeAll(async () => {
    worker = b.engine.worker({ workflows: [purgeOrder, purgeChild], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await worker.start();
    server = await startApiServer({ engine: b.engine, port: 0, token: TOKEN, dashboardDir: false });
  });
  afterAll(async () => {
    await server?.close();
    await worker?.stop();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  /** Runs purge-order to its end (signalled), returning its id, its child's id and the secret in its input. */
  async function finishedOrder(options: { fail?: boolean } = {}) {
    const secret = `sk_live_${randomBytes(8).toString('hex')}`;
    const handle = await b.engine.start(purgeOrder, { secret, ...options }, { idempotencyKey: `order-${secret}` });
    for (let i = 0; (await b.engine.admin.readExecution(handle.id))?.status !== 'WAITING'; i++) {
      if (i > 1000) throw new Error('purge-order never waited for its signal');
      await new Promise((r) => setTimeout(r, 10));
    }
    await b.engine.signal(handle.id, 'confirm', `ok ${secret}`);
    await handle.result({ timeoutMs: 30_000 }).catch(() => {});
    const detail = await b.engine.admin.getExecution(handle.id);
    return { id: handle.id, childId: detail!.children[0]!.id, secret, status: detail!.execution.status };
  }

  test('engine.admin.purge deletes a finished execution and its child: afterwards only the audit record mentions the id, and nothing the secret', async () => {
    const { id, childId, secret, status } = await finishedOrder();
    expect(status).toBe('COMPLETED');
    const before = await tablesMentioning(b.engine.db, secret);
    // The secret is wherever a payload is kept: the input, the journal (step outputs), the retried attempt's failure, the signal.
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['executions', 'journal', 'failures', 'signals']));

    await expect(b.engine.admin.purge(childId, { by: 'alice' })).rejects.toThrow(PurgeRefusedError);
    const record = await b.engine.admin.purge(id, { by: 'alice', reason: 'a card token in the input' });
    expect(record).toMatchObject({ executionId: id, workflow: 'purge-order', status: 'COMPLETED', purgedBy: 'alice', reason: 'a card token in the input' });
    expect(record.removed.executions).toBe(2);
    expect(record.removed.failures).toBeGreaterThanOrEqual(1);
    expect(record.removed.signals).toBe(1);
    expect(record.removed.journalRecords).toBeGreaterThan(5);

    expect(await tablesMentioning(b.engine.db, secret)).toEqual({});
    expect(await tablesMentioning(b.engine.db, id)).toEqual({ purges: 1 });
    expect(await tablesMentioning(b.engine.db, childId)).toEqual({});
    expect(await b.engine.admin.readExecution(id)).toBeUndefined();
    expect(await b.engine.admin.listPurges({ executionId: id })).toEqual([record]);
    // Its idempotency key went with it: the same key starts a new execution.
    const again = await b.engine.start(purgeOrder, { secret }, { idempotencyKey: `order-${secret}` });
    expect(again.created).toBe(true);
    await b.engine.admin.cancel(again.id);
  });

  test('a compensated execution is purged too; a running one is refused with EXECUTION_ACTIVE until it is cancelled; an unknown id is EXECUTION_NOT_FOUND', async () => {
    const compensated = await finishedOrder({ fail: true });
    expect(compensated.status).toBe('COMPENSATED');
    expect((await b.engine.admin.purge(compensated.id, { by: 'bob' })).status).toBe('COMPENSATED');
    expect(await tablesMentioning(b.engine.db, compensated.secret)).toEqual({});

    const waiting = await b.engine.start(purgeOrder, { secret: 'never-signalled' });
    for (let i = 0; (await b.engine.admin.readExecution(waiting.id))?.status !== 'WAITING'; i++) {
      if (i > 1000) throw new Error('purge-order never waited for its signal');
      await new Promise((r) => setTimeout(r, 10));
    }
    const err = await b.engine.admin.purge(waiting.id, { by: 'bob' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionActiveError);
    expect((err as Error).message).toBe(`execution ${waiting.id} is WAITING and cannot be purged: cancel it first`);
    await b.engine.admin.cancel(waiting.id);
    expect((await b.engine.admin.purge(waiting.id, { by: 'bob' })).status).toBe('CANCELLED');
    await expect(b.engine.admin.purge('00000000-0000-4000-8000-000000000000', { by: 'bob' })).rejects.toThrow(ExecutionNotFoundError);
    await expect(b.engine.admin.purge('not-an-id', { by: 'bob' })).rejects.toThrow(ExecutionNotFoundError);
  });

  test('POST /api/executions/{id}/purge answers with the audit record; GET /api/purges lists it; busy 409, child 409, unknown 404', async () => {
    const { id, childId, secret } = await finishedOrder();
    const child = await call('POST', `/api/executions/${childId}/purge`, {});
    expect(child.status).toBe(409);
    expect(child.json.error.code).toBe('PURGE_REFUSED');

    const purged = await call('POST', `/api/executions/${id}/purge`, { by: 'carol', reason: 'GDPR request' });
    expect(purged.status).toBe(200);
    expectSchema('PurgeRecord', purged.json);
    expect(purged.json).toMatchObject({ executionId: id, purgedBy: 'carol', reason: 'GDPR request', status: 'COMPLETED' });
    expect(await tablesMentioning(b.engine.db, secret)).toEqual({});

    const listed = await call('GET', `/api/purges?execution=${id}`);
    expect(listed.status).toBe(200);
    expectSchema('PurgeList', listed.json);
    expect(listed.json.purges.map((p: any) => p.purgedBy)).toEqual(['carol']);
    const all = await call('GET', '/api/purges?limit=2');
    expect(all.json.purges[0].executionId).toBe(id);

    const defaulted = await finishedOrder();
    const defaultedPurge = await call('POST', `/api/executions/${defaulted.id}/purge`, {});
    expect(defaultedPurge.json.purgedBy, JSON.stringify(defaultedPurge.json)).toBe('api');

    const busy = await b.engine.start(purgeOrder, { secret: 'busy' });
    const refused = await call('POST', `/api/executions/${busy.id}/purge`, {});
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('EXECUTION_ACTIVE');
    expect(refused.json.error.message).toContain(busy.id);
    await b.engine.admin.cancel(busy.id);

    const unknown = await call('POST', '/api/executions/00000000-0000-4000-8000-000000000000/purge', {});
    expect(unknown.status).toBe(404);
    expect((await call('GET', '/api/purges?execution=00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
