/**
 * Child workflows: a parent's round trip through one child, and a parent fanning out to many at once.
 *
 *   round trip  engine.start(parent) → handle.result(), the parent starting one 1-step child and
 *               returning its result; baseline (alternating with it): the same 1-step workflow started
 *               on its own, start → result.
 *   fan-out     one parent starting `n` 1-step children at once (Promise.all over ctx.child) until its
 *               result; baseline: the same `n` executions started by the client (16 starters) and each
 *               awaited, first start → last result. Also how often the parent was claimed (each child's
 *               end wakes it) and how long its journal grew.
 *
 * One engine, one worker (the caller's) running every workflow; wake-ups are in-process or by NOTIFY.
 */
import type { Engine, ExecutionHandle } from '../src/index.js';
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';
import { pool } from './execution-driver.js';
import { summarize, type LatencySummary } from './latency-summary.js';
import { childWorkflow, fanOutWorkflow, parentWorkflow } from './waits-workflows.js';

export interface RoundTripResult {
  parent: LatencySummary;
  single: LatencySummary;
  cpu: CpuUse;
}

export interface FanOutResult {
  children: number;
  seconds: number;
  baselineSeconds: number;
  parentClaims: number;
  parentJournalRecords: number;
  cpu: CpuUse;
  baselineCpu: CpuUse;
}

const RESULT_TIMEOUT_MS = 900_000;

async function databaseName(engine: Engine): Promise<string | undefined> {
  if (engine.backend !== 'postgres') return undefined;
  return (await engine.db.query<{ name: string }>('SELECT current_database() AS name'))[0]?.name;
}

export async function measureRoundTrip(engine: Engine, options: { samples: number; warmup: number }): Promise<RoundTripResult> {
  const database = await databaseName(engine);
  const parent: number[] = [];
  const single: number[] = [];
  let cpu0 = cpuSnapshot(database);
  for (let i = 0; i < options.warmup + options.samples; i++) {
    if (i === options.warmup) cpu0 = cpuSnapshot(database);
    const s0 = performance.now();
    const alone = await engine.start(childWorkflow, i);
    await alone.result({ timeoutMs: 30_000 });
    const s1 = performance.now();
    const p = await engine.start(parentWorkflow, i);
    const output = await p.result({ timeoutMs: 30_000 });
    const s2 = performance.now();
    if (output !== i) throw new Error(`parent ${p.id} returned ${String(output)}, expected its child's result ${i}`);
    if (i >= options.warmup) {
      single.push(s1 - s0);
      parent.push(s2 - s1);
    }
  }
  return { parent: summarize(parent), single: summarize(single), cpu: cpuSince(cpu0, cpuSnapshot(database)) };
}

export async function measureFanOut(engine: Engine, n: number): Promise<FanOutResult> {
  const database = await databaseName(engine);
  const base0 = cpuSnapshot(database);
  const b0 = performance.now();
  const handles: ExecutionHandle<number>[] = [];
  await pool(n, 16, async (k) => {
    handles[k] = await engine.start(childWorkflow, k);
  });
  await Promise.all(handles.map((h) => h.result({ timeoutMs: RESULT_TIMEOUT_MS })));
  const baselineSeconds = (performance.now() - b0) / 1000;
  const baselineCpu = cpuSince(base0, cpuSnapshot(database));

  const cpu0 = cpuSnapshot(database);
  const t0 = performance.now();
  const parent = await engine.start(fanOutWorkflow, n);
  const got = await parent.result({ timeoutMs: RESULT_TIMEOUT_MS });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSince(cpu0, cpuSnapshot(database));
  if (got !== n) throw new Error(`fan-out parent ${parent.id} returned ${String(got)}, expected ${n}`);

  const [row] = await engine.db.query<{ claims: number; records: string; completed: string }>(
    `SELECT e.claim_count AS claims,
            (SELECT count(*) FROM aries.journal j WHERE j.execution_id = e.id) AS records,
            (SELECT count(*) FROM aries.executions c WHERE c.parent_id = e.id AND c.status = 'COMPLETED') AS completed
       FROM aries.executions e WHERE e.id = $1`,
    [parent.id],
  );
  if (Number(row?.completed) !== n) throw new Error(`fan-out parent ${parent.id} completed with ${row?.completed} of ${n} children COMPLETED`);
  return {
    children: n,
    seconds,
    baselineSeconds,
    parentClaims: Number(row!.claims),
    parentJournalRecords: Number(row!.records),
    cpu,
    baselineCpu,
  };
}
