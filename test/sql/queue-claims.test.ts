import { expect, test } from 'vitest';
import type { Database as Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { expireLease, sqlError } from '../helpers/sql.js';

/**
 * Queue admission in aries.claim_executions, called directly with the clock pinned per transaction. The
 * limits are checked where they could be broken: inside each claim's own transaction, after the claim,
 * while it still holds the queue's row lock. Occupancy only grows by admissions, which that lock
 * serialises, so the count read there bounds the queue's occupancy until the claim commits; a count
 * above a limit anywhere would fail the test. The rate limit is also judged afterwards on the log of
 * first starts (started_at): no window of the period holds more than the limit.
 */

const BASE = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(BASE + ms).toISOString();

interface Limits {
  concurrency?: number;
  worker?: number;
  key?: number;
  rate?: [number, number];
}

async function defineQueue(db: Queryable, name: string, l: Limits) {
  await db.query(
    `SELECT aries.register_queue(p_name => $1, p_concurrency => $2, p_worker_concurrency => $3, p_key_concurrency => $4,
                                 p_rate_limit => $5, p_rate_period_ms => $6)`,
    [name, l.concurrency ?? null, l.worker ?? null, l.key ?? null, l.rate?.[0] ?? null, l.rate?.[1] ?? null],
  );
}

async function start(db: Queryable, wf: string, o: { queue?: string; key?: string; priority?: number; delayMs?: number; now?: number } = {}) {
  await db.query(`SELECT aries.register_workflow(p_name => $1, p_version => '1')`, [wf]);
  return db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(o.now ?? 0)]);
    const [row] = await tx.query<{ execution_id: string }>(
      `SELECT * FROM aries.start_execution(p_workflow => $1, p_version => NULL, p_input => '{}'::jsonb, p_queue => $2,
                                          p_queue_key => $3, p_priority => $4, p_delay_ms => $5)`,
      [wf, o.queue ?? null, o.key ?? null, o.priority ?? 0, o.delayMs ?? null],
    );
    return row!.execution_id;
  });
}

interface Claimed {
  id: string;
  lease_token: string;
  claim_count: number;
  resumed: boolean;
}

async function claim(db: Queryable, worker: string, wf: string, limit: number, now = 0, leaseMs = 60_000): Promise<Claimed[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(now)]);
    return tx.query<Claimed>(
      `SELECT id, lease_token::text, claim_count, resumed FROM aries.claim_executions(p_worker => $1, p_workflow_keys => $2::text[],
         p_limit => $3, p_lease_ms => $4)`,
      [worker, [`${wf}@1`], limit, leaseMs],
    );
  });
}

async function queueKeyOf(db: Queryable, id: string): Promise<string> {
  const [row] = await db.query<{ queue_key: string }>('SELECT queue_key FROM aries.executions WHERE id = $1', [id]);
  return row!.queue_key;
}

async function complete(db: Queryable, c: Claimed, now = 0) {
  await db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(now)]);
    await tx.query(`SELECT aries.complete_execution(p_execution_id => $1, p_token => $2, p_output => 'null'::jsonb)`, [c.id, c.lease_token]);
  });
}

async function sleepFor(db: Queryable, c: Claimed, delayMs: number, now = 0) {
  await db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(now)]);
    const key = `nap-${c.claim_count}`;
    await tx.query(
      `SELECT aries.begin_wait(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4, p_kind => 'sleep', p_delay_ms => $5)`,
      [c.id, c.lease_token, c.claim_count, key, delayMs],
    );
    await tx.query(`SELECT * FROM aries.await_waits(p_execution_id => $1, p_token => $2, p_open => ARRAY[$3])`, [c.id, c.lease_token, key]);
  });
}

describeBackends('queue admission (aries.claim_executions with queues)', (b) => {
  const db = () => b.engine.db;

  test('a start into an unknown queue, named or the workflow’s, is refused with AR013 naming the queue', async () => {
    const e1 = await sqlError(start(db(), 'q-unknown', { queue: 'no-such-queue' }));
    expect(e1.code).toBe('AR013');
    expect(e1.message).toContain('no-such-queue');
    await db().query(`SELECT aries.register_workflow(p_name => 'q-unknown2', p_version => '1', p_queue => 'gone')`);
    const e2 = await sqlError(db().query(`SELECT * FROM aries.start_execution(p_workflow => 'q-unknown2', p_version => NULL, p_input => '{}')`));
    expect(e2.code).toBe('AR013');
    expect(e2.message).toContain('gone');
    const e3 = await sqlError(db().query(`SELECT * FROM aries.set_queue(p_name => 'gone', p_concurrency => 1)`));
    expect(e3.code).toBe('AR013');
    expect(await db().query(`SELECT 1 FROM aries.executions WHERE workflow_name LIKE 'q-unknown%'`)).toHaveLength(0);
  });

  test('bad limits and placements are refused with AR011 naming what is wrong', async () => {
    const bad = [
      [`SELECT aries.register_queue(p_name => 'bad', p_concurrency => 0)`, 'concurrency'],
      [`SELECT aries.register_queue(p_name => 'bad', p_key_concurrency => -2)`, 'keyConcurrency'],
      [`SELECT aries.register_queue(p_name => 'bad', p_rate_limit => 5)`, 'rate limit'],
      [`SELECT aries.register_queue(p_name => '')`, 'queue name'],
      [`SELECT aries.register_queue(p_name => repeat('x', 201))`, 'queue name'],
    ] as const;
    for (const [sql, words] of bad) {
      const e = await sqlError(db().query(sql));
      expect(e.code, sql).toBe('AR011');
      expect(e.message).toContain(words);
    }
    await defineQueue(db(), 'okq', { concurrency: 1 });
    expect((await sqlError(db().query(`SELECT * FROM aries.set_queue(p_name => 'okq', p_clear => ARRAY['speed'])`))).code).toBe('AR011');
    expect((await sqlError(start(db(), 'q-bad', { queue: 'okq', key: '' }))).code).toBe('AR011');
    expect((await sqlError(start(db(), 'q-bad', { queue: 'okq', delayMs: -1 }))).code).toBe('AR011');
    expect((await sqlError(start(db(), 'q-bad', { key: 'k' }))).code).toBe('AR011');
  });

  test('concurrency: at most N hold a slot; a completed one frees its slot for the next claim', async () => {
    await defineQueue(db(), 'conc', { concurrency: 3 });
    for (let i = 0; i < 6; i++) await start(db(), 'q-conc', { queue: 'conc' });
    const first = await claim(db(), 'w1', 'q-conc', 10);
    expect(first).toHaveLength(3);
    expect(await claim(db(), 'w2', 'q-conc', 10)).toHaveLength(0);
    await complete(db(), first[0]!);
    expect(await claim(db(), 'w2', 'q-conc', 10)).toHaveLength(1);
  });

  test('workerConcurrency limits each worker; keyConcurrency each key, never the empty key', async () => {
    await defineQueue(db(), 'wk', { worker: 2, key: 1 });
    for (let i = 0; i < 3; i++) await start(db(), 'q-wk', { queue: 'wk', key: 'a' });
    for (let i = 0; i < 3; i++) await start(db(), 'q-wk', { queue: 'wk' });
    const w1 = await claim(db(), 'w1', 'q-wk', 10);
    expect(w1).toHaveLength(2);
    const w2 = await claim(db(), 'w2', 'q-wk', 10);
    expect(w2).toHaveLength(2);
    const keys = await Promise.all([...w1, ...w2].map((c) => queueKeyOf(db(), c.id)));
    expect(keys.filter((k) => k === 'a')).toHaveLength(1);
    expect(keys.filter((k) => k === '')).toHaveLength(3);
  });

  test('a SLEEPING execution holds no slot; when it wakes it needs one again', async () => {
    await defineQueue(db(), 'sleepq', { concurrency: 1 });
    const a = await start(db(), 'q-sleep', { queue: 'sleepq' });
    await start(db(), 'q-sleep', { queue: 'sleepq', now: 1 });
    const [ca] = await claim(db(), 'w1', 'q-sleep', 5);
    expect(ca!.id).toBe(a);
    await sleepFor(db(), ca!, 1000);
    const [cb] = await claim(db(), 'w1', 'q-sleep', 5, 10);
    expect(cb!.id).not.toBe(a);
    expect(await claim(db(), 'w2', 'q-sleep', 5, 2000)).toHaveLength(0); // a is due, but the slot is taken
    await complete(db(), cb!, 2000);
    const woke = await claim(db(), 'w2', 'q-sleep', 5, 2001);
    expect(woke.map((c) => c.id)).toEqual([a]);
  });

  test('an expired lease keeps its slot until another worker takes the execution over', async () => {
    await defineQueue(db(), 'lapse', { concurrency: 1 });
    const a = await start(db(), 'q-lapse', { queue: 'lapse' });
    await start(db(), 'q-lapse', { queue: 'lapse', now: 1 });
    const [ca] = await claim(db(), 'w1', 'q-lapse', 5, 2);
    expect(ca!.id).toBe(a);
    await expireLease(db(), ca!.id);
    const taken = await claim(db(), 'w2', 'q-lapse', 5, 120_000);
    expect(taken.map((c) => [c.id, c.resumed])).toEqual([[a, true]]);
    const [{ n }] = (await db().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM aries.executions WHERE queue_name = 'lapse' AND lease_owner IS NOT NULL`,
    )) as [{ n: number }];
    expect(n).toBe(1);
  });

  test('a paused queue admits nothing; set_queue takes effect at the next claim and survives register_queue', async () => {
    await defineQueue(db(), 'ops', { concurrency: 1 });
    for (let i = 0; i < 4; i++) await start(db(), 'q-ops', { queue: 'ops' });
    await db().query(`SELECT * FROM aries.set_queue(p_name => 'ops', p_paused => true)`);
    expect(await claim(db(), 'w1', 'q-ops', 5)).toHaveLength(0);
    await db().query(`SELECT * FROM aries.set_queue(p_name => 'ops', p_paused => false, p_concurrency => 3)`);
    await defineQueue(db(), 'ops', { concurrency: 1 }); // a deploy: the operator's 3 stays
    expect(await claim(db(), 'w1', 'q-ops', 5)).toHaveLength(3);
    await db().query(`SELECT * FROM aries.set_queue(p_name => 'ops', p_clear => ARRAY['concurrency'])`);
    expect(await claim(db(), 'w1', 'q-ops', 5)).toHaveLength(1);
    const [row] = await db().query<{ concurrency: number | null; source: string; running: string }>(
      `SELECT concurrency, source, running FROM aries.list_queues(p_name => 'ops')`,
    );
    expect(row).toMatchObject({ concurrency: null, source: 'operator' });
    expect(Number(row!.running)).toBe(4);
  });

  test('higher priority first; FIFO within a key; a delayed start waits for its time', async () => {
    await defineQueue(db(), 'prio', {});
    const low = await start(db(), 'q-prio', { queue: 'prio', key: 'k', priority: 0, now: 0 });
    const high = await start(db(), 'q-prio', { queue: 'prio', key: 'k', priority: 5, now: 1 });
    const second = await start(db(), 'q-prio', { queue: 'prio', key: 'k', priority: 0, now: 2 });
    const later = await start(db(), 'q-prio', { queue: 'prio', key: 'k', priority: 9, delayMs: 1000, now: 3 });
    const order: string[] = [];
    for (let i = 0; i < 3; i++) order.push(...(await claim(db(), 'w1', 'q-prio', 1, 10)).map((c) => c.id));
    expect(order).toEqual([high, low, second]);
    expect(await claim(db(), 'w1', 'q-prio', 1, 500)).toHaveLength(0);
    expect((await claim(db(), 'w1', 'q-prio', 1, 1003)).map((c) => c.id)).toEqual([later]);
  });

  test('round robin across keys: a hot key with 90 % of the backlog does not starve the others', async () => {
    await defineQueue(db(), 'fair', { concurrency: 100 });
    for (let i = 0; i < 90; i++) await start(db(), 'q-fair', { queue: 'fair', key: 'hot', now: i });
    const others = Array.from({ length: 10 }, (_, i) => `cold-${i}`);
    for (const k of others) await start(db(), 'q-fair', { queue: 'fair', key: k, now: 100 });
    // One at a time: the first 11 claims serve 11 distinct keys.
    const served: string[] = [];
    for (let i = 0; i < 11; i++) {
      const [c] = await claim(db(), 'w1', 'q-fair', 1, 200);
      served.push(await queueKeyOf(db(), c!.id));
    }
    expect(new Set(served).size).toBe(11);
    // Then a big claim: the hot key's rest, one pass after another.
    const rest = await claim(db(), 'w1', 'q-fair', 200, 200);
    expect(rest).toHaveLength(89);
  });

  test('rate limit: first starts per sliding window of the database clock', async () => {
    await defineQueue(db(), 'rate', { rate: [3, 1000] });
    for (let i = 0; i < 8; i++) await start(db(), 'q-rate', { queue: 'rate' });
    expect(await claim(db(), 'w1', 'q-rate', 10, 0)).toHaveLength(3);
    expect(await claim(db(), 'w1', 'q-rate', 10, 999)).toHaveLength(0);
    expect(await claim(db(), 'w1', 'q-rate', 10, 1000)).toHaveLength(3);
    const row = await db().transaction(async (tx) => {
      await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(1500)]);
      const [r] = await tx.query<{ started_in_window: string; pending: string }>(`SELECT started_in_window, pending FROM aries.list_queues('rate')`);
      return r!;
    });
    expect([Number(row.started_in_window), Number(row.pending)]).toEqual([3, 2]);
  });

  test('next_queue_admission: ms until a full rate window with a due first-start backlog frees; NULL otherwise', async () => {
    const next = (keys: string[], now: number) =>
      db().transaction(async (tx) => {
        await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(now)]);
        const [r] = await tx.query<{ ms: number | null }>(`SELECT aries.next_queue_admission(p_workflow_keys => $1::text[]) AS ms`, [keys]);
        return r!.ms === null ? null : Number(r!.ms);
      });
    await defineQueue(db(), 'nqa', { rate: [3, 1000] });
    await defineQueue(db(), 'nqa-slow', { rate: [1, 5000] });
    await defineQueue(db(), 'nqa-conc', { concurrency: 1, rate: [10, 1000] });
    expect(await next(['nqa-a@1'], 0)).toBeNull(); // no backlog
    for (let i = 0; i < 5; i++) await start(db(), 'nqa-a', { queue: 'nqa' });
    expect(await next(['nqa-a@1'], 0)).toBeNull(); // a backlog, but the window has room: a claim admits now
    expect(await claim(db(), 'w1', 'nqa-a', 1, 100)).toHaveLength(1);
    expect(await claim(db(), 'w1', 'nqa-a', 2, 300)).toHaveLength(2); // the window holds 100, 300, 300
    expect(await next(['nqa-a@1'], 400)).toBe(700); // the oldest, 100, leaves it at 1,100
    expect(await next(['other@1'], 400)).toBeNull(); // the backlog is not of these workflows
    expect(await claim(db(), 'w1', 'nqa-a', 5, 1100)).toHaveLength(1);
    expect(await next(['nqa-a@1'], 1100)).toBe(200); // 300 (twice), 1,100: the next to leave is 300
    // A limit lowered to 2 under three starts in the window (1,100, 300, 300): below it once the
    // limit-th newest (300) leaves, at 1,300.
    await db().query(`SELECT * FROM aries.set_queue(p_name => 'nqa', p_rate_limit => 2)`);
    await start(db(), 'nqa-a', { queue: 'nqa', now: 1100 });
    expect(await next(['nqa-a@1'], 1200)).toBe(100);
    // Paused: not counted. A second queue: the least of the two.
    await db().query(`SELECT * FROM aries.set_queue(p_name => 'nqa', p_paused => true)`);
    expect(await next(['nqa-a@1'], 1200)).toBeNull();
    await db().query(`SELECT * FROM aries.set_queue(p_name => 'nqa', p_paused => false)`);
    await start(db(), 'nqa-b', { queue: 'nqa-slow' });
    await start(db(), 'nqa-b', { queue: 'nqa-slow' });
    const [first] = await claim(db(), 'w1', 'nqa-b', 5, 1200);
    expect(first).toBeDefined();
    expect(await next(['nqa-b@1'], 1200)).toBe(5000);
    expect(await next(['nqa-a@1', 'nqa-b@1'], 1200)).toBe(100);
    // Only first starts wait for the rate: a started one handed back (PENDING again) is not held back by it.
    expect(await claim(db(), 'w1', 'nqa-b', 5, 6300)).toHaveLength(1); // the window is full again
    await db().transaction(async (tx) => {
      await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(6400)]);
      await tx.query('SELECT aries.release_execution(p_execution_id => $1, p_token => $2)', [first!.id, first!.lease_token]);
    });
    expect(await next(['nqa-b@1'], 6400)).toBeNull();
    // A queue refusing for its concurrency, with rate to spare, is not counted (a freed slot notifies).
    for (let i = 0; i < 2; i++) await start(db(), 'nqa-c', { queue: 'nqa-conc' });
    expect(await claim(db(), 'w1', 'nqa-c', 5, 0)).toHaveLength(1);
    expect(await next(['nqa-c@1'], 10)).toBeNull();
  });

  for (const seed of testSeeds([11, 29])) {
    test(`concurrent claimers never exceed a limit (seed ${seed})`, { timeout: 120_000 }, async () => {
      const rnd = seededRandom(seed);
      const queue = `sim-${seed}`;
      const wf = `q-sim-${seed}`;
      const lim = { concurrency: 4, worker: 2, key: 2, rate: [6, 300] as [number, number] };
      await defineQueue(db(), queue, lim);
      const keys = ['a', 'b', 'c', 'd', 'e'];
      for (let i = 0; i < 40; i++) await start(db(), wf, { queue, key: rnd.next() < 0.2 ? undefined : keys[rnd.int(0, 4)], priority: rnd.int(0, 2) });
      let clock = 0; // the shared database clock, in ms after BASE, moved on by every action
      const tick = () => (clock += rnd.int(1, 25));
      const violations: string[] = [];
      let admitted = 0;
      const claimer = async (worker: string) => {
        for (let round = 0; round < 60; round++) {
          await new Promise((r) => setTimeout(r, rnd.int(0, 3)));
          const now = tick();
          const got = await db().transaction(async (tx) => {
            await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(now)]);
            const rows = await tx.query<Claimed>(
              `SELECT id, lease_token::text, claim_count, resumed FROM aries.claim_executions(p_worker => $1,
                 p_workflow_keys => ARRAY[$2], p_limit => $3, p_lease_ms => 150)`,
              [worker, `${wf}@1`, rnd.int(1, 3)],
            );
            // Still holding the queue's lock: these counts bound the occupancy until this commit.
            const [c] = await tx.query<{ total: number; mine: number; top_key: number; rate: number }>(
              `SELECT count(*) FILTER (WHERE lease_owner IS NOT NULL)::int AS total,
                      count(*) FILTER (WHERE lease_owner = $2)::int AS mine,
                      coalesce((SELECT max(n) FROM (SELECT count(*)::int AS n FROM aries.executions
                                 WHERE queue_name = $1 AND lease_owner IS NOT NULL AND queue_key <> '' GROUP BY queue_key) k), 0) AS top_key,
                      count(*) FILTER (WHERE started_at > aries.now() - interval '300 milliseconds' AND started_at <= aries.now())::int AS rate
                 FROM aries.executions WHERE queue_name = $1`,
              [queue, worker],
            );
            if (c!.total > lim.concurrency) violations.push(`${worker}@${now}: ${c!.total} running`);
            if (c!.mine > lim.worker) violations.push(`${worker}@${now}: ${c!.mine} on the worker`);
            if (c!.top_key > lim.key) violations.push(`${worker}@${now}: ${c!.top_key} on one key`);
            if (c!.rate > lim.rate[0]) violations.push(`${worker}@${now}: ${c!.rate} started in the window`);
            return rows;
          });
          admitted += got.length;
          for (const c of got) {
            const action = rnd.int(0, 3);
            const later = async () => {
              await new Promise((r) => setTimeout(r, rnd.int(0, 8)));
              const t = tick();
              try {
                if (action === 0) await complete(db(), c, t);
                else if (action === 1) await sleepFor(db(), c, rnd.int(0, 100), t);
                else if (action === 2) {
                  await db().transaction(async (tx) => {
                    await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(t)]);
                    await tx.query('SELECT aries.release_execution(p_execution_id => $1, p_token => $2)', [c.id, c.lease_token]);
                  });
                } // 3: let the lease lapse; another claimer takes it over
              } catch (err) {
                if ((err as { code?: string }).code !== 'AR002') throw err; // taken over meanwhile: our token is stale
              }
            };
            void later().catch((err) => violations.push(`action failed: ${String(err)}`));
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, i) => claimer(`w${i}`)));
      await new Promise((r) => setTimeout(r, 50));
      expect(violations).toEqual([]);
      expect(admitted).toBeGreaterThan(10);
      // The log of first starts: no window of the period holds more than the limit.
      const starts = (await db().query<{ t: number }>(
        `SELECT (extract(epoch FROM started_at) * 1000)::float8 AS t FROM aries.executions WHERE queue_name = $1 AND started_at IS NOT NULL ORDER BY 1`,
        [queue],
      )).map((r) => Number(r.t));
      for (const s of starts) expect(starts.filter((x) => x > s - lim.rate[1] && x <= s).length).toBeLessThanOrEqual(lim.rate[0]);
    });
  }
});

describeBackends('queue wake-ups (executions_queue_slot_freed)', (b) => {
  test('a queued execution giving up its slot notifies aries_wakeup with queue:<name>; an unqueued one does not', async () => {
    const db = b.engine.db;
    const payloads: string[] = [];
    const unlisten = await db.listen('aries_wakeup', (n) => payloads.push(n.payload));
    try {
      await defineQueue(db, 'wake', { concurrency: 1 });
      await start(db, 'q-wake', { queue: 'wake' });
      await start(db, 'q-unqueued');
      const [queued] = await claim(db, 'w1', 'q-wake', 1);
      const [plain] = await claim(db, 'w1', 'q-unqueued', 1);
      payloads.length = 0;
      await complete(db, plain!);
      await complete(db, queued!);
      const until = Date.now() + 5_000;
      while (!payloads.includes('queue:wake') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(payloads.filter((p) => p.startsWith('queue:'))).toEqual(['queue:wake']);
    } finally {
      await unlisten();
    }
  });

  test.skipIf(b.name !== 'postgres')('a start into a queue inside an open transaction does not hold up claims of that queue', async () => {
    const db = b.engine.db;
    await defineQueue(db, 'openstart', { concurrency: 2 });
    await start(db, 'q-open', { queue: 'openstart' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const started = new Promise<void>((r) => (inside = r));
    const open = db.transaction(async (tx) => {
      await tx.query(`SELECT * FROM aries.start_execution(p_workflow => 'q-open', p_version => NULL, p_input => '{}', p_queue => 'openstart')`);
      inside();
      await held;
    });
    await started;
    try {
      const claimed = await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '5s'`);
        await tx.query(`SELECT set_config('aries.now', $1, true)`, [at(10)]);
        return tx.query(`SELECT id FROM aries.claim_executions(p_worker => 'w1', p_workflow_keys => ARRAY['q-open@1'], p_limit => 5, p_lease_ms => 60000)`);
      });
      expect(claimed).toHaveLength(1);
    } finally {
      release();
      await open;
    }
  });

  test('a child started with ctx.child lands in its workflow’s registered queue, key ""', async () => {
    const db = b.engine.db;
    await defineQueue(db, 'kids', { concurrency: 1 });
    await db.query(`SELECT aries.register_workflow(p_name => 'q-child', p_version => '1', p_queue => 'kids')`);
    const parent = await start(db, 'q-parent');
    const [c] = await claim(db, 'w1', 'q-parent', 1);
    expect(c!.id).toBe(parent);
    const [row] = await db.query<{ child: string }>(
      `SELECT aries.start_child(p_execution_id => $1, p_token => $2, p_seq => 0, p_step_key => 'kid', p_workflow => 'q-child',
                                p_version => NULL, p_input => '{}'::jsonb) AS child`,
      [c!.id, c!.lease_token],
    );
    const [child] = await db.query<{ queue_name: string; queue_key: string }>('SELECT queue_name, queue_key FROM aries.executions WHERE id = $1', [row!.child]);
    expect(child).toEqual({ queue_name: 'kids', queue_key: '' });
  });
});
