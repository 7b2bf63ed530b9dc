import { afterAll, beforeAll, expect, test } from 'vitest';
import { defineQueue, defineWorkflow, type Worker } from '../../src/index.js';
import { API_ROUTES, startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { Scheduler } from '../../src/worker/scheduler.js';
import { describeBackends } from '../helpers/backends.js';
import { doc, expectSchema, TOKEN } from '../helpers/openapi-schema.js';

/**
 * Queues, schedules and retention over the HTTP API, on both backends: every route and its refusals
 * (422 naming what is wrong, 404 for an unknown schedule or queue, UNKNOWN_QUEUE and UNKNOWN_WORKFLOW),
 * every answer validated against the OpenAPI document, and each change seen in the database's state
 * afterwards: queue limits and pause, a start's queue key, priority, delay and debounce, a schedule's
 * manual run and its skipped slots, a purge of finished executions.
 */
describeBackends('HTTP API: queues, schedules, retention', (b) => {
  let server: ApiServer;
  let worker: Worker;
  const internalErrors: unknown[] = [];

  // A queue no worker here serves: what is started into it stays PENDING, so its stats are exact.
  const held = defineQueue('fc-held', { concurrency: 2 });
  const queued = defineWorkflow('fc-queued', { queue: held }, async (_ctx, input: unknown) => input);
  const done = defineWorkflow('fc-done', async (_ctx, input: unknown) => ({ got: input }));
  const purged = defineWorkflow('fc-purged', async () => 'finished');

  async function call(method: string, path: string, options: { body?: unknown; token?: string | null } = {}) {
    const headers: Record<string, string> = {};
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    if (method !== 'GET') headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${path}`, { method, headers, body: method === 'GET' ? undefined : JSON.stringify(options.body ?? {}) });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as any };
  }

  /** A refusal: its status and code, every field of `error` the document promises. */
  async function refused(method: string, path: string, body: unknown, status: number, code: string) {
    const res = await call(method, path, { body });
    expect(res.status, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.json)}`).toBe(status);
    expectSchema('Error', res.json);
    expect(res.json.error.code, `${method} ${path}`).toBe(code);
    return res.json.error as { message: string; details?: Record<string, unknown> };
  }

  beforeAll(async () => {
    server = await startApiServer({ engine: b.engine, port: 0, token: TOKEN, dashboardDir: false, onError: (err) => internalErrors.push(err) });
    worker = b.engine.worker({ workflows: [done, purged], pollIntervalMs: 20, schedulerIntervalMs: 0, leaseMs: 3_000 });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
  });

  test('the OpenAPI document lists every queue, schedule and retention route; they need the token', async () => {
    const served = new Set(API_ROUTES.map((r) => `${r.method} ${r.path}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const expected = [
      'GET /api/queues',
      'GET /api/queues/{name}',
      'PATCH /api/queues/{name}',
      'GET /api/schedules',
      'GET /api/schedules/{name}',
      'PUT /api/schedules/{name}',
      'DELETE /api/schedules/{name}',
      'POST /api/schedules/{name}/pause',
      'POST /api/schedules/{name}/resume',
      'POST /api/schedules/{name}/trigger',
      'GET /api/retention',
      'PUT /api/retention',
      'POST /api/retention/purge',
    ];
    for (const route of expected) {
      expect(served.has(route), route).toBe(true);
      expect(documented.has(route), route).toBe(true);
    }
    for (const route of expected) {
      const [method, path] = route.split(' ') as [string, string];
      const res = await call(method, path.replace('{name}', 'x'), { token: null });
      expect(res.status, route).toBe(401);
    }
  });

  test('starts over the API land in a queue with a key, a priority, a delay or a debounce; the queue counts them', async () => {
    await b.engine.start(queued, { n: 0 }); // registers the queue and the workflow
    const keyed = await call('POST', '/api/executions', { body: { workflow: 'fc-queued', input: { n: 1 }, queueKey: 'cust-1', priority: 7 } });
    expect(keyed.status).toBe(201);
    expectSchema('Started', keyed.json);
    const later = await call('POST', '/api/executions', { body: { workflow: 'fc-queued', input: { n: 2 }, delayMs: 3_600_000 } });
    expect(later.status).toBe(201);
    const [row] = await b.engine.db.query<{ queue_name: string; queue_key: string; priority: number }>(
      'SELECT queue_name, queue_key, priority FROM aries.executions WHERE id = $1',
      [keyed.json.id],
    );
    expect(row).toEqual({ queue_name: 'fc-held', queue_key: 'cust-1', priority: 7 });

    const first = await call('POST', '/api/executions', { body: { workflow: 'fc-queued', input: 'a', debounce: { key: 'd1', delayMs: 3_600_000 } } });
    expect(first.json).toMatchObject({ created: true, debounced: false });
    const second = await call('POST', '/api/executions', { body: { workflow: 'fc-queued', input: 'b', debounce: { key: 'd1', delayMs: 3_600_000 } } });
    expect(second.status).toBe(200);
    expectSchema('Started', second.json);
    expect(second.json).toMatchObject({ id: first.json.id, created: false, debounced: true, execution: { input: 'b' } });

    const one = await call('GET', '/api/queues/fc-held');
    expect(one.status).toBe(200);
    expectSchema('Queue', one.json);
    expect(one.json).toMatchObject({ name: 'fc-held', concurrency: 2, paused: false, source: 'definition', pending: 2, delayed: 2, running: 0, waiting: 0 });
    expect(one.json.oldestDueMs).toBeGreaterThanOrEqual(0);
    const all = await call('GET', '/api/queues');
    expectSchema('Queues', all.json);
    expect(all.json.queues.map((q: { name: string }) => q.name)).toContain('fc-held');

    await refused('POST', '/api/executions', { workflow: 'fc-queued', queue: 'no-such-queue' }, 422, 'UNKNOWN_QUEUE');
    expect((await refused('POST', '/api/executions', { workflow: 'fc-queued', priority: 'high' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'priority' });
    expect((await refused('POST', '/api/executions', { workflow: 'fc-queued', priority: 1.5 }, 422, 'INVALID_INPUT')).message).toContain('priority');
    expect((await refused('POST', '/api/executions', { workflow: 'fc-queued', delayMs: -1 }, 422, 'INVALID_INPUT')).message).toContain('delayMs');
    expect((await refused('POST', '/api/executions', { workflow: 'fc-queued', queueKey: '' }, 422, 'INVALID_INPUT')).message).toContain('queueKey');
    expect((await refused('POST', '/api/executions', { workflow: 'fc-queued', debounce: 'soon' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'debounce' });
    const both = await refused('POST', '/api/executions', { workflow: 'fc-queued', idempotencyKey: 'k', debounce: { key: 'd2', delayMs: 10 } }, 422, 'INVALID_INPUT');
    expect(both.message).toContain('debounced and idempotent');
  });

  test('PATCH a queue: limits replaced or removed (null), paused and resumed, kept as the operator set them; refusals name the setting', async () => {
    const changed = await call('PATCH', '/api/queues/fc-held', { body: { concurrency: 5, keyConcurrency: 1, rateLimit: { limit: 10, periodMs: 60_000 } } });
    expect(changed.status).toBe(200);
    expectSchema('Queue', changed.json);
    expect(changed.json).toMatchObject({ concurrency: 5, keyConcurrency: 1, workerConcurrency: null, rateLimit: { limit: 10, periodMs: 60_000 }, source: 'operator' });
    expect(changed.json.startedInWindow).toBe(0);
    const cleared = await call('PATCH', '/api/queues/fc-held', { body: { rateLimit: null, keyConcurrency: null, paused: true } });
    expect(cleared.json).toMatchObject({ concurrency: 5, keyConcurrency: null, rateLimit: null, paused: true, startedInWindow: null });
    expect((await b.engine.admin.getQueue('fc-held'))).toMatchObject({ paused: true, concurrency: 5 });
    const resumed = await call('PATCH', '/api/queues/fc-held', { body: { paused: false } });
    expect(resumed.json).toMatchObject({ paused: false, concurrency: 5 });

    expect((await refused('PATCH', '/api/queues/fc-held', { concurrency: 0 }, 422, 'INVALID_INPUT')).message).toContain('concurrency must be a positive integer');
    expect((await refused('PATCH', '/api/queues/fc-held', { rateLimit: { limit: 5 } }, 422, 'INVALID_INPUT')).message).toContain('rateLimit');
    expect((await refused('PATCH', '/api/queues/fc-held', { paused: 'yes' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'paused' });
    expect((await refused('PATCH', '/api/queues/fc-held', { concurency: 3 }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'concurency' });
    expect((await refused('PATCH', '/api/queues/fc-held', {}, 422, 'INVALID_INPUT')).message).toContain('nothing to change');
    expect((await refused('PATCH', '/api/queues/no-such-queue', { concurrency: 1 }, 422, 'UNKNOWN_QUEUE')).message).toContain('no-such-queue');
    await refused('GET', '/api/queues/no-such-queue', undefined, 404, 'NOT_FOUND');
    expect((await b.engine.admin.getQueue('fc-held'))).toMatchObject({ concurrency: 5, paused: false });
    expect(internalErrors).toEqual([]);
  });

  test('PUT a schedule: 201 created, 200 changed; GET it and the list; trigger runs it once now, its slot links the execution', async () => {
    const body = { cron: '0 2 * * *', timezone: 'Europe/Berlin', workflow: 'fc-done', input: { n: 1 } };
    const created = await call('PUT', '/api/schedules/fc-nightly', { body });
    expect(created.status).toBe(201);
    expectSchema('ScheduleSaved', created.json);
    expect(created.json.schedule).toMatchObject({ name: 'fc-nightly', cron: '0 2 * * *', timezone: 'Europe/Berlin', workflow: 'fc-done', paused: false, misfire: 'skip', slots: [] });
    const next = new Date(created.json.schedule.nextFireAt);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('02:00');

    const changed = await call('PUT', '/api/schedules/fc-nightly', { body: { ...body, cron: '30 3 * * *', misfire: 'once', maxLatenessMs: 120_000 } });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ created: false, schedule: { cron: '30 3 * * *', misfire: 'once', maxLatenessMs: 120_000 } });

    const list = await call('GET', '/api/schedules');
    expect(list.status).toBe(200);
    expectSchema('Schedules', list.json);
    expect(list.json.schedules.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['aries.auto-recover', 'fc-nightly']));

    const triggered = await call('POST', '/api/schedules/fc-nightly/trigger');
    expect(triggered.status).toBe(200);
    expectSchema('ScheduleTriggered', triggered.json);
    expect(await b.engine.handle(triggered.json.executionId).result({ timeoutMs: 20_000 })).toEqual({ got: { n: 1 } });
    const one = await call('GET', '/api/schedules/fc-nightly?limit=10');
    expectSchema('ScheduleDetail', one.json);
    expect(one.json.slots).toEqual([expect.objectContaining({ status: 'manual', executionId: triggered.json.executionId, executionStatus: 'COMPLETED', count: 1 })]);
    const listed = (await call('GET', '/api/schedules')).json.schedules.find((s: { name: string }) => s.name === 'fc-nightly');
    expect(listed.recentSlots[0]).toMatchObject({ status: 'manual', executionId: triggered.json.executionId });
    expect(one.json.nextFireAt).toBe(changed.json.schedule.nextFireAt); // a manual run leaves the cron slots alone
  });

  test('pause and resume say whether it was paused; slots missed while workers were down show as a skipped range', async () => {
    const paused = await call('POST', '/api/schedules/fc-nightly/pause');
    expect(paused.status).toBe(200);
    expectSchema('SchedulePaused', paused.json);
    expect(paused.json).toMatchObject({ wasPaused: false, schedule: { paused: true } });
    expect((await call('POST', '/api/schedules/fc-nightly/pause')).json.wasPaused).toBe(true);
    const resumed = await call('POST', '/api/schedules/fc-nightly/resume');
    expect(resumed.json).toMatchObject({ wasPaused: true, schedule: { paused: false } });
    expect((await b.engine.admin.getSchedule('fc-nightly')).paused).toBe(false);

    // Every minute, workers down for an hour: the latest slot starts, the earlier ones are one skipped range.
    expect((await call('PUT', '/api/schedules/fc-minutely', { body: { cron: '* * * * *', workflow: 'fc-done', input: 'tick' } })).status).toBe(201);
    await b.engine.db.query('UPDATE aries.schedules SET next_fire_at = $2 WHERE name = $1', ['fc-minutely', new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000)]);
    await b.engine.admin.pauseSchedule('aries.retention');
    await new Scheduler(b.engine.db, 1_000).fireDue();
    const detail = await call('GET', '/api/schedules/fc-minutely');
    expectSchema('ScheduleDetail', detail.json);
    const skipped = detail.json.slots.find((s: { status: string }) => s.status === 'skipped');
    expect(skipped).toMatchObject({ count: expect.any(Number), throughAt: expect.any(String), executionId: null });
    expect(skipped.count).toBeGreaterThanOrEqual(59);
    const started = detail.json.slots.filter((s: { status: string }) => s.status === 'started');
    expect(started.length).toBeLessThanOrEqual(1);
    expect(new Date(detail.json.nextFireAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const deleted = await call('DELETE', '/api/schedules/fc-minutely');
    expect(deleted.status).toBe(200);
    expectSchema('ScheduleDeleted', deleted.json);
    await refused('GET', '/api/schedules/fc-minutely', undefined, 404, 'SCHEDULE_NOT_FOUND');
  });

  test('schedule refusals: a bad cron, timezone or misfire, an unknown workflow, a built-in name, unknown names; nothing stored', async () => {
    const path = '/api/schedules/fc-bad';
    const base = { cron: '0 2 * * *', workflow: 'fc-done' };
    expect((await refused('PUT', path, { ...base, cron: '61 * * * *' }, 422, 'INVALID_INPUT')).message).toContain('fc-bad');
    expect((await refused('PUT', path, { ...base, cron: 7 }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'cron' });
    expect((await refused('PUT', path, { workflow: 'fc-done' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'cron' });
    expect((await refused('PUT', path, { ...base, timezone: 'Mars/Olympus_Mons' }, 422, 'INVALID_INPUT')).message).toContain('Mars/Olympus_Mons');
    expect((await refused('PUT', path, { ...base, misfire: 'sometimes' }, 422, 'INVALID_INPUT')).message).toContain('misfire');
    expect((await refused('PUT', path, { ...base, maxLatenessMs: 0 }, 422, 'INVALID_INPUT')).message).toContain('maxLatenessMs');
    expect((await refused('PUT', path, { cron: '0 2 * * *' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'workflow' });
    expect((await refused('PUT', path, { ...base, crn: '* * * * *' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'crn' });
    expect((await refused('PUT', path, { ...base, workflow: 'no-such-workflow' }, 422, 'UNKNOWN_WORKFLOW')).message).toContain('no-such-workflow');
    expect((await refused('PUT', '/api/schedules/aries.mine', base, 422, 'INVALID_INPUT')).message).toContain('built in');
    expect((await refused('DELETE', '/api/schedules/aries.auto-recover', undefined, 422, 'INVALID_INPUT')).message).toContain('pause it');
    for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['POST', '/pause'], ['POST', '/resume'], ['POST', '/trigger']] as const) {
      expect((await refused(method, `/api/schedules/no-such-schedule${suffix}`, undefined, 404, 'SCHEDULE_NOT_FOUND')).message).toContain('no-such-schedule');
    }
    await refused('GET', '/api/schedules/fc-nightly?limit=0', undefined, 422, 'INVALID_INPUT');
    expect((await b.engine.admin.listSchedules()).map((s) => s.name)).not.toContain('fc-bad');
    expect(internalErrors).toEqual([]);
  });

  test('retention: GET the policies, PUT one (a workflow or the default), refusals; a purge pass deletes what is past its policy', async () => {
    const none = await call('GET', '/api/retention');
    expect(none.status).toBe(200);
    expectSchema('Retention', none.json);
    expect(none.json).toEqual({ default: null, workflows: [] });

    await b.engine.admin.pauseSchedule('aries.retention'); // only this test's purge pass deletes anything
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await b.engine.start(purged, {})).id);
    for (const id of ids) await b.engine.handle(id).result({ timeoutMs: 20_000 });

    const set = await call('PUT', '/api/retention', { body: { finishedMs: 1, idempotencyKeysMs: 86_400_000, workflow: 'fc-purged' } });
    expect(set.status).toBe(200);
    expectSchema('Retention', set.json);
    expect(set.json.workflows).toEqual([expect.objectContaining({ workflow: 'fc-purged', finishedMs: 1, idempotencyKeysMs: 86_400_000, source: 'operator' })]);
    const byDefault = await call('PUT', '/api/retention', { body: { finishedMs: 365 * 86_400_000 } });
    expect(byDefault.json.default).toMatchObject({ workflow: null, finishedMs: 365 * 86_400_000, idempotencyKeysMs: null });

    expect((await refused('PUT', '/api/retention', { finishedMs: -5 }, 422, 'INVALID_INPUT')).message).toContain('finishedMs');
    expect((await refused('PUT', '/api/retention', { finishedMs: '1d' }, 422, 'INVALID_INPUT')).message).toContain('finishedMs');
    expect((await refused('PUT', '/api/retention', { keepFor: 5 }, 422, 'INVALID_INPUT')).message).toContain('keepFor');
    expect((await refused('PUT', '/api/retention', { finishedMs: 5, workflow: 7 }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'workflow' });
    expect((await refused('POST', '/api/retention/purge', { batchSize: 0 }, 422, 'INVALID_INPUT')).message).toContain('batchSize');
    expect((await refused('POST', '/api/retention/purge', { batchSize: 'all' }, 422, 'INVALID_INPUT')).details).toEqual({ field: 'batchSize' });

    await new Promise((r) => setTimeout(r, 20)); // past finishedMs: 1
    let deleted = 0;
    for (let pass = 0; pass < 10 && deleted < ids.length; pass++) {
      const purge = await call('POST', '/api/retention/purge', { body: { batchSize: 2 } });
      expect(purge.status).toBe(200);
      expectSchema('PurgeResult', purge.json);
      expect(purge.json.executions).toBeLessThanOrEqual(2);
      deleted += purge.json.executions;
      expect(purge.json.keysKept).toBe(0); // no idempotency keys on these starts
    }
    expect(deleted).toBe(ids.length);
    for (const id of ids) expect((await call('GET', `/api/executions/${id}`)).status).toBe(404);
    // Executions of other workflows (the default keeps them a year) are untouched.
    expect((await call('GET', '/api/executions?workflow=fc-done')).json.executions.length).toBeGreaterThan(0);
    expect(internalErrors).toEqual([]);
  });
});
