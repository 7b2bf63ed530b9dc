/**
 * Durable step throughput: N executions of a workflow of `steps` no-op steps, run by one worker at a
 * given concurrency. The executions are all started first, with no worker running (16 concurrent
 * starters), so the start cost is measured on its own; then the worker starts and the run is timed from
 * worker.start() to the last completion. A short warm-up of the same shape precedes both.
 */
import { defineWorkflow, type Engine } from '../src/index.js';
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';
import { finished, pool } from './execution-driver.js';

export interface ThroughputOptions {
  executions: number;
  warmupExecutions: number;
  steps: number;
  concurrency: number;
}

export interface ThroughputResult {
  executions: number;
  steps: number;
  startSeconds: number;
  startsPerSecond: number;
  runSeconds: number;
  stepsPerSecond: number;
  executionsPerSecond: number;
  /** From the first start to the last completion, start phase included. */
  endToEndExecutionsPerSecond: number;
  runCpu: CpuUse;
  startCpu: CpuUse;
  /** Server only: transaction ids and WAL bytes the run consumed, per step. */
  xidsPerStep?: number;
  walBytesPerStep?: number;
}

export function stepsWorkflow(steps: number) {
  return defineWorkflow('bench-steps', async (ctx, i: number) => {
    for (let s = 0; s < steps; s++) await ctx.step(`s${s}`, () => i);
    return i;
  });
}



/** Completed executions of the benchmark workflow and their steps, as the database has them. */
async function completedCounts(engine: Engine): Promise<{ completed: number; steps: number }> {
  const [row] = await engine.db.query<{ completed: number | string; steps: number | string }>(
    `SELECT count(*) FILTER (WHERE status = 'COMPLETED') AS completed, coalesce(sum(step_count), 0) AS steps
       FROM aries.executions WHERE workflow_name = 'bench-steps'`,
  );
  return { completed: Number(row!.completed), steps: Number(row!.steps) };
}

async function serverDatabaseName(engine: Engine): Promise<string | undefined> {
  if (engine.backend !== 'postgres') return undefined;
  const [row] = await engine.db.query<{ name: string }>('SELECT current_database() AS name');
  return row?.name;
}

async function serverCounters(engine: Engine): Promise<{ xid: number; wal: number } | undefined> {
  if (engine.backend !== 'postgres') return undefined;
  const [row] = await engine.db.query<{ xid: string; wal: string }>(
    `SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xid,
            pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal`,
  );
  return { xid: Number(row!.xid), wal: Number(row!.wal) };
}

export async function measureStepsThroughput(engine: Engine, options: ThroughputOptions): Promise<ThroughputResult> {
  const { executions: n, steps, concurrency } = options;
  const workflow = stepsWorkflow(steps);

  const initial = await completedCounts(engine);
  // The warm-up follows the same pattern as the measured run: start everything, then run a worker.
  if (options.warmupExecutions > 0) {
    await pool(options.warmupExecutions, concurrency, (i) => engine.start(workflow, i));
    const warm = engine.worker({ workflows: [workflow], concurrency });
    await warm.start();
    await finished(warm, options.warmupExecutions);
    await warm.stop();
  }

  const database = await serverDatabaseName(engine);
  const startCpu0 = cpuSnapshot(database);
  const t0 = performance.now();
  await pool(n, concurrency, (i) => engine.start(workflow, i));
  const t1 = performance.now();
  const startCpu = cpuSince(startCpu0, cpuSnapshot(database));

  const before = await serverCounters(engine);
  const worker = engine.worker({ workflows: [workflow], concurrency });
  const runCpu0 = cpuSnapshot(database);
  const t2 = performance.now();
  await worker.start();
  await finished(worker, n);
  const t3 = performance.now();
  const runCpu = cpuSince(runCpu0, cpuSnapshot(database));
  const after = await serverCounters(engine);
  await worker.stop();

  if (worker.stats.completed !== n) {
    throw new Error(`expected ${n} completed executions, the worker reports ${JSON.stringify(worker.stats)}`);
  }
  const check = await completedCounts(engine);
  const expected = n + options.warmupExecutions;
  if (check.completed - initial.completed !== expected || check.steps - initial.steps !== expected * steps) {
    throw new Error(
      `the database gained ${check.completed - initial.completed} completed executions and ${check.steps - initial.steps} steps; ` +
        `expected ${expected} and ${expected * steps}`,
    );
  }

  const runSeconds = (t3 - t2) / 1000;
  const startSeconds = (t1 - t0) / 1000;
  const result: ThroughputResult = {
    executions: n,
    steps: n * steps,
    startSeconds,
    startsPerSecond: n / startSeconds,
    runSeconds,
    stepsPerSecond: (n * steps) / runSeconds,
    executionsPerSecond: n / runSeconds,
    endToEndExecutionsPerSecond: n / ((t3 - t0) / 1000),
    runCpu,
    startCpu,
  };
  if (before && after) {
    result.xidsPerStep = (after.xid - before.xid) / (n * steps);
    result.walBytesPerStep = (after.wal - before.wal) / (n * steps);
  }
  return result;
}
