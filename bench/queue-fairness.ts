/**
 * Fairness under a hot key: a backlog of `n` executions in one queue with a global concurrency limit, 90 %
 * of them under one queue key and the rest spread over the other keys (1,000 keys in all), made due by
 * one commit and drained by a fleet of workers. What the other keys' executions wait (that commit →
 * started, database clock) is compared with the same backlog in a plain FIFO queue (no keys, the same
 * limit) in the same run; the hot key's own throughput is reported for both.
 *
 * The backlog is one transaction, so every execution has the same created_at and FIFO breaks the tie by
 * id (random): in the FIFO baseline the other keys' executions are spread evenly through the backlog, as
 * if they had arrived interleaved with the hot key's.
 */
import { cpuSince, cpuSnapshot, type CpuUse } from './cpu-usage.js';
import type { Place } from './fresh-place.js';
import { summarize, type LatencySummary } from './latency-summary.js';
import { flowWorkflow } from './queue-workflows.js';
import type { FleetSettings } from './queue-throughput.js';
import { fleetFinished, startFleet } from './worker-fleet.js';

export interface FairnessSettings {
  executions: number;
  keys: number;
  concurrency: number;
  /** undefined: keys unlimited (only the global limit binds). */
  keyConcurrency: number | undefined;
}

export interface FairnessRun {
  label: string;
  /** Commit → started of the executions not under the hot key, ms. */
  others: LatencySummary;
  hot: LatencySummary;
  /** Commit → the last of the other keys' executions started, s. */
  othersAllStartedSeconds: number;
  /** The hot key's completions per second, from the commit to its last completion (database clock). */
  hotPerSecond: number;
  /** All completions per second, the same way. */
  totalPerSecond: number;
  seconds: number;
  cpu: CpuUse;
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Execution i (1-based) is one of the others' when i % 10 = 0 (10 %), under one of keys k1 … k(keys − 1).
const OTHER = '(i % 10 = 0)';

export async function measureFairness(
  place: Place,
  keyed: boolean,
  s: FairnessSettings,
  fleetSettings: FleetSettings,
  onError: (err: unknown, context: string) => void,
): Promise<FairnessRun> {
  const fleet = await startFleet(place, fleetSettings.workers, { workflows: [flowWorkflow], concurrency: fleetSettings.concurrency, schedulerIntervalMs: 0 }, onError);
  const db = fleet.engine.db;
  const queue = keyed ? 'bench-fair-keys' : 'bench-fair-fifo';
  const keyOf = keyed ? `CASE WHEN ${OTHER} THEN 'k' || (1 + (i / 10) % ${s.keys - 1}) ELSE 'hot' END` : 'NULL';
  try {
    await db.query('SELECT aries.register_queue($1, $2, NULL, $3)', [queue, s.concurrency, keyed ? (s.keyConcurrency ?? null) : null]);
    await pause(1_500);
    const before = fleet.finished();
    const cpu0 = cpuSnapshot(place.database);
    await db.transaction((tx) =>
      tx.query(
        `SELECT count(*) FROM generate_series(1, $2::integer) i,
                aries.start_execution(p_workflow => $1, p_version => NULL, p_input => to_jsonb(i), p_queue => $3, p_queue_key => ${keyOf}) s`,
        [flowWorkflow.name, s.executions, queue],
      ),
    );
    // The database clock just after the commit: when the backlog became visible to the claimers.
    const [{ at } = { at: '' }] = await db.query<{ at: string }>(`SELECT aries.now()::text AS at`);
    const t1 = performance.now();
    await fleetFinished(fleet, before + s.executions);
    const t2 = performance.now();
    const cpu = cpuSince(cpu0, cpuSnapshot(place.database));
    const rows = await db.query<{ other: boolean; wait_ms: number; done_s: number }>(
      `SELECT ((input::text)::integer % 10 = 0) AS other,
              (extract(epoch FROM started_at - $2::timestamptz) * 1000)::float8 AS wait_ms,
              extract(epoch FROM finished_at - $2::timestamptz)::float8 AS done_s
         FROM aries.executions WHERE queue_name = $1 AND status = 'COMPLETED'`,
      [queue, at],
    );
    if (rows.length !== s.executions) throw new Error(`${queue}: ${rows.length} executions COMPLETED, expected ${s.executions}`);
    const others = rows.filter((r) => r.other);
    const hot = rows.filter((r) => !r.other);
    const lastDone = (rs: typeof rows) => Math.max(...rs.map((r) => Number(r.done_s)));
    return {
      label: keyed ? `${(1 + Math.min(s.keys - 1, Math.floor(s.executions / 10))).toLocaleString('en-US')} keys used, one with 90 %` : 'plain FIFO (no keys)',
      others: summarize(others.map((r) => Number(r.wait_ms))),
      hot: summarize(hot.map((r) => Number(r.wait_ms))),
      othersAllStartedSeconds: Math.max(...others.map((r) => Number(r.wait_ms))) / 1000,
      hotPerSecond: hot.length / lastDone(hot),
      totalPerSecond: rows.length / lastDone(rows),
      seconds: (t2 - t1) / 1000,
      cpu,
    };
  } finally {
    await fleet.stop();
  }
}
