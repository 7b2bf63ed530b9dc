/**
 * `npm run bench:schedules`: schedule drift, on embedded PGlite and on a PostgreSQL server. S per-second
 * cron schedules (default 20) are fired by 2 workers for D seconds (default 30); then, on the database
 * clock, each slot's time → its execution created, and → started (p50/p99), and a count proving each slot
 * fired once (one execution per slot, no slot missing between the first and the last). Baseline, in the
 * same run on the same workers: one execution a second started directly (engine.start), created → started.
 *
 * Prints tables and records them as a section of bench/RESULTS.md (machine, commit, date, command).
 * Environment: see bench/README.md ("Schedules").
 */
import { tmpdir } from 'node:os';
import { noteBackendVersion, type BackendVersions } from './backend-versions.js';
import { commandLine, envInt } from './bench-env.js';
import { readConfig, type BackendName } from './config.js';
import { cpuSince, cpuSnapshot, waitForQuiet, type CpuUse } from './cpu-usage.js';
import { freshPlace, type Place } from './fresh-place.js';
import { summarize, type LatencySummary } from './latency-summary.js';
import { codeInfo, machineInfo } from './machine.js';
import { flowWorkflow } from './queue-workflows.js';
import { describeCode, describeMachine, fmt, presentRun, type Table } from './report.js';
import { startFleet } from './worker-fleet.js';

const log = (msg: string) => console.error(`[bench:schedules] ${msg}`);
const base = readConfig();
const config = {
  ...base,
  adminUrl: process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? base.adminUrl,
  schedules: Math.max(1, envInt('SCHEDULES_BENCH_SCHEDULES', 20)),
  seconds: Math.max(3, envInt('SCHEDULES_BENCH_SECONDS', 30)),
  workers: Math.max(1, envInt('SCHEDULES_BENCH_WORKERS', 2)),
  concurrency: Math.max(1, envInt('SCHEDULES_BENCH_CONCURRENCY', 10)),
};
const onError = (err: unknown, context: string) => log(`engine error (${context}): ${String(err)}`);
const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface DriftRun {
  backend: BackendName;
  created: LatencySummary;
  started: LatencySummary;
  baseline: LatencySummary;
  slotsStarted: number;
  /** Seconds from each schedule's first started slot to its last, summed (+1 each): the slots expected. */
  slotsExpected: number;
  /** Slots with more than one execution (must be 0). */
  duplicated: number;
  skipped: number;
  missed: number;
  cpu: CpuUse;
}

const DRIFT = `
  SELECT (extract(epoch FROM e.created_at - s.slot_at) * 1000)::float8 AS created_ms,
         (extract(epoch FROM e.started_at - s.slot_at) * 1000)::float8 AS started_ms
    FROM aries.schedule_slots s JOIN aries.executions e ON e.id = s.execution_id
   WHERE s.schedule_name LIKE 'bench-drift-%' AND s.status = 'started'`;

const COUNTS = `
  SELECT count(*) FILTER (WHERE status = 'started')::integer AS started,
         coalesce(sum(slot_count) FILTER (WHERE status = 'skipped'), 0)::integer AS skipped,
         coalesce(sum(slot_count) FILTER (WHERE status = 'missed'), 0)::integer AS missed,
         (SELECT coalesce(sum(n), 0)::integer FROM (
            SELECT extract(epoch FROM max(slot_at) - min(slot_at))::integer + 1 AS n
              FROM aries.schedule_slots WHERE schedule_name LIKE 'bench-drift-%' AND status = 'started'
             GROUP BY schedule_name) x) AS expected,
         (SELECT count(*)::integer FROM (
            SELECT 1 FROM aries.executions WHERE idempotency_key LIKE 'aries:schedule:bench-drift-%'
             GROUP BY idempotency_key HAVING count(*) > 1) d) AS duplicated
    FROM aries.schedule_slots WHERE schedule_name LIKE 'bench-drift-%'`;

async function measureDrift(place: Place): Promise<DriftRun> {
  const fleet = await startFleet(place, config.workers, { workflows: [flowWorkflow], concurrency: config.concurrency }, onError);
  const engine = fleet.engine;
  try {
    for (let i = 0; i < config.schedules; i++) {
      await engine.schedule(`bench-drift-${i}`, { cron: '* * * * * *', workflow: flowWorkflow, input: i });
    }
    const cpu0 = cpuSnapshot(place.database);
    const direct: string[] = [];
    const until = performance.now() + config.seconds * 1000;
    while (performance.now() < until) {
      direct.push((await engine.start(flowWorkflow, -1)).id);
      await pause(1_000);
    }
    for (let i = 0; i < config.schedules; i++) await engine.admin.pauseSchedule(`bench-drift-${i}`);
    const cpu = cpuSince(cpu0, cpuSnapshot(place.database));
    // Let every started slot's execution run before reading started_at.
    for (let waited = 0; waited < 60_000; waited += 200) {
      const [row] = await engine.db.query<{ n: string }>(`SELECT count(*) AS n FROM aries.executions WHERE status IN ('PENDING', 'RUNNING')`);
      if (Number(row?.n ?? 0) === 0) break;
      await pause(200);
    }
    const drift = await engine.db.query<{ created_ms: number; started_ms: number }>(DRIFT);
    const baseline = await engine.db.query<{ ms: number }>(
      `SELECT (extract(epoch FROM started_at - created_at) * 1000)::float8 AS ms FROM aries.executions WHERE id = ANY($1::uuid[])`,
      [direct],
    );
    const [c] = await engine.db.query<{ started: number; skipped: number; missed: number; expected: number; duplicated: number }>(COUNTS);
    return {
      backend: place.backend,
      created: summarize(drift.map((r) => Number(r.created_ms))),
      started: summarize(drift.map((r) => Number(r.started_ms))),
      baseline: summarize(baseline.map((r) => Number(r.ms))),
      slotsStarted: c?.started ?? 0,
      slotsExpected: c?.expected ?? 0,
      duplicated: c?.duplicated ?? 0,
      skipped: c?.skipped ?? 0,
      missed: c?.missed ?? 0,
      cpu,
    };
  } finally {
    await fleet.stop();
  }
}

const label = (b: BackendName) => (b === 'pglite' ? 'pglite (data dir)' : 'postgres');
const cpu = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));

function table(runs: DriftRun[]): Table {
  return {
    title: `Schedule drift: ${config.schedules} per-second cron schedules fired by ${config.workers} workers for ${config.seconds} s; baseline: one execution a second started directly on the same workers, created → started`,
    head: ['backend', 'slots started', 'slots expected', 'duplicated', 'skipped', 'missed', 'slot → created p50 ms', 'p99 ms', 'slot → started p50 ms', 'p99 ms', 'baseline created → started p50 ms', 'p99 ms', '(started − created) p50 ÷ baseline', 'node CPU', 'postgres CPU', 'other CPU'],
    rows: runs.map((r) => [
      label(r.backend),
      fmt(r.slotsStarted),
      fmt(r.slotsExpected),
      fmt(r.duplicated),
      fmt(r.skipped),
      fmt(r.missed),
      fmt(r.created.p50, 1),
      fmt(r.created.p99, 1),
      fmt(r.started.p50, 1),
      fmt(r.started.p99, 1),
      fmt(r.baseline.p50, 1),
      fmt(r.baseline.p99, 1),
      `${((r.started.p50 - r.created.p50) / r.baseline.p50).toFixed(2)}×`,
      cpu(r.cpu.node),
      cpu(r.cpu.postgres),
      cpu(r.cpu.other),
    ]),
    notes: [
      'All times on the database clock: slot_at (the cron slot), the execution\'s created_at (the firing transaction\'s clock) and started_at (its first claim).',
      'slots expected: per schedule, every second from its first started slot to its last; duplicated: idempotency keys (one per slot) with more than one execution (must be 0); skipped/missed: slots the misfire policy (skip, 60 s lateness) recorded instead of starting.',
      'On the server each worker has its own engine (pool), as separate processes would; on PGlite they share the one engine that holds the data dir. Workers: default scheduler interval (1 s, and at the earliest next slot known).',
    ],
  };
}

async function main(): Promise<void> {
  const code = codeInfo();
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const runs: DriftRun[] = [];
  const versions: BackendVersions = {};
  for (const backend of config.backends) {
    await noteBackendVersion(versions, backend, config.adminUrl, { onError });
    const place = await freshPlace(backend, config.adminUrl, 'schedules');
    try {
      await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
      log(`${backend}: ${config.schedules} per-second schedules, ${config.workers} workers, ${config.seconds} s …`);
      runs.push(await measureDrift(place));
    } finally {
      await place.drop();
    }
  }
  const machine = machineInfo(versions);
  const header = [
    ...describeMachine(machine),
    describeCode(code),
    `Date ${date}`,
    `Command: ${commandLine('SCHEDULES_BENCH_', 'bench:schedules')}`,
    `PGlite: a fresh data dir under ${tmpdir()}; server: a fresh database (${config.adminUrl.replace(/\/\/[^@]*@/, '//')}), created and dropped by the bench, after a CHECKPOINT.`,
    `Before each measurement the bench waited (up to ${config.quietWaitSeconds} s) for other processes to use < ${config.quietThreshold} cores; "other CPU" shows what they used during it.`,
  ];
  presentRun({ title: 'schedules', label: 'schedules', date, code, header, tables: [table(runs)] }, config.writeResults, log);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
