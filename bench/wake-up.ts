/**
 * Wake-up throughput: `n` sleepers come due at once (one commit moves their time to now) and one idle
 * worker runs them to completion: each is claimed, replays its journal (the sleep, settled now by
 * await_waits), runs its one step and completes. The baseline, measured first on the same database and
 * worker settings, is `n` executions of the same step without the sleep made due by one commit (one
 * transaction of n start_execution calls). Both are timed from that commit to the last completion.
 */
import type { Engine } from '../src/index.js';
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';
import { finished } from './execution-driver.js';
import { makeDue } from './sleepers.js';
import { awakeWorkflow, benchWaitWorkflows, sleeperWorkflow } from './waits-workflows.js';

export interface WakeUpRun {
  executions: number;
  /** The commit that made them due (the UPDATE, or the n starts). */
  dueSeconds: number;
  /** From that commit to the last completion. */
  runSeconds: number;
  perSecond: number;
  cpu: CpuUse;
}

export interface WakeUpResult {
  woken: WakeUpRun;
  baseline: WakeUpRun;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function completed(engine: Engine, workflow: string): Promise<number> {
  const [row] = await engine.db.query<{ n: string }>(`SELECT count(*) AS n FROM aries.executions WHERE workflow_name = $1 AND status = 'COMPLETED'`, [workflow]);
  return Number(row?.n ?? 0);
}

async function run(engine: Engine, n: number, concurrency: number, makeThemDue: () => Promise<void>): Promise<WakeUpRun> {
  const database = engine.backend === 'postgres' ? (await engine.db.query<{ name: string }>('SELECT current_database() AS name'))[0]?.name : undefined;
  const worker = engine.worker({ workflows: benchWaitWorkflows, concurrency });
  await worker.start();
  await pause(1_500); // idle: its startup claim is over, it waits for a notification or its next poll
  try {
    const cpu0 = cpuSnapshot(database);
    const t0 = performance.now();
    await makeThemDue();
    const t1 = performance.now();
    await finished(worker, n);
    const t2 = performance.now();
    const cpu = cpuSince(cpu0, cpuSnapshot(database));
    if (worker.stats.completed !== n) throw new Error(`expected ${n} completed executions, the worker reports ${JSON.stringify(worker.stats)}`);
    return { executions: n, dueSeconds: (t1 - t0) / 1000, runSeconds: (t2 - t1) / 1000, perSecond: n / ((t2 - t1) / 1000), cpu };
  } finally {
    await worker.stop();
  }
}

/** `engine`'s database holds at least `n` sleepers (sleepers.ts). */
export async function measureWakeUp(engine: Engine, n: number, concurrency: number): Promise<WakeUpResult> {
  const awake0 = await completed(engine, awakeWorkflow.name);
  const baseline = await run(engine, n, concurrency, async () => {
    await engine.db.transaction((tx) =>
      tx.query(`SELECT count(*) FROM generate_series(1, $2::integer) i, aries.start_execution(p_workflow => $1, p_version => NULL, p_input => to_jsonb(i)) s`, [
        awakeWorkflow.name,
        n,
      ]),
    );
  });
  const woken = await run(engine, n, concurrency, async () => {
    const due = await makeDue(engine.db, n);
    if (due !== n) throw new Error(`made ${due} sleepers due, expected ${n}`);
  });
  const [awake, slept] = [(await completed(engine, awakeWorkflow.name)) - awake0, await completed(engine, sleeperWorkflow.name)];
  if (awake !== n || slept !== n) throw new Error(`the database has ${awake} baseline and ${slept} woken executions COMPLETED, expected ${n} each`);
  return { woken, baseline };
}
