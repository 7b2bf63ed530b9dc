import { expect, test } from 'vitest';
import { defineQueue, defineWorkflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { parseExposition, type Exposition } from '../helpers/exposition.js';
import { latch } from '../helpers/latch.js';

/**
 * The queue, schedule and retention series of engine.admin.renderMetrics(): the per-queue gauges show a
 * queue's real numbers (the same as engine.admin.getQueue) and its limits; admissions count per queue,
 * one for each claim from it (the executions' claim_count), none for unqueued claims; this process's scheduler counts
 * each slot it handled by status, exactly as the slot records say; a manual run and a purge count too.
 */
describeBackends('metrics of queues, schedules and retention', (b) => {
  const scrape = async (): Promise<Exposition> => parseExposition(await b.engine.admin.renderMetrics());

  async function until(cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const queue = defineQueue('mq-one', { concurrency: 1, rateLimit: { limit: 50, periodMs: 60_000 } });
  const release = latch();
  const blocker = defineWorkflow('mq-block', { queue }, async (ctx) => ctx.step('hold', () => release.promise.then(() => 'held')));
  const waiter = defineWorkflow('mq-wait', { queue }, async (ctx) => ctx.waitForSignal('go', { timeoutMs: 86_400_000 }));
  const quick = defineWorkflow('mq-quick', async (ctx) => ctx.step('one', () => 1));

  test("the per-queue gauges are the queue's numbers now, with its limits", async () => {
    const w = b.engine.worker({ workflows: [blocker, waiter], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    try {
      // One WAITING (no slot), then one RUNNING (the only slot), two due behind it, one delayed an hour.
      const waiting = await b.engine.start(waiter, {});
      await until(async () => (await b.engine.admin.readExecution(waiting.id))?.status === 'WAITING');
      const running = await b.engine.start(blocker, {});
      await until(async () => (await b.engine.admin.readExecution(running.id))?.status === 'RUNNING');
      for (let i = 0; i < 2; i++) await b.engine.start(blocker, {});
      await b.engine.start(blocker, {}, { delayMs: 3_600_000 });
      await new Promise((r) => setTimeout(r, 50));

      const m = await scrape();
      const q = (await b.engine.admin.getQueue('mq-one'))!;
      const gauge = (name: string) => m.value(`aries_queue_${name}`, { queue: 'mq-one' });
      expect([gauge('pending'), gauge('delayed'), gauge('running'), gauge('waiting')]).toEqual([2, 1, 1, 1]);
      expect([q.pending, q.delayed, q.running, q.waiting]).toEqual([2, 1, 1, 1]);
      expect(gauge('oldest_due_seconds')).toBeGreaterThan(0);
      expect(gauge('oldest_due_seconds')).toBeLessThanOrEqual((q.oldestDueMs! + 60_000) / 1000);
      expect(m.types.get('aries_queue_pending')).toBe('gauge');
      const limits = Object.fromEntries(m.find('aries_queue_limit', { queue: 'mq-one' }).map((s) => [s.labels.limit, s.value]));
      expect(limits).toEqual({ concurrency: 1, rate: 50 });

      // A runtime change shows at the next scrape.
      await b.engine.admin.setQueue('mq-one', { concurrency: 3, workerConcurrency: 2, keyConcurrency: 1, rateLimit: null });
      const after = await scrape();
      const changed = Object.fromEntries(after.find('aries_queue_limit', { queue: 'mq-one' }).map((s) => [s.labels.limit, s.value]));
      expect(changed).toEqual({ concurrency: 3, worker: 2, key: 1 });
    } finally {
      release.open();
      await w.stop();
    }
  });

  test('queue admissions count per queue: every claim from a queue (a wake-up too), no unqueued one', async () => {
    const counted = defineQueue('mq-count', { concurrency: 2 });
    const napper = defineWorkflow('mq-nap', { queue: counted }, async (ctx) => {
      await ctx.sleep('nap', 1_500); // long enough to suspend, even on a loaded machine: the wake-up is a second claim
      return ctx.step('after', () => 'woke');
    });
    const other = defineQueue('mq-other', {});
    const plain = defineWorkflow('mq-plain', async (ctx) => ctx.step('one', () => 1));
    const before = await scrape();
    const admissions = (m: Exposition, queue: string) => m.find('aries_queue_admissions_total', { queue }).reduce((n, s) => n + s.value, 0);
    const handles = [];
    for (let i = 0; i < 3; i++) handles.push(await b.engine.start(napper, {}));
    for (let i = 0; i < 2; i++) handles.push(await b.engine.start(plain, {}, { queue: other }));
    for (let i = 0; i < 4; i++) handles.push(await b.engine.start(plain, {}));
    const w = b.engine.worker({ workflows: [napper, plain], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    try {
      await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
    } finally {
      await w.stop();
    }
    const m = await scrape();
    const claims = await b.engine.db.query<{ queue_name: string | null; claims: number }>(
      `SELECT queue_name, sum(claim_count)::int AS claims FROM aries.executions
        WHERE workflow_name IN ('mq-nap', 'mq-plain') GROUP BY queue_name`,
    );
    const byQueue = new Map(claims.map((r) => [r.queue_name, r.claims]));
    expect(byQueue.get('mq-count')).toBeGreaterThanOrEqual(6); // each napper claimed, then claimed again when it woke
    expect(admissions(m, 'mq-count') - admissions(before, 'mq-count')).toBe(byQueue.get('mq-count'));
    expect(admissions(m, 'mq-other') - admissions(before, 'mq-other')).toBe(2);
    expect(m.types.get('aries_queue_admissions_total')).toBe('counter');
    // Unqueued claims count as claims, under no queue: only the queues that admitted have series.
    expect(new Set(m.find('aries_queue_admissions_total').map((s) => s.labels.queue))).toEqual(new Set(['mq-one', 'mq-count', 'mq-other']));
    const total = [...byQueue.values()].reduce((n, c) => n + c, 0);
    expect(m.value('aries_claimed_executions_total') - before.value('aries_claimed_executions_total')).toBe(total);
    expect(byQueue.get(null)).toBe(4);
  });

  test('schedule fires count by status, as the slot records say; a manual run and a purge count', async () => {
    await b.engine.schedule('mq-skip', { cron: '* * * * * *', workflow: quick, misfire: 'skip' });
    await b.engine.schedule('mq-all', { cron: '* * * * * *', workflow: quick, misfire: 'all', maxLatenessMs: 1_500 });
    // Ten seconds of slots came due while nothing fired.
    await b.engine.db.query(`UPDATE aries.schedules SET next_fire_at = date_trunc('second', aries.now()) - interval '10 seconds' WHERE name IN ('mq-skip', 'mq-all')`);
    const fires = (m: Exposition, schedule: string, status: string) => m.find('aries_schedule_fires_total', { schedule, status }).reduce((n, s) => n + s.value, 0);

    const w = b.engine.worker({ workflows: [quick], pollIntervalMs: 20, schedulerIntervalMs: 50 });
    await w.start();
    try {
      await until(async () => {
        const m = await scrape();
        return fires(m, 'mq-skip', 'started') >= 2 && fires(m, 'mq-all', 'started') >= 2;
      });
      await b.engine.admin.pauseSchedule('mq-skip');
      await b.engine.admin.pauseSchedule('mq-all');
    } finally {
      await w.stop();
    }
    const triggered = await b.engine.admin.triggerSchedule('mq-skip');
    expect(triggered.executionId).not.toBeNull();

    const m = await scrape();
    for (const name of ['mq-skip', 'mq-all']) {
      const { slots } = await b.engine.admin.getSchedule(name, { limit: 1_000 });
      for (const status of ['started', 'skipped', 'missed', 'manual']) {
        const recorded = slots.filter((s) => s.status === status).reduce((n, s) => n + s.count, 0);
        expect(fires(m, name, status), `${name} ${status}`).toBe(recorded);
      }
    }
    expect(fires(m, 'mq-skip', 'skipped')).toBeGreaterThanOrEqual(9); // all but the latest of the ten
    expect(fires(m, 'mq-all', 'missed')).toBeGreaterThanOrEqual(8); // more than 1.5 s late
    expect(fires(m, 'mq-skip', 'manual')).toBe(1);
    expect(fires(m, 'mq-all', 'manual')).toBe(0);

    // Retention: what engine.admin.purgeFinished deletes is counted.
    const before = m.value('aries_retention_purged_total');
    await b.engine.admin.setRetention({ finishedMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    const purged = await b.engine.admin.purgeFinished({ batchSize: 3 });
    expect(purged.executions).toBe(3);
    expect((await scrape()).value('aries_retention_purged_total')).toBe(before + 3);
    await b.engine.admin.clearRetention();
  });
});
