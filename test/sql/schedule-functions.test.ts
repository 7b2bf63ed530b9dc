import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { createEngine, ScheduleNotFoundError, UnknownWorkflowError, InvalidInputError } from '../../src/index.js';
import { claimDueSchedules, fireSchedule } from '../../src/db/schedules.js';
import { translated } from '../../src/db/sqlstate-errors.js';
import { describeBackends } from '../helpers/backends.js';
import { seededRandom } from '../helpers/seeded-random.js';

const T0 = '2031-01-01T00:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000);

async function upsert(db: Queryable, name: string, nextFireAt: Date, over: { cron?: string; workflow?: string; misfire?: string; lateness?: number } = {}) {
  const [row] = await translated(
    db.query<{ created: boolean; next_fire_at: Date }>(
      `SELECT * FROM aries.upsert_schedule(p_name => $1, p_cron => $2, p_timezone => 'UTC', p_workflow => $3, p_version => NULL,
         p_input => '{"n":1}'::jsonb, p_misfire => $4, p_max_lateness_ms => $5, p_next_fire_at => $6)`,
      [name, over.cron ?? '* * * * * *', over.workflow ?? 'sched-wf', over.misfire ?? 'all', over.lateness ?? 60_000, nextFireAt],
    ),
  );
  return row!;
}

/** Runs fn in a transaction whose database clock is pinned at `now`. */
function atClock<T>(db: { transaction<R>(fn: (tx: Queryable) => Promise<R>): Promise<R> }, now: Date, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('aries.now', $1, true)`, [now.toISOString()]);
    return fn(tx);
  });
}

async function scheduleRow(db: Queryable, name: string) {
  const [row] = await db.query<{ next_fire_at: Date; last_slot_at: Date | null; paused: boolean; cron: string }>(
    'SELECT next_fire_at, last_slot_at, paused, cron FROM aries.schedules WHERE name = $1',
    [name],
  );
  return row;
}

async function slotExecutions(db: Queryable, name: string) {
  return db.query<{ idempotency_key: string }>(
    `SELECT idempotency_key FROM aries.executions WHERE idempotency_key LIKE $1 ORDER BY idempotency_key`,
    [`aries:schedule:${name}:%`],
  );
}

const plan = (start: Date[], nextFireAt: Date) => ({ start, skipped: null, missed: null, nextFireAt, capped: false });

describeBackends('schedule SQL functions', (b) => {
  test('upsert_schedule creates, then changes: a new cron takes the given next fire time, the same cron keeps its own', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    expect(await upsert(db, 'up', at(10))).toMatchObject({ created: true });
    expect((await upsert(db, 'up', at(99), { misfire: 'skip' })).created).toBe(false);
    expect((await scheduleRow(db, 'up'))!.next_fire_at.getTime()).toBe(at(10).getTime());
    await upsert(db, 'up', at(60), { cron: '0 * * * * *' });
    expect(await scheduleRow(db, 'up')).toMatchObject({ cron: '0 * * * * *', next_fire_at: at(60) });
  });

  test('upsert_schedule refuses an unknown workflow, a bad misfire or lateness and a built-in name, storing nothing', async () => {
    const db = b.engine.db;
    await expect(upsert(db, 'bad-wf', at(1), { workflow: 'no-such-workflow' })).rejects.toBeInstanceOf(UnknownWorkflowError);
    await expect(upsert(db, 'bad-misfire', at(1), { misfire: 'sometimes' })).rejects.toThrow(/misfire must be/);
    await expect(upsert(db, 'bad-lateness', at(1), { lateness: 0 })).rejects.toThrow(/max_lateness_ms must be a positive/);
    await expect(upsert(db, 'aries.mine', at(1))).rejects.toBeInstanceOf(InvalidInputError);
    const rows = await db.query(`SELECT name FROM aries.schedules WHERE name IN ('bad-wf', 'bad-misfire', 'bad-lateness', 'aries.mine')`);
    expect(rows).toEqual([]);
  });

  test('pause, resume, trigger and delete act on a schedule; each refuses an unknown name with AR014', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    await upsert(db, 'ops', at(5));
    expect((await db.query<{ was: boolean }>(`SELECT aries.pause_schedule('ops') AS was`))[0]!.was).toBe(false);
    expect((await scheduleRow(db, 'ops'))!.paused).toBe(true);
    // A paused schedule is never claimed, however late.
    expect(await atClock(db, at(3600), (tx) => claimDueSchedules(tx, 10)).then((d) => d.map((s) => s.name))).not.toContain('ops');
    expect((await db.query<{ was: boolean }>(`SELECT aries.resume_schedule('ops') AS was`))[0]!.was).toBe(true);
    expect(await atClock(db, at(3600), (tx) => claimDueSchedules(tx, 10)).then((d) => d.map((s) => s.name))).toContain('ops');
    const [manual] = await db.query<{ slot_id: string; execution_id: string }>(`SELECT * FROM aries.trigger_schedule('ops')`);
    const [execution] = await db.query<{ idempotency_key: string; status: string }>('SELECT idempotency_key, status FROM aries.executions WHERE id = $1', [manual!.execution_id]);
    expect(execution).toEqual({ idempotency_key: `aries:schedule:ops:manual:${manual!.slot_id}`, status: 'PENDING' });
    expect((await scheduleRow(db, 'ops'))!.next_fire_at.getTime()).toBe(at(5).getTime()); // cron slots untouched
    await db.query(`SELECT aries.delete_schedule('ops')`);
    expect(await scheduleRow(db, 'ops')).toBeUndefined();
    expect(await db.query(`SELECT 1 FROM aries.schedule_slots WHERE schedule_name = 'ops'`)).toEqual([]);
    for (const fn of ['pause_schedule', 'resume_schedule', 'trigger_schedule', 'delete_schedule']) {
      await expect(translated(db.query(`SELECT * FROM aries.${fn}('ops')`))).rejects.toBeInstanceOf(ScheduleNotFoundError);
    }
    await expect(translated(db.query(`SELECT aries.delete_schedule('aries.auto-recover')`))).rejects.toThrow(/built in: pause it/);
  });

  test('fire_schedule records each slot once and starts one execution per slot, keyed by the slot', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    await upsert(db, 'once-each', at(0));
    const slots = [at(0), at(1), at(2)];
    const first = await atClock(db, at(2), (tx) => fireSchedule(tx, 'once-each', plan(slots, at(3))));
    expect(first.map((f) => f.created)).toEqual([true, true, true]);
    // The same slots again (a worker that read the schedule before the first firing committed) do nothing.
    const again = await atClock(db, at(2), (tx) => fireSchedule(tx, 'once-each', plan(slots, at(3))));
    expect(again).toEqual([]);
    expect((await slotExecutions(db, 'once-each')).map((r) => r.idempotency_key)).toEqual([
      'aries:schedule:once-each:2031-01-01T00:00:00.000Z',
      'aries:schedule:once-each:2031-01-01T00:00:01.000Z',
      'aries:schedule:once-each:2031-01-01T00:00:02.000Z',
    ]);
    const recorded = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aries.schedule_slots WHERE schedule_name = 'once-each' AND status = 'started'`);
    expect(Number(recorded[0]!.n)).toBe(3);
  });

  test('fire_schedule records skipped and missed slots as one compact row each', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    await upsert(db, 'compact', at(0));
    await atClock(db, at(86_400), (tx) =>
      fireSchedule(tx, 'compact', {
        start: [at(86_400)],
        skipped: { from: at(0), through: at(86_399), count: 86_400 },
        missed: null,
        nextFireAt: at(86_401),
        capped: false,
      }),
    );
    const rows = await db.query<{ status: string; slot_count: number; through_at: Date | null }>(
      `SELECT status, slot_count, through_at FROM aries.schedule_slots WHERE schedule_name = 'compact' ORDER BY slot_at`,
    );
    expect(rows).toEqual([
      { status: 'skipped', slot_count: 86_400, through_at: at(86_399) },
      { status: 'started', slot_count: 1, through_at: null },
    ]);
  });

  test('two concurrent firings of the same due schedule start exactly one execution per slot', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    // On the server a second engine is a second set of connections; PGlite has one, so there they queue.
    const other = b.name === 'postgres' ? await createEngine({ ...b.connection, onError: () => {} }) : b.engine;
    try {
      const random = seededRandom(1405);
      for (let round = 0; round < 5; round++) {
        const name = `race-${round}`;
        await upsert(db, name, at(0));
        const slots = [at(0), at(1), at(2), at(3)];
        const fire = (engine: typeof other) =>
          atClock(engine.db, at(3), async (tx) => {
            await new Promise((r) => setTimeout(r, random.int(0, 15)));
            return fireSchedule(tx, name, plan(slots, at(4)));
          });
        const [a, c] = await Promise.all([fire(b.engine), fire(other)]);
        expect(a.length + c.length).toBe(4);
        expect(await slotExecutions(db, name)).toHaveLength(4);
        // Claiming too (the server: two transactions open at once, each claiming before either ends):
        // exactly one of them holds the due schedule, the other skips it.
        if (b.name === 'postgres') {
          await upsert(db, name, at(10), { cron: '*/10 * * * * *' });
          let arrived = 0;
          let release!: () => void;
          const bothClaimed = new Promise<void>((r) => (release = r));
          const claims = await Promise.all([b.engine, other].map((e) =>
            atClock(e.db, at(10), async (tx) => {
              await new Promise((r) => setTimeout(r, random.int(0, 15)));
              const due = await claimDueSchedules(tx, 10);
              if (++arrived === 2) release();
              await bothClaimed;
              return due.filter((s) => s.name === name).length;
            }),
          ));
          expect(claims[0]! + claims[1]!).toBe(1);
        }
      }
    } finally {
      if (other !== b.engine) await other.close();
    }
  });

  test('a firing whose transaction rolls back (its worker killed mid-way) fires nothing', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    await upsert(db, 'rolled-back', at(0));
    await expect(
      atClock(db, at(1), async (tx) => {
        expect((await claimDueSchedules(tx, 10)).map((s) => s.name)).toContain('rolled-back');
        await fireSchedule(tx, 'rolled-back', plan([at(0), at(1)], at(2)));
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    expect(await slotExecutions(db, 'rolled-back')).toEqual([]);
    expect(await db.query(`SELECT 1 FROM aries.schedule_slots WHERE schedule_name = 'rolled-back'`)).toEqual([]);
    expect(await scheduleRow(db, 'rolled-back')).toMatchObject({ next_fire_at: at(0), last_slot_at: null });
  });

  test('fire_schedule never moves next_fire_at backwards nor replays a slot before it', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('sched-wf', '1')`);
    await upsert(db, 'forward', at(0));
    await atClock(db, at(5), (tx) => fireSchedule(tx, 'forward', plan([at(5)], at(6))));
    await atClock(db, at(5), (tx) => fireSchedule(tx, 'forward', plan([at(1), at(2)], at(3))));
    expect(await scheduleRow(db, 'forward')).toMatchObject({ next_fire_at: at(6), last_slot_at: at(5) });
    expect((await slotExecutions(db, 'forward')).map((r) => r.idempotency_key)).toEqual(['aries:schedule:forward:2031-01-01T00:00:05.000Z']);
  });

  test('the built-in aries.auto-recover schedule runs auto_recover_failures every 5 minutes, misfire skip', async () => {
    const [row] = await b.engine.db.query<{ cron: string; sql_action: string; misfire: string; paused: boolean }>(
      `SELECT cron, sql_action, misfire, paused FROM aries.schedules WHERE name = 'aries.auto-recover'`,
    );
    expect(row).toEqual({ cron: '0 */5 * * * *', sql_action: 'auto_recover_failures', misfire: 'skip', paused: false });
    await expect(b.engine.db.query(`UPDATE aries.schedules SET sql_action = 'drop_everything' WHERE name = 'aries.auto-recover'`)).rejects.toThrow(/schedules_sql_action_check/);
  });
});
