/**
 * Signal latency: from sending a signal to the waiting workflow's next step starting, on an idle worker.
 *
 * Each sample starts an execution that waits for the signal "go" (not timed), waits until the worker has
 * suspended it (WAITING, no lease owner, no slot), lets the worker go idle, then times `sender.signal`
 * until the step after the wait begins in the worker. The baseline, measured in the same loop
 * (alternating, so drift hits both alike), is the same step reached by starting an execution through the
 * same sender: start → first step begins. Both wake the worker the same way: in-process when the sender
 * is the worker's own engine, by NOTIFY on commit otherwise.
 */
import { type Database } from '../src/db/database.js';
import { type Engine, type Worker, type Workflow } from '../src/index.js';
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';
import { summarize, type LatencySummary } from './latency-summary.js';
import { signalWorkflow, startedWorkflow, whenStepBegins } from './waits-workflows.js';

/** How a sample's signal (and the baseline's start) is sent. */
export interface Sender {
  label: string;
  start(workflow: Workflow<string, string>, tag: string): Promise<string>;
  signal(executionId: string, tag: string): Promise<void>;
}

/** Through an engine's API: engine.start and engine.signal. */
export function engineSender(label: string, engine: Engine): Sender {
  return {
    label,
    start: async (workflow, tag) => (await engine.start(workflow, tag)).id,
    signal: async (id, tag) => {
      await engine.signal(id, 'go', tag);
    },
  };
}

/** In the application's own transaction: aries.start_execution and aries.send_signal from SQL. */
export function sqlSender(label: string, db: Database): Sender {
  return {
    label,
    start: (workflow, tag) =>
      db.transaction(async (tx) => {
        const [row] = await tx.query<{ execution_id: string }>(
          'SELECT execution_id FROM aries.start_execution(p_workflow => $1, p_version => NULL, p_input => $2::jsonb)',
          [workflow.name, JSON.stringify(tag)],
        );
        return row!.execution_id;
      }),
    signal: (id, tag) =>
      db.transaction(async (tx) => {
        await tx.query('SELECT * FROM aries.send_signal(p_execution_id => $1, p_name => $2, p_payload => $3::jsonb)', [id, 'go', JSON.stringify(tag)]);
      }),
  };
}

export interface SignalLatencyOptions {
  samples: number;
  warmup: number;
  /** Idle time after the suspension before the signal is sent, ms. */
  idleMs: number;
}

export interface SignalLatencyResult {
  label: string;
  /** send → the step after the wait begins. */
  signal: LatencySummary;
  /** The send call alone (send_signal's round trip and commit). */
  send: LatencySummary;
  /** Baseline: start → the first step begins. */
  start: LatencySummary;
  cpu: CpuUse;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await pause(1);
  }
}

async function checkSuspended(runner: Engine, id: string): Promise<void> {
  const [row] = await runner.db.query<{ status: string; lease_owner: string | null }>(
    'SELECT status, lease_owner FROM aries.executions WHERE id = $1',
    [id],
  );
  if (row?.status !== 'WAITING' || row.lease_owner !== null) {
    throw new Error(`execution ${id} should be WAITING without a lease owner while it waits, it is ${JSON.stringify(row)}`);
  }
}

/** `worker` runs on `runner` (concurrency as the caller set it) with signalWorkflow and startedWorkflow. */
export async function measureSignalLatency(runner: Engine, worker: Worker, sender: Sender, options: SignalLatencyOptions): Promise<SignalLatencyResult> {
  const signals: number[] = [];
  const sends: number[] = [];
  const starts: number[] = [];
  const database = runner.backend === 'postgres' ? (await runner.db.query<{ name: string }>('SELECT current_database() AS name'))[0]?.name : undefined;
  let cpu0 = cpuSnapshot(database);
  for (let i = 0; i < options.warmup + options.samples; i++) {
    if (i === options.warmup) cpu0 = cpuSnapshot(database);
    const measured = i >= options.warmup;

    const startTag = `${sender.label}:start:${i}`;
    const started = whenStepBegins(startTag);
    const s0 = performance.now();
    const startedId = await sender.start(startedWorkflow, startTag);
    const s1 = await started;
    await runner.handle(startedId).result({ timeoutMs: 30_000 });
    if (measured) starts.push(s1 - s0);

    const tag = `${sender.label}:signal:${i}`;
    const suspendedBefore = worker.stats.suspended;
    const waiting = await runner.start(signalWorkflow, tag);
    await until(`execution ${waiting.id} to be suspended`, () => worker.stats.suspended > suspendedBefore);
    if (i === 0) await checkSuspended(runner, waiting.id);
    await pause(options.idleMs);
    const next = whenStepBegins(tag);
    const t0 = performance.now();
    await sender.signal(waiting.id, tag);
    const t1 = performance.now();
    const t2 = await next;
    const output = await runner.handle<string>(waiting.id).result({ timeoutMs: 30_000 });
    if (output !== tag) throw new Error(`execution ${waiting.id} returned ${JSON.stringify(output)}, expected the signal's payload ${tag}`);
    if (measured) {
      sends.push(t1 - t0);
      signals.push(t2 - t0);
    }
  }
  return { label: sender.label, signal: summarize(signals), send: summarize(sends), start: summarize(starts), cpu: cpuSince(cpu0, cpuSnapshot(database)) };
}
