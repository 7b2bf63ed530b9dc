/**
 * Start-to-finish latency of a 1-step execution on an idle worker: executions are started one at a
 * time and each is awaited (handle.result()) before the next starts. `starter` starts them and `runner`
 * holds the worker; when they are different engines the worker learns of new work only through the
 * database (LISTEN/NOTIFY), as a worker in another process would. On one engine, start() also wakes the
 * worker in-process.
 */
import { defineWorkflow, type Engine } from '../src/index.js';
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';

export interface LatencyOptions {
  samples: number;
  warmup: number;
  concurrency: number;
}

export interface LatencyResult {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** The start() call alone (start_execution's round trip and commit). */
  startP50: number;
  startMean: number;
  cpu: CpuUse;
}

const latencyWorkflow = defineWorkflow('bench-latency', async (ctx, i: number) => ctx.step('s0', () => i));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1; // nearest-rank
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function measureStartLatency(starter: Engine, runner: Engine, options: LatencyOptions): Promise<LatencyResult> {
  const worker = runner.worker({ workflows: [latencyWorkflow], concurrency: options.concurrency });
  await worker.start();
  const totals: number[] = [];
  const starts: number[] = [];
  const database =
    runner.backend === 'postgres'
      ? (await runner.db.query<{ name: string }>('SELECT current_database() AS name'))[0]?.name
      : undefined;
  const cpu0 = cpuSnapshot(database);
  let cpu: CpuUse;
  try {
    for (let i = 0; i < options.warmup + options.samples; i++) {
      const t0 = performance.now();
      const handle = await starter.start(latencyWorkflow, i);
      const t1 = performance.now();
      const output = await runner.handle<number>(handle.id).result({ timeoutMs: 30_000 });
      const t2 = performance.now();
      if (output !== i) throw new Error(`execution ${handle.id} returned ${output}, expected ${i}`);
      if (i >= options.warmup) {
        starts.push(t1 - t0);
        totals.push(t2 - t0);
      }
    }
    cpu = cpuSince(cpu0, cpuSnapshot(database));
  } finally {
    await worker.stop();
  }
  const sorted = [...totals].sort((a, b) => a - b);
  const sortedStarts = [...starts].sort((a, b) => a - b);
  return {
    samples: totals.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: mean(totals),
    max: sorted[sorted.length - 1] ?? NaN,
    startP50: percentile(sortedStarts, 50),
    startMean: mean(starts),
    cpu,
  };
}
