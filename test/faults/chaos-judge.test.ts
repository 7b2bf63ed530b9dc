/**
 * The chaos run's judge (scripts/chaos/judge.ts) finds each violation it claims to: a clean run of the
 * three chaos workflows is judged clean, then each kind of fault is planted in the database by hand and
 * counted by its own judgment (a lost and a stuck execution, a wrong outcome, a completed step started
 * again in a worker holding the lease, a zombie's body start, a duplicated transactional row, compensations
 * run out of order, a journal record changed in place).
 *
 * Server only: the judge reads the cluster through a PostgreSQL connection URL, as the chaos run does
 * (PGlite has none); a fresh database on the machine's server, nothing restarted.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Engine, type Workflow } from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';
import { judgeChaosRun, type Judgment } from '../../scripts/chaos/judge.js';
import type { PlannedExecution } from '../../scripts/chaos/execution-plan.js';
import type { StartReport } from '../../scripts/chaos/starter.js';
import { CHAOS_DDL, chaosWorkflows, SAGA_WORKFLOW, STEPS_WORKFLOW, TRANSFER_WORKFLOW } from '../../scripts/chaos/workflows.js';

const WORKER_ID = 'chaos-judge-worker';

(serverEnabled() ? describe : describe.skip)('the chaos judge [postgres]', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let engine: Engine;
  const plan: PlannedExecution[] = [
    { n: 0, workflow: STEPS_WORKFLOW, input: { n: 0, pauseMs: 0 }, expected: 'COMPLETED', idempotencyKey: 'judge-0' },
    { n: 1, workflow: TRANSFER_WORKFLOW, input: { n: 1, pauseMs: 0 }, expected: 'COMPLETED', idempotencyKey: 'judge-1' },
    { n: 2, workflow: SAGA_WORKFLOW, input: { n: 2, pauseMs: 0, fail: true }, expected: 'COMPENSATED', idempotencyKey: 'judge-2' },
    { n: 3, workflow: SAGA_WORKFLOW, input: { n: 3, pauseMs: 0, fail: false }, expected: 'COMPLETED', idempotencyKey: 'judge-3' },
  ];
  const starts: StartReport = { acknowledged: new Map(), retried: 0, errors: [] };
  const judge = async (p: readonly PlannedExecution[] = plan, s: StartReport = starts) => {
    const judged = await judgeChaosRun(db.url, p, s);
    return (label: string) => judged.find((j: Judgment) => j.label === label)!.count;
  };
  const sql = async (text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(text, params);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('chaos-judge');
    engine = await createEngine({ databaseUrl: db.url, vacuumIntervalMs: 0, onError: () => {} });
    await engine.db.exec(CHAOS_DDL);
    const workflows = new Map(chaosWorkflows(engine, WORKER_ID).map((wf) => [wf.name, wf as Workflow<unknown, unknown>]));
    const worker = engine.worker({ workflows: [...workflows.values()], id: WORKER_ID, pollIntervalMs: 50, schedulerIntervalMs: 0 });
    await worker.start();
    try {
      for (const p of plan) {
        const handle = await engine.start(workflows.get(p.workflow)!, p.input, { idempotencyKey: p.idempotencyKey });
        starts.acknowledged.set(p.n, handle.id);
        await handle.result({ timeoutMs: 30_000 }).catch(() => {});
      }
    } finally {
      await worker.stop();
    }
  });
  afterAll(async () => {
    await engine?.close();
    await db?.drop();
  });

  test('judges a run without faults clean', async () => {
    const judged = await judgeChaosRun(db.url, plan, starts);
    expect(judged.filter((j) => j.severity !== 'figure' && j.count > 0)).toEqual([]);
    expect(judged.find((j) => j.label === 'compensated sagas')!.count).toBe(1);
  });

  test('counts an execution lost, one stuck, and one that ended otherwise than planned', async () => {
    const pending = await engine.start(STEPS_WORKFLOW, { n: 4, pauseMs: 0 });
    const more: PlannedExecution[] = [
      ...plan.slice(0, 3),
      { ...plan[3]!, expected: 'COMPENSATED' },
      { n: 4, workflow: STEPS_WORKFLOW, input: { n: 4, pauseMs: 0 }, expected: 'COMPLETED', idempotencyKey: 'judge-4' },
      { n: 5, workflow: STEPS_WORKFLOW, input: { n: 5, pauseMs: 0 }, expected: 'COMPLETED', idempotencyKey: 'judge-5' },
    ];
    const acknowledged = new Map(starts.acknowledged).set(4, pending.id).set(5, randomUUID());
    const count = await judge(more, { ...starts, acknowledged });
    expect([count('lost'), count('stuck after the drain'), count('wrong outcome')]).toEqual([1, 1, 1]);
  });

  test('tells a completed step the engine started again from a zombie body start', async () => {
    const steps = starts.acknowledged.get(0)!;
    await sql(`INSERT INTO chaos_effects (execution_id, step_key, kind, attempt, worker_pid, worker_id, held_lease, done_before)
               VALUES ($1, 'b', 'step', 1, 1, $2, true, true), ($1, 'c', 'step', 1, 1, 'stalled', false, true)`, [steps, WORKER_ID]);
    const count = await judge();
    expect(count('completed step re-run by the engine')).toBe(1);
    expect(count('step bodies started by a worker that no longer held the lease')).toBe(1);
  });

  test('counts a transactional row written twice', async () => {
    const transfer = starts.acknowledged.get(1)!;
    await sql(`INSERT INTO chaos_rows (execution_id, step_key, attempt, worker_pid) SELECT execution_id, step_key, attempt, 2 FROM chaos_rows WHERE execution_id = $1`, [transfer]);
    expect((await judge())('transactional rows duplicated')).toBe(1);
  });

  test('counts compensations that first ran out of reverse order', async () => {
    const saga = starts.acknowledged.get(2)!;
    await sql(`DELETE FROM chaos_effects WHERE execution_id = $1 AND kind = 'compensation'`, [saga]);
    await sql(`INSERT INTO chaos_effects (execution_id, step_key, kind, attempt, worker_pid, worker_id, held_lease, done_before)
               SELECT $1, k, 'compensation', 1, 1, $2, true, false FROM unnest(ARRAY['reserve', 'charge', 'ship']) AS k`, [saga, WORKER_ID]);
    expect((await judge())('compensation order violated')).toBe(1);
  });

  test('counts a journal record changed in place', async () => {
    const steps = starts.acknowledged.get(3)!;
    await sql('ALTER TABLE aries.journal DISABLE TRIGGER USER');
    await sql(`UPDATE aries.journal SET payload = '{"forged": true}' WHERE lsn = (SELECT max(lsn) FROM aries.journal WHERE execution_id = $1)`, [steps]);
    await sql('ALTER TABLE aries.journal ENABLE TRIGGER USER');
    expect((await judge())('journal broken (checksum, prev-LSN chain, last LSN)')).toBe(1);
  });
});
