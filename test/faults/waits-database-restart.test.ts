/**
 * Durable waits across a database crash: the PostgreSQL server is stopped in immediate mode (every server
 * process killed at once, nothing flushed on the way out: a crash) and started again while a worker process
 * (test/fixtures/waits-worker.ts) runs the orders of test/fixtures/waits-fault-workflow.ts. It runs on a
 * throwaway server of this file's own (test/helpers/throwaway-postgres.ts), never the machine's.
 *
 * At the crash a third of the orders sleep (their sleep ends well after the restart) with their first
 * signal already in the mailbox, a third wait for that signal, and a third wait for their two children,
 * which sleep. Just before the crash half of the waiting third get their signal, so some of them are
 * running when the server dies. Then:
 *   - nothing lost: every wait and every signal there before the crash is there after it, unchanged (a
 *     sleep's wake time, a wait's signal or child, a settled wait's settlement, a consumed signal's wait),
 *     and so is every signal whose send returned before the crash;
 *   - a signal sent before the crash is delivered after it: the sleepers' first signals, sent before the
 *     crash, are consumed after the restart;
 *   - the worker process lives through it, listens again, and finishes everything with no help: the
 *     remaining signals are sent after the restart, and test/helpers/waits-fault-judge.ts judges the end
 *     (every execution COMPLETED, each wait once and settled, each signal consumed once by its wait in the
 *     order sent, each child started once, transactional effects exactly once).
 * The server is stopped and its dir removed in afterAll, whatever happened. A machine without the
 * PostgreSQL binaries skips this file with a warning, except under CI, where that fails.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { createThrowawayPostgres, throwawayPostgresUnavailable, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';
import { describeUnfinished, judgeWaitsRun } from '../helpers/waits-fault-judge.js';
import { alive, spawnWaitsWorker, type WaitsWorker, type WorkerEvent } from '../helpers/waits-worker-processes.js';
import { EFFECTS_DDL, SIGNAL_NAME, signalKey, waitsFaultWorkflows, type OrderInput } from '../fixtures/waits-fault-workflow.js';
import { sendGoSignals } from '../fixtures/waits-signal-sender.js';

const [SEED] = testSeeds([Math.floor(Math.random() * 2 ** 31)]);
const ORDERS = 24;
/** Long enough to outlast the crash and the restart: the sleepers wake only on the restarted server. */
const SLEEPER_NAP_MS = 12_000;
const LINE_NAP_MS = 7_000;
const DOWN_MS = 1_500;

type Group = 'sleeper' | 'waiter' | 'parent';
const groupOf = (n: number): Group => (['sleeper', 'waiter', 'parent'] as const)[n % 3]!;
/** What each group's order waits on at the crash (for a parent: its lines' sleeps too). */
const WAITING_ON: Record<Group, string[]> = { sleeper: ['nap'], waiter: ['signal:go:1'], parent: ['line-a', 'line-b'] };

const unavailable = throwawayPostgresUnavailable();
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (unavailable && !ci) console.warn(`\n!! waits-database-restart is SKIPPED: ${unavailable}\n`);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const got = await probe();
      if (got !== undefined) return got;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(50);
  }
}

interface WaitSnapshot {
  execution_id: string;
  step_key: string;
  kind: string;
  wake_at: string | null;
  signal_name: string | null;
  child_id: string | null;
  created_at: string;
  resolved_lsn: number | null;
}
interface SignalSnapshot {
  id: number;
  execution_id: string;
  idempotency_key: string;
  payload: unknown;
  consumed_by: string | null;
  sent_at: string;
  consumed_at: string | null;
}

const readWaits = (engine: Engine) =>
  engine.db.query<WaitSnapshot>(
    `SELECT execution_id, step_key, kind, wake_at::text, signal_name, child_id, created_at::text, resolved_lsn FROM aries.waits`,
  );
const readSignals = (engine: Engine) =>
  engine.db.query<SignalSnapshot>(
    `SELECT id, execution_id, idempotency_key, payload, consumed_by, sent_at::text, consumed_at::text FROM aries.signals`,
  );

(unavailable && !ci ? describe.skip : describe)('durable waits across a database crash and restart [postgres, a throwaway server]', () => {
  let server: ThrowawayPostgres | undefined;
  let engine: Engine | undefined;
  let worker: WaitsWorker | undefined;

  beforeAll(async () => {
    if (unavailable) throw new Error(`CI: a throwaway PostgreSQL server is needed and cannot run here: ${unavailable}`);
    server = await createThrowawayPostgres();
    await server.start();
  });
  afterAll(async () => {
    if (worker && alive(worker)) process.kill(worker.pid, 'SIGKILL');
    await engine?.close().catch(() => {});
    await server?.remove();
  });

  test(`${ORDERS} orders asleep, waiting for signals and for children; the server crashes and restarts under a running worker`, async () => {
    const random = seededRandom(SEED!);
    const context: string[] = [`ARIES_TEST_SEEDS=${SEED}`];
    engine = await createEngine({ databaseUrl: server!.url(), vacuumIntervalMs: 0, onError: () => {} });
    await engine.db.exec(EFFECTS_DDL);
    const { order } = waitsFaultWorkflows(engine);
    const ids: Record<Group, string[]> = { sleeper: [], waiter: [], parent: [] };
    for (let n = 0; n < ORDERS; n++) {
      const group = groupOf(n);
      const input: OrderInput = { n, napMs: group === 'sleeper' ? SLEEPER_NAP_MS : 50, lineNapMs: group === 'parent' ? LINE_NAP_MS : 50 };
      const handle = await engine.start(order, input, { idempotencyKey: `order-${n}` });
      ids[group].push(handle.id);
      // The parents get their first signal at once: they go on to start their children.
      if (group === 'parent') await engine.signal(handle.id, SIGNAL_NAME, { seq: 1, copy: 0 }, { idempotencyKey: signalKey(1) });
    }

    const events: WorkerEvent[] = [];
    worker = spawnWaitsWorker(
      { WAITS_WORKER_DATABASE_URL: server!.url(), WAITS_WORKER_LEASE_MS: '1500', WAITS_WORKER_POLL_MS: '1000' },
      (_w, e) => events.push(e),
    );
    const w = worker;
    const workerState = () => `worker ${w.pid}: ${alive(w) ? 'alive' : `exited ${w.process.exitCode ?? w.process.signalCode}`}\n${w.stderr.slice(-3_000)}`;

    // Every order suspended where its group waits (a parent's lines asleep too), nothing running.
    await until('every order waits where its group waits', 30_000, async () => {
      if (!alive(w)) throw new Error(workerState());
      const rows = await engine!.db.query<{ execution_id: string; status: string; waiting: string[] | null }>(
        `SELECT e.id AS execution_id, e.status,
                (SELECT array_agg(s.step_key ORDER BY s.step_key) FROM aries.steps s WHERE s.execution_id = e.id AND s.status = 'WAITING') AS waiting
           FROM aries.executions e`,
      );
      const by = new Map(rows.map((r) => [r.execution_id, r]));
      const ok = (Object.keys(ids) as Group[]).every((g) =>
        ids[g].every((id) => {
          const r = by.get(id);
          return r && (r.status === 'SLEEPING' || r.status === 'WAITING') && (r.waiting ?? []).join() === WAITING_ON[g].join();
        }),
      );
      const lines = rows.filter((r) => !Object.values(ids).flat().includes(r.execution_id));
      const linesAsleep = lines.length === ids.parent.length * 2 && lines.every((l) => l.status === 'SLEEPING' && (l.waiting ?? []).join() === 'rest');
      return ok && linesAsleep ? true : undefined;
    });
    // Long enough for any commit the worker made asynchronously to be flushed: the snapshot is durable.
    await sleep(700);
    const waitsBefore = await readWaits(engine);
    const signalsBefore = await readSignals(engine);

    // Signals sent before the crash: to the sleepers (kept for when they wake) and half the waiters (which run).
    const sentBeforeCrash: Array<{ executionId: string; signalId: string }> = [];
    const woken = random.sample(ids.waiter, Math.floor(ids.waiter.length / 2));
    for (const id of [...ids.sleeper, ...woken]) {
      const { signalId } = await engine.signal(id, SIGNAL_NAME, { seq: 1, copy: 0 }, { idempotencyKey: signalKey(1) });
      sentBeforeCrash.push({ executionId: id, signalId });
    }
    await sleep(random.int(20, 250)); // the woken waiters are running: the crash lands in their work
    const [{ crash_at: crashAt } = { crash_at: '' }] = await engine.db.query<{ crash_at: string }>('SELECT aries.now()::text AS crash_at');
    await server!.crash();
    context.push(`crashed at ${crashAt}, ${woken.length} waiters woken just before`);
    await sleep(DOWN_MS);
    expect(alive(w), `the worker lives through the server's absence\n${workerState()}`).toBe(true);
    await server!.start();
    const restartedAt = await until('the test engine reconnects', 20_000, async () => {
      const [row] = await engine!.db.query<{ now: string }>('SELECT aries.now()::text AS now');
      return row?.now;
    });
    context.push(`restarted at ${restartedAt}`);

    // Nothing lost: every wait and signal of before the crash is there, unchanged (a settled one still settled).
    const waitsAfter = new Map((await readWaits(engine)).map((r) => [`${r.execution_id}/${r.step_key}`, r]));
    const lostWaits = waitsBefore
      .filter((b) => {
        const a = waitsAfter.get(`${b.execution_id}/${b.step_key}`);
        const same = a && a.kind === b.kind && a.wake_at === b.wake_at && a.signal_name === b.signal_name && a.child_id === b.child_id && a.created_at === b.created_at;
        return !same || (b.resolved_lsn !== null && a.resolved_lsn !== b.resolved_lsn);
      })
      .map((b) => `${b.execution_id} ${b.step_key}: ${JSON.stringify(b)} → ${JSON.stringify(waitsAfter.get(`${b.execution_id}/${b.step_key}`))}`);
    expect(waitsBefore.length, 'waits before the crash').toBeGreaterThanOrEqual(ORDERS);
    expect(lostWaits, `every wait of before the crash still there, unchanged\n${context.join('\n')}`).toEqual([]);
    const signalsAfter = new Map((await readSignals(engine)).map((s) => [String(s.id), s]));
    const lostSignals = signalsBefore
      .filter((b) => {
        const a = signalsAfter.get(String(b.id));
        return !a || a.execution_id !== b.execution_id || a.idempotency_key !== b.idempotency_key || JSON.stringify(a.payload) !== JSON.stringify(b.payload) || (b.consumed_by !== null && a.consumed_by !== b.consumed_by);
      })
      .map((b) => `${b.id} ${b.execution_id} ${b.idempotency_key}`)
      .concat(sentBeforeCrash.filter((s) => signalsAfter.get(s.signalId)?.execution_id !== s.executionId).map((s) => `sent before the crash: ${s.signalId} to ${s.executionId}`));
    expect(lostSignals, `every signal of before the crash still there\n${context.join('\n')}`).toEqual([]);
    // The sleepers still sleep: the signal they were sent can only be taken by the restarted server.
    const sleepersAwake = await engine.db.query<{ execution_id: string }>(
      `SELECT e.id AS execution_id FROM unnest($1::uuid[]) AS e (id)
        WHERE NOT EXISTS (SELECT 1 FROM aries.waits wt WHERE wt.execution_id = e.id AND wt.step_key = 'nap'
                            AND wt.resolved_at IS NULL AND wt.wake_at > $2::timestamptz)`,
      [ids.sleeper, restartedAt],
    );
    expect(sleepersAwake, `the sleepers' sleep outlasts the restart (the premise of this test)\n${context.join('\n')}`).toEqual([]);

    // The worker listens again, and finishes everything: the remaining signals come after the restart.
    await until('the worker listens again', 20_000, async () => {
      const rows = await engine!.db.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'aries-listener'`);
      return rows.length === 1 ? true : undefined;
    });
    const sender = await sendGoSignals(engine, { random, maxGapMs: 40 });
    expect(sender.errors, 'every signal accepted after the restart').toEqual([]);
    const exit = await Promise.race([w.exit, sleep(30_000).then(() => undefined)]);
    if (exit === undefined) context.push(`not finished 30 s after the last signal:\n${await describeUnfinished(engine)}`);
    expect(exit, `the worker finished everything and exited 0\n${context.join('\n')}\n${workerState()}`).toEqual({ code: 0, signal: null });
    expect(w.done).toBe(true);

    await judgeWaitsRun(engine, ORDERS, context.join('\n'));
    // The sleepers' first signals: sent before the crash, consumed after the restart, by their first wait.
    const sleeperSignals = await engine.db.query<{ execution_id: string; before_crash: boolean; after_restart: boolean; consumed_by: string }>(
      `SELECT execution_id, sent_at < $2::timestamptz AS before_crash, consumed_at > $3::timestamptz AS after_restart, consumed_by
         FROM aries.signals WHERE execution_id = ANY($1::uuid[]) AND idempotency_key = $4`,
      [ids.sleeper, crashAt, restartedAt, signalKey(1)],
    );
    expect(sleeperSignals.filter((s) => !s.before_crash || !s.after_restart || s.consumed_by !== 'signal:go:1'), context.join('\n')).toEqual([]);
    expect(sleeperSignals).toHaveLength(ids.sleeper.length);
    const done = events.find((e) => e.event === 'done');
    console.log(
      `[waits database restart] ${context.join('; ')}; ${waitsBefore.length} waits and ${signalsBefore.length + sentBeforeCrash.length} signals ` +
        `kept through the crash; one worker process throughout, stats ${JSON.stringify(done?.stats)}; ` +
        `${w.stderr.split('\n').filter((l) => l.startsWith('waits-worker:')).length} errors reported by it while the server was away`,
    );
  }, 100_000);
});
