/**
 * Claim throughput under a queue's limits: `n` executions of a 1-step workflow made due by one commit
 * (one transaction of start_execution calls, placed in a queue or not), then claimed and completed by a
 * fleet of workers that were started and idle before it. Timed from that commit to the last completion.
 * The unlimited run (no queue) is the baseline the others are compared with, measured in the same run.
 * Also reads back, on the database clock, how the first starts were spread in time (for a rate limit:
 * the rate observed against the limit).
 */
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';
import type { Place } from './fresh-place.js';
import { flowWorkflow } from './queue-workflows.js';
import { fleetFinished, startFleet } from './worker-fleet.js';

export interface QueueCase {
  label: string;
  /** The queue's limits (register_queue); undefined: no queue at all. */
  queue?: { concurrency?: number; keyConcurrency?: number; rateLimit?: number; ratePeriodMs?: number };
  /** SQL giving the queue key of execution i (an integer column `i`); undefined: no key. */
  keyOf?: string;
  executions: number;
}

export interface ThroughputRun {
  label: string;
  executions: number;
  seconds: number;
  perSecond: number;
  /** First start to last first start, database clock, seconds. */
  startSpanSeconds: number;
  /** (n − the rate limit) ÷ that span: the first starts per second beyond the first window. */
  observedRate: number | undefined;
  /** Most executions of the queue RUNNING at once, sampled by the bench every 20 ms. */
  peakRunning: number;
  cpu: CpuUse;
}

export interface FleetSettings {
  workers: number;
  concurrency: number;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function measureThroughput(place: Place, c: QueueCase, fleetSettings: FleetSettings, onError: (err: unknown, context: string) => void): Promise<ThroughputRun> {
  const fleet = await startFleet(place, fleetSettings.workers, { workflows: [flowWorkflow], concurrency: fleetSettings.concurrency, schedulerIntervalMs: 0 }, onError);
  const db = fleet.engine.db;
  const queue = c.queue === undefined ? null : `bench-${c.label.replace(/[^a-z0-9]+/gi, '-')}`;
  try {
    if (c.queue !== undefined) {
      const q = c.queue;
      await db.query('SELECT aries.register_queue($1, $2, NULL, $3, $4, $5)', [queue, q.concurrency ?? null, q.keyConcurrency ?? null, q.rateLimit ?? null, q.ratePeriodMs ?? null]);
    }
    await pause(1_500); // the workers are idle: their startup claims are over
    const before = fleet.finished();
    let peakRunning = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aries.executions WHERE workflow_name = $1 AND status = 'RUNNING'`, [flowWorkflow.name]);
        peakRunning = Math.max(peakRunning, Number(row?.n ?? 0));
        await pause(20);
      }
    })();
    const cpu0 = cpuSnapshot(place.database);
    await db.transaction((tx) =>
      tx.query(
        `SELECT count(*) FROM generate_series(1, $2::integer) i,
                aries.start_execution(p_workflow => $1, p_version => NULL, p_input => to_jsonb(i), p_queue => $3,
                                      p_queue_key => ${c.keyOf ?? 'NULL'}) s`,
        [flowWorkflow.name, c.executions, queue],
      ),
    );
    const t1 = performance.now();
    await fleetFinished(fleet, before + c.executions);
    const t2 = performance.now();
    const cpu = cpuSince(cpu0, cpuSnapshot(place.database));
    sampling = false;
    await sampler;
    const [span] = await db.query<{ n: string; span_s: number }>(
      `SELECT count(*) AS n, extract(epoch FROM max(started_at) - min(started_at))::float8 AS span_s
         FROM aries.executions WHERE workflow_name = $1 AND queue_name IS NOT DISTINCT FROM $2 AND status = 'COMPLETED'`,
      [flowWorkflow.name, queue],
    );
    // The unlimited case shares "no queue" with nothing else in this database: each case has its own.
    const done = Number(span?.n ?? 0);
    if (done < c.executions) throw new Error(`${c.label}: ${done} executions COMPLETED, expected ${c.executions}`);
    const seconds = (t2 - t1) / 1000;
    const startSpanSeconds = Number(span?.span_s ?? NaN);
    const rate = c.queue?.rateLimit;
    const periodS = (c.queue?.ratePeriodMs ?? 1000) / 1000;
    const observedRate = rate === undefined || c.executions <= rate ? undefined : (c.executions - rate) / startSpanSeconds;
    return { label: c.label, executions: c.executions, seconds, perSecond: c.executions / seconds, startSpanSeconds, observedRate: observedRate === undefined ? undefined : observedRate * periodS, peakRunning, cpu };
  } finally {
    await fleet.stop();
  }
}
