import { afterEach, expect, test } from 'vitest';
import { createEngine, defineQueue, defineWorkflow, UnknownQueueError, InvalidDefinitionError, InvalidInputError, type Engine } from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { sqlError } from '../helpers/sql.js';
import { pause, waitFor, workerStarter } from '../helpers/waits.js';

/**
 * Queues through the SDK with real workers: defineQueue and a workflow in it, several workers (on the
 * server, several engines on one database), the concurrency observed inside steps never above the limits;
 * runtime changes (setQueue), delayMs, priority, debounce (last input wins, runs once, maxDelayMs bounds
 * the wait, concurrent debounced starts make one execution), UNKNOWN_QUEUE, and listQueues' stats.
 */

/** Counts executions inside a step at once, overall and per key: the most seen of each. */
function overlapTracker() {
  let now = 0;
  let max = 0;
  const perKey = new Map<string, number>();
  let maxPerKey = 0;
  return {
    async inside(key: string, ms: number) {
      now++;
      max = Math.max(max, now);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      maxPerKey = Math.max(maxPerKey, perKey.get(key)!);
      await pause(ms);
      perKey.set(key, perKey.get(key)! - 1);
      now--;
    },
    get max() {
      return max;
    },
    get maxPerKey() {
      return maxPerKey;
    },
  };
}

async function execRow(db: Queryable, id: string) {
  const [row] = await db.query<{ status: string; created_at: Date; available_at: Date; started_at: Date | null; input: unknown; claim_count: number }>(
    'SELECT status, created_at, available_at, started_at, input, claim_count FROM aries.executions WHERE id = $1',
    [id],
  );
  return row!;
}

describeBackends('queues through the SDK', (b) => {
  const worker = workerStarter(b, { concurrency: 6, pollIntervalMs: 20, schedulerIntervalMs: 0 });
  const extra: Engine[] = [];
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((e) => e.close()));
  });

  /** Engines on the test database for more workers: other engines on the server, this one on PGlite (private in memory). */
  async function engines(n: number): Promise<Engine[]> {
    if (b.name === 'pglite') return Array.from({ length: n }, () => b.engine);
    const opened = await Promise.all(Array.from({ length: n - 1 }, () => createEngine({ ...b.connection, onError: () => {} })));
    extra.push(...opened);
    return [b.engine, ...opened];
  }

  for (const seed of testSeeds([7])) {
    test(`several workers never run more than the queue's limits at once (seed ${seed})`, { timeout: 60_000 }, async () => {
      const rnd = seededRandom(seed);
      const track = overlapTracker();
      const q = defineQueue(`sdk-limits-${seed}`, { concurrency: 3, keyConcurrency: 1 });
      const wf = defineWorkflow(`sdk-limits-${seed}`, { queue: q }, async (ctx, input: { key: string; ms: number }) => {
        await ctx.step('work', () => track.inside(input.key, input.ms));
        return input.key;
      });
      for (const e of await engines(3)) await worker([wf], { engine: e });
      const keys = ['a', 'b', 'c', 'd', 'e'];
      const handles = [];
      for (let i = 0; i < 24; i++) {
        const key = keys[rnd.int(0, 4)]!;
        handles.push(await b.engine.start(wf, { key, ms: rnd.int(5, 40) }, { queueKey: key }));
      }
      await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
      expect(track.max).toBeLessThanOrEqual(3);
      expect(track.maxPerKey).toBe(1);
      expect(track.max).toBeGreaterThan(0);
    });
  }

  test('a full rate window wakes the worker when it frees: all start, no window holds more than the rate', { timeout: 60_000 }, async () => {
    const q = defineQueue('sdk-rate-wake', { rateLimit: { limit: 5, periodMs: 1_000 } });
    const wf = defineWorkflow('sdk-rate-wake', { queue: q }, async (ctx, i: number) => ctx.step('run', () => i));
    const handles = [];
    for (let i = 0; i < 15; i++) handles.push(await b.engine.start(wf, i));
    // A poll a minute apart, nothing notifies a freed window and the runs end long before it frees: only
    // the wake the worker arms from aries.next_queue_admission can admit the second and third five.
    const w = b.engine.worker({ workflows: [wf], concurrency: 10, pollIntervalMs: 60_000, schedulerIntervalMs: 0 });
    await w.start();
    try {
      expect(await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })))).toEqual([...Array(15).keys()]);
    } finally {
      await w.stop();
    }
    const starts = (await b.engine.db.query<{ started_at: Date }>(
      `SELECT started_at FROM aries.executions WHERE queue_name = 'sdk-rate-wake' ORDER BY started_at`,
    )).map((r) => new Date(r.started_at).getTime());
    expect(starts).toHaveLength(15);
    // Every window (t - 1000, t] holds at most five: any six consecutive starts span at least 1,000 ms.
    for (let i = 0; i + 5 < starts.length; i++) expect(starts[i + 5]! - starts[i]!).toBeGreaterThanOrEqual(1_000);
  });

  test('keyConcurrency 1: two runs of one key never overlap; other keys run beside it', { timeout: 60_000 }, async () => {
    const track = overlapTracker();
    const q = defineQueue('sdk-keys', { keyConcurrency: 1, concurrency: 4 });
    const wf = defineWorkflow('sdk-keys', { queue: q }, async (ctx, input: { key: string }) => {
      await ctx.step('work', () => track.inside(input.key, 20));
      return input.key;
    });
    for (const e of await engines(2)) await worker([wf], { engine: e });
    const handles = [];
    for (let i = 0; i < 12; i++) {
      const key = ['x', 'y', 'z'][i % 3]!;
      handles.push(await b.engine.start(wf, { key }, { queueKey: key }));
    }
    await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
    expect(track.maxPerKey).toBe(1);
    expect(track.max).toBeLessThanOrEqual(3);
  });

  test('setQueue at runtime: paused admits nothing, resumed runs; an operator’s limit survives the definition', async () => {
    const q = defineQueue('sdk-ops', { concurrency: 2 });
    const wf = defineWorkflow('sdk-ops', { queue: q }, async () => 'done');
    const h1 = await b.engine.start(wf, {}); // registers the queue
    const paused = await b.engine.admin.setQueue('sdk-ops', { paused: true, concurrency: 1 });
    expect(paused).toMatchObject({ paused: true, concurrency: 1, source: 'operator' });
    const h2 = await b.engine.start(wf, {});
    await worker([wf]); // registering the definition again keeps the operator's settings
    await pause(200);
    expect((await execRow(b.engine.db, h1.id)).status).toBe('PENDING');
    expect((await b.engine.admin.getQueue('sdk-ops'))).toMatchObject({ paused: true, concurrency: 1, pending: 2 });
    await b.engine.admin.setQueue('sdk-ops', { paused: false, concurrency: null });
    expect(await Promise.all([h1.result({ timeoutMs: 10_000 }), h2.result({ timeoutMs: 10_000 })])).toEqual(['done', 'done']);
    expect(await b.engine.admin.getQueue('sdk-ops')).toMatchObject({ concurrency: null, pending: 0, running: 0 });
    await expect(b.engine.admin.setQueue('sdk-nope', { concurrency: 1 })).rejects.toBeInstanceOf(UnknownQueueError);
    await expect(b.engine.admin.setQueue('sdk-ops', { concurrency: 0 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('delayMs: due that long after the start on the database clock, queued or not', async () => {
    const plain = defineWorkflow('sdk-delay', async () => 'late');
    await worker([plain]);
    const h = await b.engine.start(plain, {}, { delayMs: 300 });
    expect(await h.result({ timeoutMs: 10_000 })).toBe('late');
    const row = await execRow(b.engine.db, h.id);
    expect(row.available_at.getTime() - row.created_at.getTime()).toBe(300);
    expect(row.started_at!.getTime()).toBeGreaterThanOrEqual(row.available_at.getTime());
    await expect(b.engine.start(plain, {}, { delayMs: -1 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('priority: with one slot, the higher priority runs first', async () => {
    const q = defineQueue('sdk-prio', { concurrency: 1 });
    const order: string[] = [];
    const wf = defineWorkflow('sdk-prio', { queue: q }, async (ctx, input: string) => ctx.step('run', () => void order.push(input)));
    await b.engine.start(wf, 'warm-up');
    await b.engine.admin.setQueue('sdk-prio', { paused: true });
    const low = await b.engine.start(wf, 'low', { priority: 1 });
    const high = await b.engine.start(wf, 'high', { priority: 10 });
    await worker([wf]);
    await b.engine.admin.setQueue('sdk-prio', { paused: false });
    await Promise.all([low.result({ timeoutMs: 10_000 }), high.result({ timeoutMs: 10_000 })]);
    expect(order.filter((o) => o !== 'warm-up')).toEqual(['high', 'low']);
  });

  test('debounce: the last input wins, it runs once, later starts return the same execution', async () => {
    let runs = 0;
    const wf = defineWorkflow('sdk-debounce', async (ctx, input: number) => ctx.step('run', () => (runs++, input)));
    await worker([wf]);
    const debounce = { key: 'cust-1', delayMs: 400 };
    const first = await b.engine.start(wf, 1, { debounce });
    const second = await b.engine.start(wf, 2, { debounce });
    const third = await b.engine.start(wf, 3, { debounce });
    expect([first.created, second.created, third.created]).toEqual([true, false, false]);
    expect([first.debounced, second.debounced, third.debounced]).toEqual([false, true, true]);
    expect(new Set([first.id, second.id, third.id]).size).toBe(1);
    expect(await first.result({ timeoutMs: 10_000 })).toBe(3);
    expect(runs).toBe(1);
    const journal = await b.engine.db.query<{ kind: string }>('SELECT kind FROM aries.journal WHERE execution_id = $1 ORDER BY lsn', [first.id]);
    expect(journal.filter((r) => r.kind === 'execution_input_replaced')).toHaveLength(2);
    const after = await b.engine.start(wf, 4, { debounce });
    expect(after.id).not.toBe(first.id); // claimed: the next start makes a new one
    expect(await after.result({ timeoutMs: 10_000 })).toBe(4);
    await expect(b.engine.start(wf, 5, { debounce, idempotencyKey: 'k' })).rejects.toBeInstanceOf(InvalidInputError);
  });

  test('debounce: maxDelayMs bounds the wait from the first start', async () => {
    const wf = defineWorkflow('sdk-debounce-max', async () => 'ran');
    const h = await b.engine.start(wf, 1, { debounce: { key: 'k', delayMs: 60_000, maxDelayMs: 500 } });
    await b.engine.start(wf, 2, { debounce: { key: 'k', delayMs: 60_000, maxDelayMs: 500 } });
    const row = await execRow(b.engine.db, h.id);
    expect(row.available_at.getTime() - row.created_at.getTime()).toBe(500);
    expect(row.input).toBe(2);
  });

  test('debounce: concurrent starts under one key make one execution', async () => {
    const wf = defineWorkflow('sdk-debounce-race', async () => 'ran');
    await b.engine.start(wf, -1, { debounce: { key: 'warm', delayMs: 1 } }); // registers the workflow
    const [other] = await engines(2).then((es) => es.slice(1).concat(b.engine));
    const handles = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? other! : b.engine).start(wf, i, { debounce: { key: 'race', delayMs: 60_000 } })),
    );
    expect(new Set(handles.map((h) => h.id)).size).toBe(1);
    expect(handles.filter((h) => h.created)).toHaveLength(1);
    const [{ n }] = (await b.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.executions WHERE workflow_name = 'sdk-debounce-race' AND input::text <> '-1'`)) as [{ n: number }];
    expect(n).toBe(1);
  });

  test('UNKNOWN_QUEUE: from engine.start (the workflow’s queue or the start’s) and from SQL; nothing is stored', async () => {
    const wf = defineWorkflow('sdk-unknown', { queue: 'not-defined' }, async () => 'x');
    const err = await b.engine.start(wf, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownQueueError);
    expect((err as UnknownQueueError).code).toBe('UNKNOWN_QUEUE');
    expect((err as Error).message).toContain('not-defined');
    const plain = defineWorkflow('sdk-unknown-2', async () => 'x');
    await expect(b.engine.start(plain, {}, { queue: 'also-missing' })).rejects.toBeInstanceOf(UnknownQueueError);
    const sqlErr = await sqlError(b.engine.db.query(`SELECT * FROM aries.start_execution(p_workflow => 'sdk-unknown-2', p_version => NULL, p_input => '{}', p_queue => 'nope')`));
    expect(sqlErr.code).toBe('AR013');
    expect(await b.engine.db.query(`SELECT 1 FROM aries.executions WHERE workflow_name LIKE 'sdk-unknown%'`)).toHaveLength(0);
    expect(() => defineQueue('', {})).toThrow(InvalidDefinitionError);
    expect(() => defineQueue('q', { concurrency: 1.5 })).toThrow(InvalidDefinitionError);
    expect(() => defineQueue('q', { rateLimit: { limit: 1 } as never })).toThrow(InvalidDefinitionError);
  });

  test('listQueues: limits and live stats (pending, delayed, running, waiting, oldest due, started in window)', async () => {
    const q = defineQueue('sdk-stats', { concurrency: 1, rateLimit: { limit: 100, periodMs: 60_000 } });
    const wf = defineWorkflow('sdk-stats', { queue: q }, async (ctx) => {
      await ctx.sleep('nap', 60_000);
      return 'x';
    });
    await b.engine.start(wf, {});
    await b.engine.start(wf, {});
    await b.engine.start(wf, {}, { delayMs: 60_000 });
    await worker([wf]);
    const stats = await waitFor('two sleeping', async () => {
      const s = await b.engine.admin.getQueue('sdk-stats');
      return s && s.waiting === 2 ? s : undefined;
    });
    expect(stats).toMatchObject({ concurrency: 1, rateLimit: { limit: 100, periodMs: 60_000 }, pending: 0, delayed: 1, running: 0, waiting: 2, startedInWindow: 2 });
    expect((await b.engine.admin.listQueues()).map((x) => x.name)).toContain('sdk-stats');
  });
});
