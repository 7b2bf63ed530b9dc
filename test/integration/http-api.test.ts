import { afterAll, beforeAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { defineWorkflow, ExecutionCancelledError, ExecutionCompensatedError, PermanentError, type Worker } from '../../src/index.js';
import { API_ROUTES, startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { doc, expectSchema, TOKEN } from '../helpers/openapi-schema.js';
import { latch } from '../helpers/latch.js';

/**
 * The HTTP API over a real server on loopback, on both backends: auth, the error scheme (404 unknown id,
 * 409 illegal transition, 422 bad input), every answer validated against the OpenAPI document, and the
 * operator's actions (cancel, with or without compensation, recover, retry, send a signal) doing what they
 * say to executions a real worker runs.
 */
describeBackends('HTTP API', (b) => {
  let server: ApiServer;
  let failOnce = true;
  const gate = { current: latch(), entered: latch() };

  const flaky = defineWorkflow('api-flaky', async (ctx, input: { big?: string }) => {
    await ctx.step('prepare', () => ({ big: input.big ?? null }));
    await ctx.step('charge', () => {
      if (failOnce) throw new PermanentError('card declined');
      return 'charged';
    });
    return 'done';
  });
  const gated = defineWorkflow('api-gated', async (ctx) => {
    await ctx.step('first', async () => {
      gate.entered.open();
      await gate.current.promise;
      return 1;
    });
    await ctx.step('second', () => 2);
    return 'finished';
  });

  const child = defineWorkflow('api-child', async (ctx) => ctx.waitForSignal<string>('go', { timeoutMs: 3_600_000 }));
  const parent = defineWorkflow('api-parent', async (ctx) => {
    await ctx.sleep('nap', 1);
    return ctx.child('sub', child, {});
  });

  const signalled = defineWorkflow('api-signalled', async (ctx) => ({ got: await ctx.waitForSignal<unknown>('go') }));
  const undone: string[] = [];
  const saga = defineWorkflow('api-saga', async (ctx) => {
    await ctx.step('reserve', () => 'seat 4A', { compensate: (seat) => void undone.push(`release ${seat}`) });
    await ctx.step('charge', () => 'EUR 30', { compensate: (amount) => void undone.push(`refund ${amount}`) });
    await ctx.waitForSignal('confirmed');
    return 'booked';
  });

  /** Polls the execution's page until it is `status`. */
  async function untilStatus(id: string, status: string): Promise<any> {
    for (let i = 0; ; i++) {
      const detail = await call('GET', `/api/executions/${id}`);
      if (detail.json.execution?.status === status) return detail.json;
      if (i > 500) throw new Error(`execution ${id} is ${detail.json.execution?.status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function call(method: string, path: string, options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json, headers: res.headers };
  }

  let worker: Worker;
  const internalErrors: unknown[] = [];

  beforeAll(async () => {
    server = await startApiServer({ engine: b.engine, port: 0, token: TOKEN, dashboardDir: false, onError: (err) => internalErrors.push(err) });
    worker = b.engine.worker({ workflows: [flaky, gated, parent, child, signalled, saga], pollIntervalMs: 20, schedulerIntervalMs: 0, leaseMs: 3_000 });
    await worker.start();
  });
  afterAll(async () => {
    gate.current.open();
    await server?.close();
  });

  test('every route is in the OpenAPI document, and the document names no route the server lacks', async () => {
    const served = API_ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(served);
    const res = await call('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.json.openapi).toBe('3.1.0');
  });

  test('without the bearer token every call is refused with 401, reads and writes alike; /metrics too', async () => {
    for (const [method, path] of [
      ['GET', '/api/executions'],
      ['GET', '/api/health'],
      ['POST', '/api/executions'],
      ['POST', '/api/executions/00000000-0000-4000-8000-000000000000/cancel'],
      ['POST', '/api/executions/00000000-0000-4000-8000-000000000000/signals'],
      ['GET', '/metrics'],
    ] as const) {
      const none = await call(method, path, { token: null, body: method === 'POST' ? {} : undefined });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.json.error.code).toBe('UNAUTHORIZED');
      const wrong = await call(method, path, { token: 'x'.repeat(30), body: method === 'POST' ? {} : undefined });
      expect(wrong.status, `${method} ${path}`).toBe(401);
    }
    const health = await call('GET', '/api/health');
    expect(health.status).toBe(200);
    expectSchema('Health', health.json);
    expect(health.json).toMatchObject({ ok: true, backend: b.name, auth: true });
  });

  test('a server refuses to start without a token unless --no-auth, and --no-auth off loopback', async () => {
    const saved = process.env.ARIES_API_TOKEN;
    delete process.env.ARIES_API_TOKEN;
    try {
      await expect(startApiServer({ engine: b.engine, port: 0 })).rejects.toThrow(/needs a token/);
      await expect(startApiServer({ engine: b.engine, port: 0, host: '0.0.0.0', noAuth: true })).rejects.toThrow(/loopback address only/);
      await expect(startApiServer({ engine: b.engine, port: 0, token: 'short' })).rejects.toThrow(/at least 16 characters/);
    } finally {
      if (saved !== undefined) process.env.ARIES_API_TOKEN = saved;
    }
  });

  test('with --no-auth on loopback, reads are open, but a write must be JSON, same-origin and addressed to loopback', async () => {
    const open = await startApiServer({ engine: b.engine, port: 0, noAuth: true, dashboardDir: false });
    try {
      const id = '00000000-0000-4000-8000-000000000000';
      const get = await fetch(`${open.url}/api/executions?limit=1`);
      expect(get.status).toBe(200);
      const form = await fetch(`${open.url}/api/executions/${id}/cancel`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
      expect(form.status).toBe(403);
      const crossSite = await fetch(`${open.url}/api/executions/${id}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
        body: '{}',
      });
      expect(crossSite.status).toBe(403);
      expect(((await crossSite.json()) as any).error.message).toContain('http://evil.example');
      const sameOrigin = await fetch(`${open.url}/api/executions/${id}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: open.url },
        body: '{}',
      });
      expect(sameOrigin.status).toBe(404); // it got through to the engine: no such execution
    } finally {
      await open.close();
    }
  });

  test('start: 201 with a new execution, 200 for the same idempotency key, 422 for bad input, 400 for a body that is not JSON', async () => {
    const first = await call('POST', '/api/executions', { body: { workflow: 'api-gated', input: { n: 1 }, idempotencyKey: `k-${b.name}` } });
    expect(first.status).toBe(201);
    expectSchema('Started', first.json);
    const again = await call('POST', '/api/executions', { body: { workflow: 'api-gated', input: { n: 1 }, idempotencyKey: `k-${b.name}` } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: first.json.id, created: false });
    gate.current.open();
    await b.engine.handle(first.json.id).result({ timeoutMs: 20_000 });

    const unknown = await call('POST', '/api/executions', { body: { workflow: 'no-such-workflow' } });
    expect(unknown.status).toBe(422);
    expect(unknown.json.error.code).toBe('UNKNOWN_WORKFLOW');
    const missing = await call('POST', '/api/executions', { body: { input: 1 } });
    expect(missing.status).toBe(422);
    expect(missing.json.error.message).toContain('workflow');
    const notJson = await call('POST', '/api/executions', { body: undefined, headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(422); // an empty body is {}, which lacks the workflow
    const broken = await fetch(`${server.url}/api/executions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"workflow": ',
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).error.code).toBe('MALFORMED_REQUEST');
  });

  test('list: cursor pages newest first, filters, and 422 naming a bad parameter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await b.engine.start(flaky, {}, { idempotencyKey: `page-${b.name}-${i}` })).id);
    await Promise.all(ids.map((id) => b.engine.handle(id).result({ timeoutMs: 20_000 }).catch(() => {})));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `/api/executions?workflow=api-flaky&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expectSchema('ExecutionPage', res.json);
      expect(res.json.executions.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.executions.map((e: { id: string }) => e.id));
      cursor = res.json.nextCursor;
    } while (cursor);
    expect(seen.slice(0, 5)).toEqual([...ids].reverse());
    const byKey = await call('GET', `/api/executions?search=page-${b.name}-3`);
    expect(byKey.json.executions.map((e: { id: string }) => e.id)).toEqual([ids[3]]);
    const failed = await call('GET', '/api/executions?status=failed&workflow=api-flaky&limit=1000');
    expect(failed.json.executions.every((e: { status: string }) => e.status === 'FAILED')).toBe(true);
    for (const [query, name] of [
      ['status=SLEEPY', 'status'],
      ['limit=0', 'limit'],
      ['createdAfter=yesterday', 'createdAfter'],
    ]) {
      const bad = await call('GET', `/api/executions?${query}`);
      expect(bad.status, query).toBe(422);
      expect(bad.json.error).toMatchObject({ code: 'INVALID_INPUT', details: { parameter: name } });
    }
    const badCursor = await call('GET', '/api/executions?cursor=abc');
    expect(badCursor.status).toBe(422);
    expect(badCursor.json.error.message).toContain('cursor');
  });

  test('a failed execution: its page shows steps, journal with checksums, checkpoints and a PERMANENT failure; recover completes it', async () => {
    failOnce = true;
    const big = 'x'.repeat(40_000);
    const h = await b.engine.start(flaky, { big });
    await h.result({ timeoutMs: 20_000 }).catch(() => {});
    const detail = await call('GET', `/api/executions/${h.id}`);
    expect(detail.status).toBe(200);
    expectSchema('ExecutionDetail', detail.json);
    expect(detail.json.execution.status).toBe('FAILED');
    expect(detail.json.execution.input).toMatchObject({ $truncated: true, bytes: expect.any(Number) });
    expect(detail.json.execution.input.preview.length).toBeLessThanOrEqual(2048);
    expect(detail.json.steps.find((s: { key: string }) => s.key === 'prepare').output).toMatchObject({ $truncated: true });
    expect(detail.json.failures[0]).toMatchObject({ type: 'PERMANENT', recoveryStrategy: 'rollback', stepKey: 'charge', workflow: 'api-flaky', recovered: false });
    expect(detail.json.journal.records.length).toBeGreaterThan(3);
    expect(detail.json.journal.records.every((r: { checksumOk: boolean }) => r.checksumOk)).toBe(true);
    expect(detail.json.checkpoints.length).toBeGreaterThan(0);
    const prepared = detail.json.journal.records.find((r: { kind: string; stepKey: string }) => r.kind === 'step_completed' && r.stepKey === 'prepare');
    expect(prepared.payload).toMatchObject({ $truncated: true });
    expect(prepared.checksumOk).toBe(true); // verified against the whole payload, in the database
    const whole = await call('GET', `/api/executions/${h.id}?full=true`);
    expect(whole.json.execution.input).toEqual({ big });
    const journal = await call('GET', `/api/executions/${h.id}/journal?limit=2`);
    expectSchema('JournalPage', journal.json);
    expect(journal.json.records).toHaveLength(2);
    const rest = await call('GET', `/api/executions/${h.id}/journal?afterLsn=${journal.json.nextAfterLsn}`);
    expect(rest.json.records[0].lsn).toBeGreaterThan(journal.json.records[1].lsn);

    const failures = await call('GET', '/api/failures?type=PERMANENT&unrecovered=true&workflow=api-flaky');
    expectSchema('FailurePage', failures.json);
    expect(failures.json.failures.map((f: { executionId: string }) => f.executionId)).toContain(h.id);
    const summary = await call('GET', '/api/failures/summary');
    expectSchema('FailureSummary', summary.json);
    expect(summary.json.groups).toContainEqual(expect.objectContaining({ workflow: 'api-flaky', type: 'PERMANENT' }));

    failOnce = false;
    const recovered = await call('POST', `/api/executions/${h.id}/recover`, { body: {} });
    expect(recovered.status).toBe(200);
    expectSchema('ActionResult', recovered.json);
    expect(await h.result({ timeoutMs: 20_000 })).toBe('done');
    const twice = await call('POST', `/api/executions/${h.id}/recover`, { body: {} });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe('ILLEGAL_TRANSITION'); // it is COMPLETED: finished
    const retryDone = await call('POST', `/api/executions/${h.id}/retry`, { body: {} });
    expect(retryDone.status).toBe(409);
    expect(retryDone.json.error.code).toBe('ILLEGAL_TRANSITION');
  });

  test('a waiting parent and its child: each wait says what it waits for, parent and children link both ways, the mailbox', async () => {
    const h = await b.engine.start(parent, {});
    let detail;
    for (let i = 0; ; i++) {
      detail = await call('GET', `/api/executions/${h.id}`);
      if (detail.json.children?.[0]?.status === 'WAITING') break;
      if (i > 500) throw new Error(`the child never waited: ${JSON.stringify(detail.json.children)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expectSchema('ExecutionDetail', detail.json);
    expect(detail.json.execution).toMatchObject({ status: 'WAITING', parent: null, deadlineAt: null });
    expect(detail.json.steps.map((s: { key: string; kind: string; status: string }) => [s.key, s.kind, s.status])).toEqual([
      ['nap', 'sleep', 'COMPLETED'],
      ['sub', 'child', 'WAITING'],
    ]);
    const childId = detail.json.children[0].id;
    expect(detail.json.steps[1].wait).toMatchObject({ kind: 'child', childId, childStatus: 'WAITING', settledAt: null });
    expect(detail.json.steps[0].wait).toMatchObject({ kind: 'sleep', until: expect.any(String), settledAt: expect.any(String) });

    await b.engine.signal(childId, 'unrelated', { big: 'y'.repeat(20_000) });
    const childDetail = await call('GET', `/api/executions/${childId}`);
    expectSchema('ExecutionDetail', childDetail.json);
    expect(childDetail.json.execution.parent).toEqual({ id: h.id, stepKey: 'sub', close: 'cancel' });
    expect(childDetail.json.steps[0]).toMatchObject({ key: 'signal:go:1', kind: 'signal', status: 'WAITING', endedAt: null });
    expect(childDetail.json.steps[0].wait).toMatchObject({ signal: 'go', timeoutAt: expect.any(String) });
    expect(childDetail.json.signals).toEqual([expect.objectContaining({ name: 'unrelated', consumedBy: null, payload: expect.objectContaining({ $truncated: true }) })]);
    const stats = await call('GET', '/api/stats');
    expect(stats.json.statusCounts.WAITING).toBeGreaterThanOrEqual(2);

    await b.engine.signal(childId, 'go', 'went');
    expect(await h.result({ timeoutMs: 20_000 })).toBe('went');
    const done = await call('GET', `/api/executions/${childId}`);
    expectSchema('ExecutionDetail', done.json);
    expect(done.json.signals.map((s: { name: string; consumedBy: string | null }) => [s.name, s.consumedBy])).toEqual([
      ['unrelated', null],
      ['go', 'signal:go:1'],
    ]);
  });

  test('unknown ids are 404 with EXECUTION_NOT_FOUND; unknown paths 404; a wrong method 405', async () => {
    for (const path of ['/api/executions/00000000-0000-4000-8000-000000000000', '/api/executions/not-a-uuid', '/api/executions/not-a-uuid/journal']) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.json.error.code).toBe('EXECUTION_NOT_FOUND');
    }
    for (const action of ['cancel', 'recover', 'retry', 'signals']) {
      const res = await call('POST', `/api/executions/00000000-0000-4000-8000-000000000000/${action}`, { body: action === 'signals' ? { name: 'go' } : {} });
      expect(res.status, action).toBe(404);
      // an answer never carries connection details (the URL, the data dir)
      expect(JSON.stringify(res.json), action).not.toMatch(/postgres:\/\/|127\.0\.0\.1|memory|\.aries/);
    }
    expect((await call('GET', '/api/nothing-here')).status).toBe(404);
    const wrong = await call('DELETE', '/api/executions');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
  });

  test('cancel of a running execution: the step in flight finishes, no later step starts, and it stays CANCELLED', async () => {
    gate.current = latch();
    gate.entered = latch();
    const h = await b.engine.start(gated, {});
    await gate.entered.promise;
    const res = await call('POST', `/api/executions/${h.id}/cancel`, { body: { reason: 'stuck at 3 a.m.' } });
    expect(res.status).toBe(200);
    expectSchema('ActionResult', res.json);
    expect(res.json).toMatchObject({ previousStatus: 'RUNNING', execution: { status: 'CANCELLED', error: { message: 'stuck at 3 a.m.' } } });
    gate.current.open();
    await new Promise((r) => setTimeout(r, 300));
    const detail = await call('GET', `/api/executions/${h.id}`);
    expect(detail.json.execution.status).toBe('CANCELLED');
    expect(detail.json.steps.map((s: { key: string; status: string }) => [s.key, s.status])).toEqual([['first', 'CANCELLED']]);
    expect(detail.json.journal.records.at(-1).kind).toBe('execution_cancelled');
    const error = await h.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionCancelledError);
    expect((error as Error).message).toContain('stuck at 3 a.m.');
    // The worker's run ended with its lease gone; a cancel is not counted as a takeover.
    await expect.poll(() => worker.stats.leaseLost, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 200));
    const metrics = await call('GET', '/metrics');
    expect(metrics.json).toMatch(/^aries_leases_lost_total 0$/m);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(metrics.json).toMatch(/^aries_executions_cancelled_total\{workflow="api-gated"\} 1$/m);
    const again = await call('POST', `/api/executions/${h.id}/cancel`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ILLEGAL_TRANSITION');
  });

  test('signals: 201 for a new one, 200 and duplicate: true for the same idempotency key, and the wait takes it', async () => {
    const h = await b.engine.start(signalled, {});
    const path = `/api/executions/${h.id}/signals`;
    const sent = await call('POST', path, { body: { name: 'go', payload: { by: 'ana' }, idempotencyKey: `approval-${b.name}` } });
    expect(sent.status).toBe(201);
    expectSchema('SignalSent', sent.json);
    expect(sent.json).toEqual({ signalId: expect.stringMatching(/^\d+$/), duplicate: false });
    const again = await call('POST', path, { body: { name: 'go', payload: { by: 'someone else' }, idempotencyKey: `approval-${b.name}` } });
    expect(again.status).toBe(200);
    expectSchema('SignalSent', again.json);
    expect(again.json).toEqual({ signalId: sent.json.signalId, duplicate: true });
    expect(await h.result({ timeoutMs: 20_000 })).toEqual({ got: { by: 'ana' } });
    const detail = await call('GET', `/api/executions/${h.id}`);
    expect(detail.json.signals.map((g: any) => [g.id, g.name, g.payload, g.consumedBy])).toEqual([[sent.json.signalId, 'go', { by: 'ana' }, 'signal:go:1']]);

    // Without a key or a payload: the wait resolves to null.
    const bare = await b.engine.start(signalled, {});
    const plain = await call('POST', `/api/executions/${bare.id}/signals`, { body: { name: 'go' } });
    expect(plain.status).toBe(201);
    expect(Number(plain.json.signalId)).toBeGreaterThan(Number(sent.json.signalId));
    expect(await bare.result({ timeoutMs: 20_000 })).toEqual({ got: null });
  });

  test('signals: 404 for an unknown execution, 409 for a finished one, 422 naming a bad name or key, 413 for a huge payload; nothing stored', async () => {
    const h = await b.engine.start(signalled, {});
    const path = `/api/executions/${h.id}/signals`;
    for (const [body, field] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 7 }, 'name'],
      [{ name: 'go', idempotencyKey: 7 }, 'idempotencyKey'],
      [{ name: 'go', idempotencyKey: '' }, 'idempotencyKey'],
    ] as const) {
      const bad = await call('POST', path, { body });
      expect(bad.status, JSON.stringify(body)).toBe(422);
      expectSchema('Error', bad.json);
      expect(bad.json.error).toMatchObject({ code: 'INVALID_INPUT', details: { field } });
    }
    const long = await call('POST', path, { body: { name: 'n'.repeat(300) } });
    expect(long.status).toBe(422);
    expect(long.json.error.message).toContain('256 bytes');
    const huge = await call('POST', path, { body: { name: 'go', payload: 'x'.repeat(9 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await call('GET', `/api/executions/${h.id}`)).json.signals).toEqual([]);

    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const missing = await call('POST', `/api/executions/${id}/signals`, { body: { name: 'go' } });
      expect(missing.status, id).toBe(404);
      expectSchema('Error', missing.json);
      expect(missing.json.error.code).toBe('EXECUTION_NOT_FOUND');
    }

    expect((await call('POST', path, { body: { name: 'go', payload: 1, idempotencyKey: 'once' } })).status).toBe(201);
    expect(await h.result({ timeoutMs: 20_000 })).toEqual({ got: 1 });
    const finished = await call('POST', path, { body: { name: 'go', payload: 2 } });
    expect(finished.status).toBe(409);
    expectSchema('Error', finished.json);
    expect(finished.json.error.code).toBe('ILLEGAL_TRANSITION');
    expect(finished.json.error.message).toContain('COMPLETED');
    // Re-sending under the key already used is still harmless: the first signal, nothing new.
    const retried = await call('POST', path, { body: { name: 'go', payload: 1, idempotencyKey: 'once' } });
    expect(retried.status).toBe(200);
    expect(retried.json.duplicate).toBe(true);
    expect((await call('GET', `/api/executions/${h.id}`)).json.signals).toHaveLength(1);
  });

  test('cancel with { compensate: true }: a WAITING saga becomes COMPENSATING, its compensations run in reverse, it ends COMPENSATED', async () => {
    undone.length = 0;
    const h = await b.engine.start(saga, {});
    await untilStatus(h.id, 'WAITING');
    const badFlag = await call('POST', `/api/executions/${h.id}/cancel`, { body: { compensate: 'yes' } });
    expect(badFlag.status).toBe(422);
    expect(badFlag.json.error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'compensate' } });

    const res = await call('POST', `/api/executions/${h.id}/cancel`, { body: { reason: 'customer withdrew', compensate: true } });
    expect(res.status).toBe(200);
    expectSchema('ActionResult', res.json);
    expect(res.json.previousStatus).toBe('WAITING');
    expect(['COMPENSATING', 'COMPENSATED']).toContain(res.json.execution.status);
    await expect(h.result({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(ExecutionCompensatedError);
    expect(undone).toEqual(['refund EUR 30', 'release seat 4A']);
    const detail = await untilStatus(h.id, 'COMPENSATED');
    expectSchema('ExecutionDetail', detail);
    expect(detail.execution.error).toMatchObject({ message: 'customer withdrew' });
    expect(detail.steps.map((s: any) => [s.key, s.status, s.compensationStatus])).toEqual([
      ['reserve', 'COMPLETED', 'COMPLETED'],
      ['charge', 'COMPLETED', 'COMPLETED'],
      ['signal:confirmed:1', 'CANCELLED', null],
    ]);
    const late = await call('POST', `/api/executions/${h.id}/signals`, { body: { name: 'confirmed' } });
    expect(late.status).toBe(409);

    // Without compensate (false given or left out), a cancelled saga keeps its steps' effects.
    undone.length = 0;
    const kept = await b.engine.start(saga, {});
    await untilStatus(kept.id, 'WAITING');
    const plain = await call('POST', `/api/executions/${kept.id}/cancel`, { body: { compensate: false } });
    expect(plain.json).toMatchObject({ previousStatus: 'WAITING', execution: { status: 'CANCELLED' } });
    await expect(kept.result({ timeoutMs: 5_000 })).rejects.toBeInstanceOf(ExecutionCancelledError);
    expect(undone).toEqual([]);
  });

  test('overview figures: stats buckets, unfinished counts and queue depth, workers, workflows', async () => {
    const stats = await call('GET', '/api/stats?windowSeconds=600&buckets=10');
    expect(stats.status).toBe(200);
    expectSchema('Stats', stats.json);
    expect(stats.json.buckets).toHaveLength(10);
    expect(stats.json.buckets.reduce((n: number, x: { started: number }) => n + x.started, 0)).toBeGreaterThan(0);
    const workflows = await call('GET', '/api/workflows');
    expectSchema('Workflows', workflows.json);
    expect(workflows.json.workflows.map((w: { name: string }) => w.name)).toEqual(expect.arrayContaining(['api-flaky', 'api-gated']));
    const workers = await call('GET', '/api/workers');
    expectSchema('Workers', workers.json);
    // The registry lists this suite's worker, leases held or not, and counts it live; an idle worker too.
    expect(workers.json.workers).toContainEqual(expect.objectContaining({ workerId: worker.id, status: 'live', concurrency: 10 }));
    const idle = b.engine.worker({ workflows: [flaky], schedulerIntervalMs: 0, concurrency: 2 });
    await idle.start();
    try {
      const withIdle = await call('GET', '/api/workers');
      expectSchema('Workers', withIdle.json);
      expect(withIdle.json.workers).toContainEqual(
        expect.objectContaining({ workerId: idle.id, status: 'live', executions: 0, concurrency: 2, workflows: [flaky.key] }),
      );
      expect(withIdle.json.live).toBe(workers.json.live + 1);
    } finally {
      await idle.stop();
    }
    const afterStop = await call('GET', '/api/workers');
    expect(afterStop.json.workers).toContainEqual(expect.objectContaining({ workerId: idle.id, status: 'stopped' }));
    expect(afterStop.json.live).toBe(workers.json.live);
    const badWindow = await call('GET', '/api/stats?buckets=1000');
    expect(badWindow.status).toBe(422);
  });

  test('bad input is a 4xx naming what is wrong, never a 500: escapes, NUL characters, huge keys, impossible dates and cursors', async () => {
    const cases: [string, string, unknown, number][] = [
      ['GET', '/api/executions/%ZZ', undefined, 400],
      ['POST', '/api/executions/%ZZ/cancel', {}, 400],
      ['GET', '/api/executions?workflow=%00', undefined, 422],
      ['GET', '/api/executions?search=a%00b', undefined, 422],
      ['GET', '/api/failures?workflow=%00', undefined, 422],
      ['POST', '/api/executions', { workflow: 'api-flaky\u0000' }, 422],
      ['POST', '/api/executions', { workflow: 'api-flaky', idempotencyKey: 'k'.repeat(6_000) }, 422],
      ['GET', '/api/executions?createdAfter=99999-01-01T00:00:00Z', undefined, 422],
      ['GET', `/api/executions?cursor=${Buffer.from(JSON.stringify(['2024-13-45T99:99:99.999999Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`, undefined, 422],
      ['GET', `/api/failures?cursor=${Buffer.from(JSON.stringify(['2024-13-45T99:99:99.999999Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`, undefined, 422],
      ['POST', '/api/executions/00000000-0000-4000-8000-000000000000/cancel', { reason: 'a\u0000b' }, 422],
      ['POST', '/api/executions/%ZZ/signals', { name: 'go' }, 400],
      ['POST', '/api/executions/00000000-0000-4000-8000-000000000000/signals', { name: 'go\u0000' }, 422],
      ['POST', '/api/executions/00000000-0000-4000-8000-000000000000/signals', { name: 'go', idempotencyKey: 'k'.repeat(6_000) }, 422],
    ];
    for (const [method, path, body, status] of cases) {
      const res = await call(method, path, { body });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.json.error.code, `${method} ${path}`).toMatch(/MALFORMED_REQUEST|INVALID_INPUT/);
    }
    // A request line no URL parser accepts.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.end('GET http://[::1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 (400|401)/);
    expect(internalErrors).toEqual([]);
  });

  test('hostile bodies: deep nesting is 422 naming the limit, bad UTF-8 is 400, unsafe integers 422 with their path, unknown fields 422 naming the field', async () => {
    const raw = async (method: string, path: string, body: string | Buffer) => {
      const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
      return { status: res.status, json: (await res.json()) as any };
    };
    const before = (await call('GET', '/api/executions?workflow=api-flaky&limit=100')).json.executions.length;
    const deep = `{"workflow":"api-flaky","input":${'['.repeat(1_815)}${']'.repeat(1_815)}}`;
    const nested = await raw('POST', '/api/executions', deep);
    expect(nested.status).toBe(422);
    expect(nested.json.error).toMatchObject({ code: 'NOT_JSON_SERIALIZABLE' });
    expect(nested.json.error.message).toMatch(/nested deeper than 256 levels/);

    const badUtf8 = Buffer.concat([Buffer.from('{"workflow":"api-flaky","input":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const utf8 = await raw('POST', '/api/executions', badUtf8);
    expect(utf8.status).toBe(400);
    expect(utf8.json.error).toEqual({ code: 'MALFORMED_REQUEST', message: 'the request body is not valid UTF-8' });

    const huge = await raw('POST', '/api/executions', '{"workflow":"api-flaky","input":{"ids":[1,123456789012345678901234567890]}}');
    expect(huge.status).toBe(422);
    expect(huge.json.error.code).toBe('NOT_JSON_SERIALIZABLE');
    expect(huge.json.error.message).toMatch(/input\.ids\[1\].*beyond ±\(2\^53 − 1\)/);

    const snake = await call('POST', '/api/executions', { body: { workflow: 'api-flaky', idempotency_key: 'k-1' } });
    expect(snake.status).toBe(422);
    expect(snake.json.error.message).toMatch(/unknown field "idempotency_key"; this call takes workflow, input, version, idempotencyKey/);
    for (const [path, body] of [
      ['/api/executions/00000000-0000-4000-8000-000000000000/cancel', { reason: 'x', compensation: true }],
      ['/api/executions/00000000-0000-4000-8000-000000000000/retry', { force: true }],
      ['/api/executions/00000000-0000-4000-8000-000000000000/signals', { name: 'go', data: 1 }],
      ['/api/retention/purge', { batch: 10 }],
    ] as const) {
      const res = await call('POST', path, { body });
      expect(res.status, path).toBe(422);
      expect(res.json.error.message, path).toMatch(/^unknown field "/);
    }
    // the same idempotency key with another input: 409 naming the key and the execution
    const keyed = await call('POST', '/api/executions', { body: { workflow: 'api-flaky', input: { big: 'a' }, idempotencyKey: `conflict-${b.name}` } });
    expect(keyed.status).toBe(201);
    expect((await call('POST', '/api/executions', { body: { workflow: 'api-flaky', input: { big: 'a' }, idempotencyKey: `conflict-${b.name}` } })).status).toBe(200);
    const conflict = await call('POST', '/api/executions', { body: { workflow: 'api-flaky', input: { big: 'b' }, idempotencyKey: `conflict-${b.name}` } });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', message: `idempotency key "conflict-${b.name}" already started execution ${keyed.json.id} with a different input` });
    // nothing else was started by any of them
    expect((await call('GET', '/api/executions?workflow=api-flaky&limit=100')).json.executions.length).toBe(before + 1);
    expect(internalErrors).toEqual([]);
  });

  test('cancelling a FAILED execution settles its failures; recovering a finished execution is an illegal transition', async () => {
    failOnce = true;
    const h = await b.engine.start(flaky, {});
    await h.result({ timeoutMs: 20_000 }).catch(() => {});
    expect((await call('POST', `/api/executions/${h.id}/cancel`, { body: { reason: 'giving up' } })).status).toBe(200);
    const failures = await call('GET', `/api/executions/${h.id}`);
    expect(failures.json.failures.map((f: { recovered: boolean; recoveredBy: string }) => [f.recovered, f.recoveredBy])).toEqual([[true, 'cancel']]);
    const open = await call('GET', '/api/failures?unrecovered=true&workflow=api-flaky&limit=1000');
    expect(open.json.failures.map((f: { executionId: string }) => f.executionId)).not.toContain(h.id);
    const recover = await call('POST', `/api/executions/${h.id}/recover`, { body: {} });
    expect(recover.status).toBe(409);
    expect(recover.json.error.code).toBe('ILLEGAL_TRANSITION');
  });

  test('a dashboard dir given as a relative path is served, index.html for unknown paths, nothing outside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aries-dash-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dash</title>');
    const site = await startApiServer({ engine: b.engine, port: 0, noAuth: true, dashboardDir: `${relative(process.cwd(), dir)}/` });
    try {
      for (const path of ['/', '/executions/abc']) {
        const res = await fetch(`${site.url}${path}`);
        expect(res.status, path).toBe(200);
        expect(await res.text()).toContain('<title>dash</title>');
        expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      }
      const escape = await fetch(`${site.url}/..%2f..%2f..%2fetc%2fpasswd`);
      expect(await escape.text()).not.toContain('root:');
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('corrupt data is shown, not hidden: a journal record or checkpoint altered in place reads as broken', async () => {
    failOnce = false;
    const h = await b.engine.start(flaky, {});
    await h.result({ timeoutMs: 20_000 });
    const db = b.engine.db;
    await db.exec('ALTER TABLE aries.journal DISABLE TRIGGER journal_append_only');
    try {
      await db.query(`UPDATE aries.journal SET payload = '"forged"' WHERE execution_id = $1 AND kind = 'step_completed' AND step_key = 'charge'`, [h.id]);
    } finally {
      await db.exec('ALTER TABLE aries.journal ENABLE TRIGGER journal_append_only');
    }
    await db.query(`UPDATE aries.checkpoints SET state_data = '{"forged": true}' WHERE checkpoint_id = (SELECT checkpoint_id FROM aries.checkpoints WHERE execution_id = $1 ORDER BY lsn DESC LIMIT 1)`, [h.id]);
    const detail = await call('GET', `/api/executions/${h.id}`);
    expect(detail.status).toBe(200);
    expectSchema('ExecutionDetail', detail.json);
    const broken = detail.json.journal.records.filter((r: { checksumOk: boolean }) => !r.checksumOk);
    expect(broken.map((r: { kind: string; stepKey: string; payload: unknown }) => [r.kind, r.stepKey, r.payload])).toEqual([['step_completed', 'charge', 'forged']]);
    expect(detail.json.checkpoints[0].valid).toBe(false);
    expect(detail.json.checkpoints.slice(1).every((k: { valid: boolean }) => k.valid)).toBe(true);
  });
});
