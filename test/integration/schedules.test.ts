import { afterEach, expect, test } from 'vitest';
import {
  createEngine,
  defineWorkflow,
  InvalidDefinitionError,
  InvalidInputError,
  ScheduleNotFoundError,
  UnknownWorkflowError,
  type Engine,
  type Worker,
} from '../../src/index.js';
import { nextSlotAfter } from '../../src/core/schedule-slots.js';
import { Scheduler } from '../../src/worker/scheduler.js';
import { describeBackends } from '../helpers/backends.js';
import { parseExposition } from '../helpers/exposition.js';
import { seededRandom } from '../helpers/seeded-random.js';

/**
 * Schedules end to end: engine.schedule and engine.admin, workers' schedulers firing each slot once,
 * misfire policies after a downtime (a schedule whose next slot lies in the past, as one left by workers
 * that were all down), timezones, and the built-in recovery schedule.
 */
describeBackends('schedules', (b) => {
  const tick = defineWorkflow('sched-tick', async (_ctx, input: { n: number }) => input.n);
  const workers: Worker[] = [];
  const engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(engines.splice(0).map((e) => e.close()));
  });

  const slotKeys = async (name: string) =>
    (
      await b.engine.db.query<{ k: string }>(
        `SELECT idempotency_key AS k FROM aries.executions WHERE idempotency_key LIKE $1 ORDER BY 1`,
        [`aries:schedule:${name}:2%`],
      )
    ).map((r) => r.k);

  /** Workers were all down: the schedule's first unhandled slot is `from`. */
  const downSince = (name: string, from: Date) =>
    b.engine.db.query('UPDATE aries.schedules SET next_fire_at = $2 WHERE name = $1', [name, from]);

  test('a per-second schedule fired by several workers starts each slot exactly once, slots contiguous', async () => {
    const random = seededRandom(2207);
    // The server: three engines (three pools), a worker each; PGlite: three workers on the one engine.
    const owners = b.name === 'postgres' ? await Promise.all([0, 1, 2].map(() => createEngine({ ...b.connection, onError: () => {} }))) : [b.engine, b.engine, b.engine];
    if (b.name === 'postgres') engines.push(...owners);
    await b.engine.schedule('every-second', { cron: '*/1 * * * * *', workflow: tick, input: { n: 1 }, misfire: 'all' });
    for (const owner of owners) {
      const w = owner.worker({ workflows: [tick], pollIntervalMs: 50, schedulerIntervalMs: random.int(40, 400) });
      workers.push(w);
      await w.start();
    }
    await new Promise((r) => setTimeout(r, 4_500));
    await b.engine.admin.pauseSchedule('every-second');
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const keys = await slotKeys('every-second');
    expect(keys.length).toBeGreaterThanOrEqual(3);
    expect(new Set(keys).size).toBe(keys.length);
    const times = keys.map((k) => Date.parse(k.slice('aries:schedule:every-second:'.length)));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(1_000);
    const detail = await b.engine.admin.getSchedule('every-second');
    const started = detail.slots.filter((s) => s.status === 'started');
    expect(started).toHaveLength(keys.length);
    expect(detail.slots.every((s) => s.status === 'started')).toBe(true);
    expect(new Set(started.map((s) => s.executionId)).size).toBe(keys.length);
    await b.engine.admin.deleteSchedule('every-second');
  });

  test("misfire 'skip' after an hour down: only the latest per-second slot starts (on time), the rest one skipped range", async () => {
    await b.engine.schedule('down-skip', { cron: '* * * * * *', workflow: tick, input: { n: 2 }, misfire: 'skip' });
    await downSince('down-skip', new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000));
    const scheduler = new Scheduler(b.engine.db, 1_000);
    while (await scheduler.fireDue()) { /* until nothing is due */ }
    const { slots, nextFireAt, lastSlotAt } = await b.engine.admin.getSchedule('down-skip');
    const [started, skipped] = slots;
    expect(slots).toHaveLength(2);
    expect(started).toMatchObject({ status: 'started', count: 1, executionStatus: 'PENDING' });
    expect(skipped).toMatchObject({ status: 'skipped', executionId: null });
    expect(skipped!.count).toBeGreaterThanOrEqual(3_600);
    expect(skipped!.throughAt!.getTime()).toBe(started!.slotAt.getTime() - 1_000);
    expect(skipped!.count).toBe((skipped!.throughAt!.getTime() - skipped!.slotAt.getTime()) / 1_000 + 1);
    expect(lastSlotAt).toEqual(started!.slotAt);
    expect(nextFireAt.getTime()).toBe(started!.slotAt.getTime() + 1_000);
    expect(await slotKeys('down-skip')).toHaveLength(1);
    await b.engine.admin.deleteSchedule('down-skip');
  });

  // A yearly schedule (00:00 on 1 January) down since 2020: every due slot is months late or more.
  const yearly = '0 0 0 1 1 *';
  const jan1 = (year: number) => new Date(Date.UTC(year, 0, 1));
  const thisYear = new Date().getUTCFullYear();

  test("misfire 'skip' starts nothing when the latest slot is late; 'once' starts it anyway (one catch-up run)", async () => {
    for (const misfire of ['skip', 'once'] as const) {
      const name = `yearly-${misfire}`;
      await b.engine.schedule(name, { cron: yearly, workflow: tick, input: { n: 3 }, misfire });
      await downSince(name, jan1(2020));
      await new Scheduler(b.engine.db, 1_000).fireDue();
      const { slots, nextFireAt } = await b.engine.admin.getSchedule(name);
      const due = thisYear - 2020 + 1;
      if (misfire === 'skip') {
        expect(slots.map((s) => [s.status, s.count, s.slotAt, s.throughAt])).toEqual([['skipped', due, jan1(2020), jan1(thisYear)]]);
        expect(await slotKeys(name)).toEqual([]);
      } else {
        expect(slots.map((s) => [s.status, s.count, s.slotAt])).toEqual([
          ['started', 1, jan1(thisYear)],
          ['skipped', due - 1, jan1(2020)],
        ]);
        expect(await slotKeys(name)).toEqual([`aries:schedule:${name}:${jan1(thisYear).toISOString()}`]);
      }
      expect(nextFireAt).toEqual(jan1(thisYear + 1));
    }
  });

  test("misfire 'all' starts every slot still within maxLatenessMs, in order, and records the older ones missed", async () => {
    // On time: the slots from 1 January 2024 on (180 days of margin either side of the bound).
    const maxLatenessMs = Date.now() - jan1(2024).getTime() + 180 * 86_400_000;
    await b.engine.schedule('yearly-all', { cron: yearly, workflow: tick, input: { n: 4 }, misfire: 'all', maxLatenessMs });
    await downSince('yearly-all', jan1(2020));
    const fired: string[] = [];
    await new Scheduler(b.engine.db, 1_000, { onStarted: (_n, slot) => fired.push(slot.slotAt.toISOString()) }).fireDue();
    const onTime = Array.from({ length: thisYear - 2024 + 1 }, (_, i) => jan1(2024 + i).toISOString());
    expect(fired).toEqual(onTime);
    expect(await slotKeys('yearly-all')).toEqual(onTime.map((t) => `aries:schedule:yearly-all:${t}`));
    const { slots } = await b.engine.admin.getSchedule('yearly-all');
    expect(slots.filter((s) => s.status === 'missed').map((s) => [s.count, s.slotAt, s.throughAt])).toEqual([[4, jan1(2020), jan1(2023)]]);
  });

  test('a day of per-second slots down is handled in bounded firings and a few slot rows', async () => {
    await b.engine.schedule('day-down', { cron: '* * * * * *', workflow: tick, input: { n: 5 }, misfire: 'skip' });
    await downSince('day-down', new Date(Math.floor(Date.now() / 1000) * 1000 - 86_400_000));
    const scheduler = new Scheduler(b.engine.db, 1_000);
    let firings = 1;
    while (await scheduler.fireDue()) firings++;
    expect(firings).toBeGreaterThanOrEqual(9); // 10,000 slots at most per firing
    const { slots } = await b.engine.admin.getSchedule('day-down');
    expect(slots.length).toBeLessThanOrEqual(firings + 1);
    expect(slots.filter((s) => s.status === 'started')).toHaveLength(1);
    expect(slots.reduce((n, s) => n + s.count, 0)).toBeGreaterThanOrEqual(86_400);
  }, 180_000); // 86,400 slots counted by croner: seconds alone, a minute on a loaded machine

  test('pause stops the slots; resume hands the ones that came due meanwhile to the misfire policy', async () => {
    await b.engine.schedule('paused', { cron: '* * * * * *', workflow: tick, input: { n: 6 }, misfire: 'skip' });
    expect(await b.engine.admin.pauseSchedule('paused')).toEqual({ wasPaused: false });
    await downSince('paused', new Date(Date.now() - 600_000));
    const scheduler = new Scheduler(b.engine.db, 1_000);
    await scheduler.fireDue();
    expect((await b.engine.admin.getSchedule('paused')).slots).toEqual([]);
    expect((await b.engine.admin.listSchedules()).find((s) => s.name === 'paused')).toMatchObject({ paused: true });
    expect(await b.engine.admin.resumeSchedule('paused')).toEqual({ wasPaused: true });
    while (await scheduler.fireDue()) { /* until nothing is due */ }
    const { slots } = await b.engine.admin.getSchedule('paused');
    expect(slots.map((s) => s.status)).toEqual(['started', 'skipped']);
    expect(slots[1]!.count).toBeGreaterThanOrEqual(600);
  });

  test('trigger starts one run now (a manual slot), delete removes the schedule; an unknown name is ScheduleNotFoundError', async () => {
    await b.engine.schedule('manual', { cron: '0 0 1 1 *', workflow: tick, input: { n: 7 } });
    const w = b.engine.worker({ workflows: [tick], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    workers.push(w);
    await w.start();
    const { executionId } = await b.engine.admin.triggerSchedule('manual');
    expect(await b.engine.handle(executionId!).result()).toBe(7);
    const { slots } = await b.engine.admin.getSchedule('manual');
    expect(slots).toMatchObject([{ status: 'manual', executionId, executionStatus: 'COMPLETED' }]);
    await b.engine.admin.deleteSchedule('manual');
    for (const act of [
      () => b.engine.admin.getSchedule('manual'),
      () => b.engine.admin.pauseSchedule('manual'),
      () => b.engine.admin.resumeSchedule('manual'),
      () => b.engine.admin.triggerSchedule('manual'),
      () => b.engine.admin.deleteSchedule('manual'),
    ]) {
      await expect(act()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    }
  });

  test('an invalid cron, an unknown timezone, an unknown workflow and bad options are refused with the reason, nothing stored', async () => {
    const refusals: Array<[Record<string, unknown>, unknown, RegExp]> = [
      [{ cron: 'every night', workflow: tick }, InvalidInputError, /invalid cron expression "every night"/],
      [{ cron: '0 2 * * *', timezone: 'Europe/Atlantis', workflow: tick }, InvalidInputError, /unknown timezone "Europe\/Atlantis"/],
      [{ cron: '0 2 * * *', workflow: 'never-registered' }, UnknownWorkflowError, /unknown workflow "never-registered"/],
      [{ cron: '0 2 * * *', workflow: tick, misfire: 'later' }, InvalidInputError, /misfire must be 'skip', 'once' or 'all'/],
      [{ cron: '0 2 * * *', workflow: tick, maxLatenessMs: 0 }, InvalidInputError, /maxLatenessMs must be a positive/],
      [{ cron: '0 2 * * *', workflow: tick, input: { when: new Date() } }, Error, /input of schedule "refused"/],
      [{ cron: '0 2 * * *', workflow: {} as never }, InvalidDefinitionError, /workflow must come from defineWorkflow/],
    ];
    for (const [options, type, reason] of refusals) {
      const refused = await b.engine.schedule('refused', options as never).then(() => undefined, (err: unknown) => err);
      expect(refused).toBeInstanceOf(type);
      expect((refused as Error).message).toMatch(reason);
    }
    await expect(b.engine.schedule('aries.mine', { cron: '0 2 * * *', workflow: tick })).rejects.toThrow(/built in/);
    expect((await b.engine.admin.listSchedules()).map((s) => s.name)).not.toContain('refused');
  });

  test('slots follow the timezone: 02:00 in Europe/Berlin is not 02:00 UTC; a changed cron recomputes the next slot from now', async () => {
    const berlin = await b.engine.schedule('tz-berlin', { cron: '0 2 * * *', timezone: 'Europe/Berlin', workflow: tick });
    const utc = await b.engine.schedule('tz-utc', { cron: '0 2 * * *', workflow: tick });
    const hourIn = (zone: string, at: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', hourCycle: 'h23' }).format(at);
    expect(hourIn('UTC', utc.nextFireAt)).toBe('02');
    // 02:00 Berlin time, or 03:00 on the night the clocks go forward (02:00 does not exist then).
    expect(['02', '03']).toContain(hourIn('Europe/Berlin', berlin.nextFireAt));
    expect(berlin.nextFireAt.getTime()).not.toBe(utc.nextFireAt.getTime());
    expect(berlin.nextFireAt).toEqual(nextSlotAfter('0 2 * * *', 'Europe/Berlin', new Date(berlin.nextFireAt.getTime() - 86_400_000)));
    // Re-declared as it is: the next slot is kept. With a new cron: computed again from now.
    expect(await b.engine.schedule('tz-utc', { cron: '0 2 * * *', workflow: tick })).toEqual({ created: false, nextFireAt: utc.nextFireAt });
    const changed = await b.engine.schedule('tz-utc', { cron: '*/5 * * * * *', workflow: tick });
    expect(changed.nextFireAt.getTime() - Date.now()).toBeLessThanOrEqual(6_000);
    expect(changed.nextFireAt.getUTCSeconds() % 5).toBe(0);
  });

  test('the built-in aries.auto-recover schedule recovers an exhausted TRANSIENT failure when its slot comes, counted as the sweep', async () => {
    let down = true;
    const flaky = defineWorkflow('sched-flaky', { retry: { maxAttempts: 1 } }, async (ctx) =>
      ctx.step('call', () => {
        if (down) throw new Error('service unavailable');
        return 'up';
      }),
    );
    const plain = b.engine.worker({ workflows: [flaky], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    workers.push(plain);
    await plain.start();
    const handle = await b.engine.start(flaky, {});
    await expect(handle.result()).rejects.toThrow(/service unavailable/);
    await plain.stop();
    down = false;
    const swept = async () => {
      const m = parseExposition(await b.engine.admin.renderMetrics());
      try {
        return m.value('aries_recoveries_total', { by: 'sweep' });
      } catch {
        return 0; // not counted yet
      }
    };
    const sweptBefore = await swept();
    // Its slot comes: the current 5-minute boundary (late by up to 5 minutes, so allowed that much lateness
    // here). A slot an earlier test's worker already fired there is forgotten first, so this one runs.
    await b.engine.db.query(`DELETE FROM aries.schedule_slots WHERE schedule_name = 'aries.auto-recover'`);
    await b.engine.db.query(
      `UPDATE aries.schedules SET last_slot_at = NULL,
              next_fire_at = date_bin('5 minutes', now(), timestamptz '2000-01-01 00:00:00+00'),
              max_lateness_ms = 600000 WHERE name = 'aries.auto-recover'`,
    );
    const w = b.engine.worker({ workflows: [flaky], pollIntervalMs: 20, schedulerIntervalMs: 50 });
    workers.push(w);
    await w.start();
    // result() answers a FAILED execution at once: wait for the slot to have recovered it first.
    for (let i = 0; (await b.engine.admin.readExecution(handle.id))!.status === 'FAILED'; i++) {
      if (i > 500) throw new Error('the built-in schedule did not recover the execution');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await handle.result({ timeoutMs: 15_000 })).toBe('up');
    const { slots } = await b.engine.admin.getSchedule('aries.auto-recover');
    expect(slots[0]).toMatchObject({ status: 'started', actionResult: 1, executionId: null });
    expect(await swept()).toBe(sweptBefore + 1);
    // Triggered by hand it runs now; nothing is left to recover.
    expect(await b.engine.admin.triggerSchedule('aries.auto-recover')).toEqual({ executionId: null, actionResult: 0 });
  });
});
