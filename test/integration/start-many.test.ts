import { expect, test } from 'vitest';
import { aesGcmCodec, defineQueue, defineWorkflow, type Worker } from '../../src/index.js';
import { startApiServer } from '../../src/server/api-server.js';
import { describeBackends } from '../helpers/backends.js';
import { expectSchema, TOKEN } from '../helpers/openapi-schema.js';

/**
 * engine.startMany (aries.start_executions): many executions of one workflow in one call, each item with
 * its own idempotency key semantics, all or nothing.
 */
describeBackends('starting many executions at once', (b) => {
  const double = defineWorkflow('many-double', async (ctx, n: number) => ctx.step('double', () => n * 2));
  let worker: Worker | undefined;
  async function running(): Promise<void> {
    if (worker) return;
    worker = b.engine.worker({ workflows: [double], concurrency: 8, pollIntervalMs: 100 });
    await worker.start();
  }
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await b.engine.db.query<{ n: string | number }>(sql, params))[0]!.n);

  test('200 inputs: 200 PENDING executions in input order, each with its execution_started record, all run', async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => i);
    const handles = await b.engine.startMany(double, inputs);
    expect(handles).toHaveLength(200);
    expect(new Set(handles.map((h) => h.id)).size).toBe(200);
    expect(handles.every((h) => h.created)).toBe(true);
    const ids = handles.map((h) => h.id);
    const rows = await b.engine.db.query<{ id: string; input: number; n: string | number }>(
      `SELECT e.id, e.input, (SELECT count(*) FROM aries.journal j WHERE j.execution_id = e.id AND j.kind = 'execution_started') AS n
         FROM aries.executions e WHERE e.id = ANY ($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id)!.input)).toEqual(inputs); // handle i is input i
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    await running();
    const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 60_000 })));
    expect(results).toEqual(inputs.map((n) => n * 2));
  });

  test('idempotency keys per item: a used key answers with its execution; a key twice in a batch is one execution', async () => {
    const first = await b.engine.startMany(double, [1, 2, 3], { idempotencyKeys: ['k-1', 'k-2', null] });
    expect(first.map((h) => h.created)).toEqual([true, true, true]);
    const again = await b.engine.startMany(double, [1, 2, 3, 4, 4], { idempotencyKeys: ['k-1', 'k-2', null, 'k-4', 'k-4'] });
    expect(again.map((h) => h.created)).toEqual([false, false, true, true, false]);
    expect(again[0]!.id).toBe(first[0]!.id);
    expect(again[1]!.id).toBe(first[1]!.id);
    expect(again[2]!.id).not.toBe(first[2]!.id); // no key: a new execution
    expect(again[4]!.id).toBe(again[3]!.id);
    // The same keys through engine.start agree.
    expect((await b.engine.start(double, 4, { idempotencyKey: 'k-4' })).id).toBe(again[3]!.id);
  });

  test('a key with a different input is IDEMPOTENCY_CONFLICT naming the item; the batch starts nothing', async () => {
    const [taken] = await b.engine.startMany(double, [10], { idempotencyKeys: ['c-1'] });
    const before = await count('SELECT count(*) AS n FROM aries.executions');
    await expect(b.engine.startMany(double, [20, 11], { idempotencyKeys: ['c-new', 'c-1'] })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      message: expect.stringMatching(new RegExp(`item 2 of the batch: idempotency key "c-1" already started execution ${taken!.id}`)),
    });
    await expect(b.engine.startMany(double, [1, 2], { idempotencyKeys: ['c-twice', 'c-twice'] })).rejects.toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      message: expect.stringContaining('item 2 of the batch: idempotency key "c-twice" is given to item 1 too, with a different input'),
    });
    expect(await count('SELECT count(*) AS n FROM aries.executions')).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM aries.executions WHERE idempotency_key = 'c-new'`)).toBe(0);
  });

  test('bad items and options are refused before anything is stored, naming the item', async () => {
    const before = await count('SELECT count(*) AS n FROM aries.executions');
    await expect(b.engine.startMany(double, [1, 2n as unknown as number])).rejects.toMatchObject({
      code: 'NOT_JSON_SERIALIZABLE',
      message: expect.stringMatching(/^item 2 of the batch: /),
    });
    await expect(b.engine.startMany(double, [1, 2], { idempotencyKeys: ['only-one'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('one idempotency key (or null) per input: 2 input(s)'),
    });
    await expect(b.engine.startMany(double, [1], { idempotencyKeys: [''] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(b.engine.startMany(double, 'nope' as unknown as number[])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await count('SELECT count(*) AS n FROM aries.executions')).toBe(before);
    expect(await b.engine.startMany(double, [])).toEqual([]);
  });

  test('the placement is the batch\'s: queue, key, priority, delay and timeout on every item', async () => {
    const mail = defineQueue('many-mail', { concurrency: 2 });
    const handles = await b.engine.startMany('many-double', [1, 2, 3], {
      queue: mail,
      queueKey: 'tenant-a',
      priority: 5,
      delayMs: 60_000,
      timeoutMs: 3_600_000,
    });
    const rows = await b.engine.db.query<{ queue_name: string; queue_key: string; priority: number; due_s: number; timeout_s: number }>(
      `SELECT queue_name, queue_key, priority,
              extract(epoch FROM available_at - created_at)::float8 AS due_s,
              extract(epoch FROM deadline_at - created_at)::float8 AS timeout_s
         FROM aries.executions WHERE id = ANY ($1::uuid[])`,
      [handles.map((h) => h.id)],
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect([r.queue_name, r.queue_key, r.priority]).toEqual(['many-mail', 'tenant-a', 5]);
      expect(r.due_s).toBeCloseTo(60, 0);
      expect(r.timeout_s).toBeCloseTo(3600, 0);
    }
  });

  test('two batches racing over the same keys (in opposite and in random orders) start each key once, never deadlock, and both answer with that execution', async () => {
    const inputOf = (key: string) => Number(key.split('-')[2]);
    for (let round = 0; round < 6; round++) {
      const keys = Array.from({ length: 150 }, (_, i) => `race-${round}-${i}`);
      const other = round % 2 === 0 ? [...keys].reverse() : [...keys].sort(() => Math.random() - 0.5);
      const [a, c] = await Promise.all([
        b.engine.startMany(double, keys.map(inputOf), { idempotencyKeys: keys }),
        b.engine.startMany(double, other.map(inputOf), { idempotencyKeys: other }),
      ]);
      const idOf = new Map(keys.map((k, i) => [k, a[i]!.id]));
      other.forEach((k, i) => expect(c[i]!.id).toBe(idOf.get(k)));
      expect(a.filter((h) => h.created).length + c.filter((h) => h.created).length).toBe(keys.length);
    }
    expect(await count(`SELECT count(*) AS n FROM aries.executions WHERE idempotency_key LIKE 'race-%'`)).toBe(900);
  });

  test('the API: POST /api/executions/batch starts them all (201), answers a repeat with the same ids (200), refuses a conflict (409)', async () => {
    await running(); // the worker registers the workflow the API starts by name
    const server = await startApiServer({ engine: b.engine, port: 0, token: TOKEN, dashboardDir: false });
    try {
      const post = async (body: unknown) => {
        const res = await fetch(`${server.url}/api/executions/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: (await res.json()) as any };
      };
      const body = { workflow: 'many-double', inputs: [5, 6, 7], idempotencyKeys: ['api-5', 'api-6', null] };
      const first = await post(body);
      expect(first.status).toBe(201);
      expectSchema('StartedMany', first.json);
      expect(first.json.executions.map((e: { created: boolean }) => e.created)).toEqual([true, true, true]);
      const again = await post({ ...body, inputs: [5, 6], idempotencyKeys: ['api-5', 'api-6'] });
      expect(again.status).toBe(200);
      expect(again.json.executions.map((e: { id: string }) => e.id)).toEqual(first.json.executions.slice(0, 2).map((e: { id: string }) => e.id));
      const conflict = await post({ workflow: 'many-double', inputs: [50], idempotencyKeys: ['api-5'] });
      expect(conflict.status).toBe(409);
      expect(conflict.json.error.code).toBe('IDEMPOTENCY_CONFLICT');
      expect(conflict.json.error.message).toContain('item 1 of the batch');
      const notArray = await post({ workflow: 'many-double', inputs: { a: 1 } });
      expect([notArray.status, notArray.json.error.code]).toEqual([422, 'INVALID_INPUT']);
      const unknownField = await post({ workflow: 'many-double', inputs: [1], idempotencyKey: 'one' });
      expect(unknownField.status).toBe(422);
    } finally {
      await server.close();
    }
  });

  test('stop the worker', async () => {
    await worker?.stop();
  });
});

describeBackends(
  'starting many executions at once, with a payload codec',
  (b) => {
    const sealed = defineWorkflow('many-sealed', async (ctx, input: { card: string }) => ctx.step('charge', () => input.card.slice(-4)));
    const count = async () => Number((await b.engine.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM aries.executions`))[0]!.n);

    test('inputs are stored encoded; a repeat batch answers with the same executions; another input under a key takes the whole batch back', async () => {
      const cards = ['4111-0001', '4111-0002', '4111-0003'];
      const first = await b.engine.startMany(sealed, cards.map((card) => ({ card })), { idempotencyKeys: ['s-1', 's-2', 's-3'] });
      expect(first.every((h) => h.created)).toBe(true);
      const plain = await b.engine.db.query(`SELECT 1 FROM aries.executions e WHERE e::text LIKE '%4111-000%'`);
      expect(plain).toEqual([]);
      const again = await b.engine.startMany(sealed, cards.map((card) => ({ card })), { idempotencyKeys: ['s-1', 's-2', 's-3'] });
      expect(again.map((h) => [h.id, h.created])).toEqual(first.map((h) => [h.id, false]));
      const before = await count();
      await expect(
        b.engine.startMany(sealed, [{ card: 'new' }, { card: 'other' }], { idempotencyKeys: ['s-new', 's-2'] }),
      ).rejects.toMatchObject({
        code: 'IDEMPOTENCY_CONFLICT',
        message: expect.stringContaining(`item 2 of the batch: idempotency key "s-2" already started execution ${first[1]!.id}`),
      });
      expect(await count()).toBe(before); // s-new was taken back with the batch
      await expect(
        b.engine.startMany(sealed, [{ card: 'a' }, { card: 'b' }], { idempotencyKeys: ['s-twice', 's-twice'] }),
      ).rejects.toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', message: expect.stringContaining('item 2 of the batch') });
      const worker = b.engine.worker({ workflows: [sealed], pollIntervalMs: 100 });
      await worker.start();
      try {
        expect(await Promise.all(first.map((h) => h.result({ timeoutMs: 30_000 })))).toEqual(['0001', '0002', '0003']);
      } finally {
        await worker.stop();
      }
    });
  },
  { codec: aesGcmCodec({ keys: { k1: Buffer.alloc(32, 7) }, current: 'k1' }) },
);
