import { expect, test } from 'vitest';
import { createEngine, defineWorkflow, type WorkflowContext } from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { connectionReset, executionReaders, FAST, pause, workerStarter } from '../helpers/waits.js';

/**
 * Durable sleeps (ctx.sleep, ctx.sleepUntil): a sleeping execution is SLEEPING with no lease owner and
 * holds no worker slot; its wake time is on the database clock and nothing wakes it early; a replay
 * passes a finished sleep without sleeping again; a worker stopped during the sleep loses nothing; a bad
 * duration is refused with an error naming it, and nothing of the wait is stored.
 */

interface ExecRow {
  status: string;
  lease_owner: string | null;
  lease_expires_at: Date | null;
}

const { execRow, untilStatus } = executionReaders<ExecRow>('status, lease_owner, lease_expires_at');

interface StepRow {
  step_key: string;
  kind: string;
  status: string;
  attempt: number;
}

async function stepRows(db: Queryable, id: string): Promise<StepRow[]> {
  return db.query<StepRow>('SELECT step_key, kind, status, attempt FROM aries.steps WHERE execution_id = $1 AND seq >= 0 ORDER BY seq', [id]);
}

/**
 * The sleep `key` as stored, in milliseconds on the database clock: how long it was planned for (wake_at −
 * created_at), and whether the step `after` started at or after its wake time (nothing woke early).
 */
async function sleepTiming(db: Queryable, id: string, key: string, after: string) {
  const [row] = await db.query<{ planned_ms: number; wake_at: Date; after_not_early: boolean | null }>(
    `SELECT (extract(epoch FROM w.wake_at - w.created_at) * 1000)::float8 AS planned_ms, w.wake_at,
            (SELECT s.started_at >= w.wake_at FROM aries.steps s WHERE s.execution_id = w.execution_id AND s.step_key = $3) AS after_not_early
       FROM aries.waits w WHERE w.execution_id = $1 AND w.step_key = $2`,
    [id, key, after],
  );
  if (!row) throw new Error(`no wait "${key}" recorded for execution ${id}`);
  return row;
}

describeBackends('durable sleeps', (b) => {
  const worker = workerStarter(b);

  test('a sleeping execution is SLEEPING with no lease owner, its wake time on the database clock, and wakes no earlier', async () => {
    const wf = defineWorkflow('sleep-basic', async (ctx) => {
      await ctx.step('before', () => 'b');
      await ctx.sleep('nap', 1_500); // long enough to be seen asleep on a loaded machine
      return ctx.step('after', () => 'woke');
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const sleeping = await untilStatus(b.engine.db, h.id, ['SLEEPING']);
    expect(sleeping).toMatchObject({ lease_owner: null, lease_expires_at: null });
    expect((await stepRows(b.engine.db, h.id)).map((s) => [s.step_key, s.kind, s.status])).toEqual([
      ['before', 'step', 'COMPLETED'],
      ['nap', 'sleep', 'WAITING'],
    ]);
    expect(await h.result({ timeoutMs: 10_000 })).toBe('woke');
    const timing = await sleepTiming(b.engine.db, h.id, 'nap', 'after');
    expect(timing.planned_ms).toBeGreaterThanOrEqual(1_500);
    expect(timing.planned_ms).toBeLessThan(1_600);
    expect(timing.after_not_early).toBe(true);
    expect((await stepRows(b.engine.db, h.id)).map((s) => [s.step_key, s.kind, s.status])).toEqual([
      ['before', 'step', 'COMPLETED'],
      ['nap', 'sleep', 'COMPLETED'],
      ['after', 'step', 'COMPLETED'],
    ]);
  });

  test('a worker at concurrency 1 runs other executions while one of its executions sleeps', async () => {
    const sleeper = defineWorkflow('sleep-holds-no-slot', async (ctx) => {
      await ctx.sleep('nap', 3_000); // the three quick ones fit in it even on a loaded machine
      return ctx.step('after', () => 'woke');
    });
    const quick = defineWorkflow('sleep-quick', async (ctx, n: number) => ctx.step('only', () => n * 2));
    await worker([sleeper, quick], { concurrency: 1 });
    const h = await b.engine.start(sleeper, {});
    await untilStatus(b.engine.db, h.id, ['SLEEPING']);
    const quicks = await Promise.all([1, 2, 3].map((n) => b.engine.start(quick, n)));
    expect(await Promise.all(quicks.map((q) => q.result({ timeoutMs: 10_000 })))).toEqual([2, 4, 6]);
    // On the database clock, each of them finished before the sleeper's wake time: the one slot was free.
    const [{ early }] = (await b.engine.db.query<{ early: number }>(
      `SELECT count(*)::int AS early FROM aries.executions e
        WHERE e.id = ANY($1::uuid[]) AND e.finished_at < (SELECT w.wake_at FROM aries.waits w WHERE w.execution_id = $2 AND w.step_key = 'nap')`,
      [quicks.map((q) => q.id), h.id],
    )) as [{ early: number }];
    expect(early).toBe(3);
    expect(await h.result({ timeoutMs: 10_000 })).toBe('woke');
    expect((await sleepTiming(b.engine.db, h.id, 'nap', 'after')).after_not_early).toBe(true);
  });

  test('a replay passes a finished sleep without sleeping again, and runs no completed step again', async () => {
    const calls = { before: 0, after: [] as number[] };
    const wf = defineWorkflow('sleep-replay', { retry: FAST }, async (ctx) => {
      await ctx.step('before', () => ++calls.before);
      await ctx.sleep('nap', 500);
      return ctx.step('after', ({ attempt }) => {
        calls.after.push(Date.now());
        if (attempt === 1) throw connectionReset(); // TRANSIENT: the execution is replayed from its journal
        return attempt;
      });
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    expect(await h.result({ timeoutMs: 10_000 })).toBe(2);
    expect(calls.before).toBe(1);
    expect(calls.after).toHaveLength(2);
    // The replay between the two attempts of "after" passed "nap" at once instead of sleeping 500 ms again.
    expect(calls.after[1]! - calls.after[0]!).toBeLessThan(450);
    expect((await stepRows(b.engine.db, h.id)).map((s) => [s.step_key, s.status, s.attempt])).toEqual([
      ['before', 'COMPLETED', 1],
      ['nap', 'COMPLETED', 1],
      ['after', 'COMPLETED', 2],
    ]);
  });

  test.each(testSeeds([3, 17, 29]))('a worker stopped during a sleep and a new one started lose nothing (seed %i)', async (seed) => {
    const rng = seededRandom(seed);
    const runs = { before: 0, after: 0 };
    const wf = defineWorkflow(`sleep-restart-${seed}`, async (ctx) => {
      await ctx.step('before', () => ++runs.before);
      await ctx.sleep('nap', 400);
      return ctx.step('after', () => ++runs.after);
    });
    const first = await worker([wf]);
    const h = await b.engine.start(wf, {});
    await untilStatus(b.engine.db, h.id, ['SLEEPING']);
    const wakeBefore = (await sleepTiming(b.engine.db, h.id, 'nap', 'after')).wake_at.getTime();
    // The worker goes away at a random moment of the sleep; the next one comes before or after the wake time.
    await pause(rng.int(0, 250));
    await first.stop();
    await pause(rng.int(0, 400));
    // On the server a new engine, as after a restart of the process; an in-memory PGlite cannot be reopened.
    const engine = b.name === 'postgres' ? await createEngine({ ...b.connection, onError: () => {} }) : b.engine;
    try {
      await worker([wf], { engine });
      expect(await engine.handle(h.id).result({ timeoutMs: 10_000 }), `seed ${seed}`).toBe(1);
    } finally {
      if (engine !== b.engine) await engine.close();
    }
    expect(runs).toEqual({ before: 1, after: 1 });
    const timing = await sleepTiming(b.engine.db, h.id, 'nap', 'after');
    expect(timing.wake_at.getTime(), 'the wake time survived the restart unchanged').toBe(wakeBefore);
    expect(timing.after_not_early).toBe(true);
  });

  test('sleepUntil sleeps until the given time exactly; a time already past does not sleep', async () => {
    const wf = defineWorkflow('sleep-until', async (ctx, input: { past: string; at: string }) => {
      await ctx.sleepUntil('past', new Date(input.past));
      await ctx.step('between', () => 1);
      await ctx.sleepUntil('renewal', new Date(input.at));
      return ctx.step('after', () => 'renewed');
    });
    const [clock] = await b.engine.db.query<{ past: Date; at: Date }>(
      `SELECT now() - interval '1 hour' AS past, now() + interval '2 seconds' AS at`,
    );
    await worker([wf]);
    const h = await b.engine.start(wf, { past: clock!.past.toISOString(), at: clock!.at.toISOString() });
    const sleeping = await untilStatus(b.engine.db, h.id, ['SLEEPING']);
    expect(sleeping.lease_owner).toBeNull();
    expect(await h.result({ timeoutMs: 10_000 })).toBe('renewed');
    const [row] = await b.engine.db.query<{ exact: boolean }>(
      `SELECT w.wake_at = $2::timestamptz AS exact FROM aries.waits w WHERE w.execution_id = $1 AND w.step_key = 'renewal'`,
      [h.id, clock!.at.toISOString()],
    );
    expect(row?.exact).toBe(true);
    expect((await sleepTiming(b.engine.db, h.id, 'renewal', 'after')).after_not_early).toBe(true);
    // The step between the two sleeps ran long before "renewal" was due: the past date did not make it wait.
    const [between] = await b.engine.db.query<{ before_wake: boolean }>(
      `SELECT s.started_at < $2::timestamptz AS before_wake FROM aries.steps s WHERE s.execution_id = $1 AND s.step_key = 'between'`,
      [h.id, clock!.at.toISOString()],
    );
    expect(between?.before_wake).toBe(true);
  });

  test('sleeps under Promise.all run side by side: both begin before the first is due, and the workflow goes on after the last', async () => {
    const wf = defineWorkflow('sleep-all', async (ctx) => {
      await Promise.all([ctx.sleep('short', 200), ctx.sleep('long', 400)]);
      return ctx.step('after', () => 'both');
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    expect(await h.result({ timeoutMs: 10_000 })).toBe('both');
    const [row] = await b.engine.db.query<{ together: boolean; after_last: boolean }>(
      `SELECT l.created_at < s.wake_at AS together,
              (SELECT a.started_at >= l.wake_at FROM aries.steps a WHERE a.execution_id = $1 AND a.step_key = 'after') AS after_last
         FROM aries.waits s JOIN aries.waits l ON l.execution_id = s.execution_id AND l.step_key = 'long'
        WHERE s.execution_id = $1 AND s.step_key = 'short'`,
      [h.id],
    );
    expect(row).toEqual({ together: true, after_last: true });
  });

  const BAD_SLEEPS: [string, (ctx: WorkflowContext) => Promise<void>, RegExp][] = [
    ['negative', (ctx) => ctx.sleep('nap', -1), /-1|negative/],
    ['NaN', (ctx) => ctx.sleep('nap', Number.NaN), /NaN|finite/],
    ['infinite', (ctx) => ctx.sleep('nap', Number.POSITIVE_INFINITY), /Infinity|finite/],
    ['a string', (ctx) => ctx.sleep('nap', '100' as unknown as number), /number|string|"100"/],
    ['an invalid date', (ctx) => ctx.sleepUntil('nap', new Date('not a date')), /Invalid Date|date/i],
  ];

  test.each(BAD_SLEEPS)('a sleep with %s duration fails the execution with an error naming it, and nothing of the wait is stored', async (label, bad, names) => {
    const wf = defineWorkflow(`sleep-bad-${label.replace(/\W+/g, '-')}`, { retry: FAST }, async (ctx) => {
      await ctx.step('before', () => 1);
      await bad(ctx);
      return ctx.step('after', () => 'unreachable');
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('nap');
    expect((err as Error).message).toMatch(names);
    expect((await execRow(b.engine.db, h.id)).status).toBe('FAILED');
    expect((await stepRows(b.engine.db, h.id)).map((s) => [s.step_key, s.status])).toEqual([['before', 'COMPLETED']]);
    const [{ waits }] = (await b.engine.db.query<{ waits: number }>('SELECT count(*)::int AS waits FROM aries.waits WHERE execution_id = $1', [h.id])) as [
      { waits: number },
    ];
    expect(waits).toBe(0);
    // A programmer error: PERMANENT at once, not retried.
    const failures = await b.engine.db.query<{ failure_type: string }>('SELECT failure_type FROM aries.failures WHERE execution_id = $1', [h.id]);
    expect(failures.map((f) => f.failure_type)).toEqual(['PERMANENT']);
  });

  test('a sleep under a key a step already used fails the execution with DUPLICATE_STEP_KEY naming the key', async () => {
    const wf = defineWorkflow('sleep-duplicate-key', async (ctx) => {
      await ctx.step('same', () => 1);
      await ctx.sleep('same', 10);
      return 'unreachable';
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/DuplicateStepKeyError: .*"same"/);
    expect((await b.engine.admin.readExecution(h.id))?.error?.code).toBe('DUPLICATE_STEP_KEY');
    expect((await stepRows(b.engine.db, h.id)).map((s) => [s.step_key, s.kind, s.status])).toEqual([['same', 'step', 'COMPLETED']]);
  });
});
