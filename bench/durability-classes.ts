/**
 * The order-system case of the ACID document: what asynchronous commit buys. The same order workflow
 * (examples/orders: a READ COMMITTED transaction placing the order and taking its stock → notify → a
 * transaction marking it shipped) at durability 'on' and 'off', in one run, alternating on the same
 * machine (on, off, on, off, …), on the PostgreSQL server and on PGlite with a data dir on disk.
 *
 *   npx tsx bench/durability-classes.ts
 *
 * - Server: 'on' is synchronous_commit = on for the transactions that record the workflow's steps, 'off' is
 *   synchronous_commit = off. Each measurement gets a fresh database (after a CHECKPOINT). The orders are
 *   started and a warm-up run by one engine, which is closed; a second engine's worker then runs the
 *   measured orders, so the server's counters (commits of the bench database, WAL fsyncs of the cluster from
 *   pg_stat_wal) cover the run alone.
 * - PGlite (which runs fsync=off and never flushes by itself): 'on' makes the worker fsync the WAL from the
 *   host after each durable batch, grouped (src/db/group-fsync.ts); 'off' never fsyncs. Reported: the
 *   flushes asked for (one per durable batch or transaction) and the fsyncs that ran (GroupFsync.flushes),
 *   per step.
 *
 * Timed from worker.start() to the last completion, all orders started beforehand. Every run is checked
 * in the database afterwards: all executions COMPLETED, every order row with its stock change and steps.
 * Prints the tables, then the same as Markdown for bench/RESULTS.md (this script does not write it).
 *
 * Environment: BENCH_BACKENDS (postgres,pglite), BENCH_DATABASE_URL (admin connection, default
 * postgres://postgres@127.0.0.1:5432/postgres), BENCH_ROUNDS (2, at least 2: each class measured that often),
 * BENCH_ORDERS_POSTGRES (2000), BENCH_ORDERS_PGLITE (1000), BENCH_WARMUP_ORDERS (100), BENCH_CONCURRENCY (16),
 * BENCH_SKUS (100), BENCH_DATA_DIR (parent of the PGlite data dirs, default the OS temp dir: it must be a real
 * disk, not tmpfs, for the fsyncs to mean anything), BENCH_QUIET_THRESHOLD (0.25), BENCH_QUIET_WAIT_SECONDS (60),
 * BENCH_RETRIES (2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkShop, halfApplied, orderWorkflow, ORDER_STEPS, setUpShop, type OrderInput } from '../examples/orders/order-workflow.js';
import type { PGliteDatabase } from '../src/db/pglite-database.js';
import { createEngine, type Durability, type Engine } from '../src/index.js';
import { cpuSince, cpuSnapshot, waitForQuiet, type CpuUse } from './cpu-usage.js';
import { finished, pool } from './execution-driver.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, markdownTable, textTable, type Table } from './report.js';
import { adminQuery, createServerDatabase } from './server-database.js';

type Backend = 'pglite' | 'postgres';
type Class = Extract<Durability, 'on' | 'off'>;

function int(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

const config = {
  backends: (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',').map((s) => s.trim()).filter((s) => s !== '') as Backend[],
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  rounds: int('BENCH_ROUNDS', 2, 2),
  orders: { postgres: int('BENCH_ORDERS_POSTGRES', 2_000, 1), pglite: int('BENCH_ORDERS_PGLITE', 1_000, 1) },
  warmup: int('BENCH_WARMUP_ORDERS', 100),
  concurrency: int('BENCH_CONCURRENCY', 16, 1),
  skus: int('BENCH_SKUS', 100, 1),
  dataDirParent: process.env.BENCH_DATA_DIR ?? tmpdir(),
  quietThreshold: Number(process.env.BENCH_QUIET_THRESHOLD ?? '0.25'),
  quietWaitSeconds: int('BENCH_QUIET_WAIT_SECONDS', 60),
  retries: int('BENCH_RETRIES', 2),
};
for (const b of config.backends) if (b !== 'pglite' && b !== 'postgres') throw new Error(`BENCH_BACKENDS: unknown backend "${b}"`);

const STEPS = ORDER_STEPS.length;
const log = (msg: string) => console.error(`[durability] ${msg}`);
const quiet = { onError: (err: unknown, context: string) => log(`engine error (${context}): ${String(err)}`), onWarning: log };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Run {
  backend: Backend;
  durability: Class;
  round: number;
  orders: number;
  seconds: number;
  ordersPerSecond: number;
  stepsPerSecond: number;
  cpu: CpuUse;
  /** Server: commits in the bench database, WAL fsyncs of the whole cluster (pg_stat_wal), WAL bytes — per step. */
  commitsPerStep?: number;
  walSyncsPerStep?: number;
  walBytesPerStep?: number;
  /** PGlite: host flushes asked for and fsync rounds that ran (GroupFsync.flushes), per step. */
  flushRequestsPerStep?: number;
  fsyncsPerStep?: number;
}



const order = (i: number, prefix: string): OrderInput => ({
  orderId: `${prefix}-${i}`,
  sku: `sku-${i % config.skus}`,
  quantity: 1 + (i % 3),
  customer: `customer-${i % 1000}`,
});

function stockFor(total: number): Record<string, number> {
  const stock: Record<string, number> = {};
  for (let s = 0; s < config.skus; s++) stock[`sku-${s}`] = 3 * total; // never runs out
  return stock;
}

async function startOrders(engine: Engine, durability: Class, n: number, prefix: string): Promise<void> {
  const wf = orderWorkflow(durability);
  await pool(n, config.concurrency, (i) => engine.start(wf, order(i, prefix)));
}

/** Runs the orders already started, with one worker; returns the seconds from worker.start() to the last completion. */
async function runWorker(engine: Engine, durability: Class, n: number): Promise<number> {
  const worker = engine.worker({ workflows: [orderWorkflow(durability)], concurrency: config.concurrency, schedulerIntervalMs: 0 });
  const t0 = performance.now();
  await worker.start();
  await finished(worker, n);
  const seconds = (performance.now() - t0) / 1000;
  await worker.stop();
  if (worker.stats.completed !== n) throw new Error(`expected ${n} completed orders, the worker reports ${JSON.stringify(worker.stats)}`);
  return seconds;
}

/** Every order completed, with its row, stock change and steps: nothing half-applied. */
async function verify(engine: Engine, expected: number): Promise<void> {
  const [row] = await engine.db.query<{ completed: number | string; steps: number | string }>(
    `SELECT count(*) FILTER (WHERE status = 'COMPLETED') AS completed, coalesce(sum(step_count), 0) AS steps FROM aries.executions`,
  );
  const check = await checkShop(engine.db);
  if (Number(row!.completed) !== expected || Number(row!.steps) !== expected * STEPS || check.shipped !== expected || halfApplied(check) !== 0) {
    throw new Error(`after the run: ${JSON.stringify({ ...row, ...check })}; expected ${expected} completed orders of ${STEPS} steps, all shipped`);
  }
}

async function measurePglite(durability: Class, round: number): Promise<{ run: Run; pglitePostgres: string }> {
  const n = config.orders.pglite;
  const dir = mkdtempSync(join(config.dataDirParent, 'aries-bench-durability-'));
  try {
    const engine = await createEngine({ dataDir: join(dir, 'data'), ...quiet });
    try {
      const [version] = await engine.db.query<{ server_version: string }>('SHOW server_version');
      await setUpShop(engine.db, stockFor(n + config.warmup));
      if (config.warmup > 0) {
        await startOrders(engine, durability, config.warmup, 'warmup');
        await runWorker(engine, durability, config.warmup);
      }
      await startOrders(engine, durability, n, 'order');
      const db = engine.db as PGliteDatabase;
      let requests = 0;
      const flush = db.flushToDisk;
      if (flush) {
        db.flushToDisk = () => {
          requests++;
          return flush();
        };
      }
      await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
      const flushes0 = db.fsync?.flushes ?? 0;
      const cpu0 = cpuSnapshot();
      const seconds = await runWorker(engine, durability, n);
      const cpu = cpuSince(cpu0, cpuSnapshot());
      const fsyncs = (db.fsync?.flushes ?? 0) - flushes0;
      await verify(engine, n + config.warmup);
      const steps = n * STEPS;
      return {
        run: {
          backend: 'pglite',
          durability,
          round,
          orders: n,
          seconds,
          ordersPerSecond: n / seconds,
          stepsPerSecond: steps / seconds,
          cpu,
          flushRequestsPerStep: requests / steps,
          fsyncsPerStep: fsyncs / steps,
        },
        pglitePostgres: version?.server_version ?? '',
      };
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ServerCounters {
  commits: number;
  walSyncs: number;
  walBytes: number;
}

async function serverCounters(database: string): Promise<ServerCounters> {
  const [row] = await adminQuery<{ commits: string; wal_sync: string; wal_bytes: string }>(
    config.adminUrl,
    `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1)::text AS commits,
            (SELECT wal_sync FROM pg_stat_wal)::text AS wal_sync,
            pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal_bytes`,
    [database],
  );
  return { commits: Number(row!.commits), walSyncs: Number(row!.wal_sync), walBytes: Number(row!.wal_bytes) };
}

async function measurePostgres(durability: Class, round: number): Promise<Run> {
  const n = config.orders.postgres;
  const db = await createServerDatabase(config.adminUrl, `durability_${durability}`);
  try {
    await adminQuery(config.adminUrl, 'CHECKPOINT');
    // Set-up, warm-up and starts on one engine, closed before the measurement: its backends' statistics
    // are flushed when they exit, so the counters below see the measured run only.
    const starter = await createEngine({ databaseUrl: db.url, ...quiet });
    try {
      await setUpShop(starter.db, stockFor(n + config.warmup));
      if (config.warmup > 0) {
        await startOrders(starter, durability, config.warmup, 'warmup');
        await runWorker(starter, durability, config.warmup);
      }
      await startOrders(starter, durability, n, 'order');
    } finally {
      await starter.close();
    }
    await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
    const before = await serverCounters(db.name);
    const engine = await createEngine({ databaseUrl: db.url, ...quiet });
    let seconds: number;
    let cpu: CpuUse;
    try {
      const cpu0 = cpuSnapshot(db.name);
      seconds = await runWorker(engine, durability, n);
      cpu = cpuSince(cpu0, cpuSnapshot(db.name));
      await verify(engine, n + config.warmup);
    } finally {
      await engine.close();
    }
    await sleep(500); // the closed backends report their statistics as they exit
    const after = await serverCounters(db.name);
    const steps = n * STEPS;
    return {
      backend: 'postgres',
      durability,
      round,
      orders: n,
      seconds,
      ordersPerSecond: n / seconds,
      stepsPerSecond: steps / seconds,
      cpu,
      commitsPerStep: (after.commits - before.commits) / steps,
      walSyncsPerStep: (after.walSyncs - before.walSyncs) / steps,
      walBytesPerStep: (after.walBytes - before.walBytes) / steps,
    };
  } finally {
    await db.drop();
  }
}

/**
 * A measurement during which other processes used more than twice the quiet threshold is taken again (at
 * most config.retries times); the one with the least interference is kept.
 */
async function cleanest(label: string, measure: () => Promise<Run>): Promise<Run> {
  let best: Run | undefined;
  for (let attempt = 0; ; attempt++) {
    const r = await measure();
    if (best === undefined || (r.cpu.other ?? 0) < (best.cpu.other ?? 0)) best = r;
    const other = r.cpu.other ?? 0;
    if (other <= 2 * config.quietThreshold || attempt >= config.retries) return best;
    log(`${label}: other processes used ${other.toFixed(2)} cores meanwhile; measuring again`);
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cpuCell = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));

async function main(): Promise<void> {
  const code = codeInfo();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const runs: Run[] = [];
  let serverVersion: string | undefined;
  let serverSettings = '';
  let pglitePostgres: string | undefined;

  for (const backend of config.backends) {
    if (backend === 'postgres') {
      const [v] = await adminQuery<{ server_version: string }>(config.adminUrl, 'SHOW server_version');
      serverVersion = v?.server_version;
      const settings = await adminQuery<{ name: string; setting: string }>(
        config.adminUrl,
        `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'wal_writer_delay', 'commit_delay') ORDER BY name`,
      );
      serverSettings = settings.map((s) => `${s.name}=${s.setting}`).join(', ');
    }
    for (let round = 1; round <= config.rounds; round++) {
      for (const durability of ['on', 'off'] as const) {
        log(`${backend}, durability ${durability}, round ${round}: ${config.orders[backend]} orders …`);
        runs.push(
          await cleanest(`${backend} ${durability} round ${round}`, async () => {
            if (backend === 'postgres') return measurePostgres(durability, round);
            const r = await measurePglite(durability, round);
            pglitePostgres = r.pglitePostgres;
            return r.run;
          }),
        );
        const last = runs[runs.length - 1]!;
        log(`  ${fmt(last.ordersPerSecond)} orders/s, ${fmt(last.stepsPerSecond)} steps/s (other CPU ${cpuCell(last.cpu.other)})`);
      }
    }
  }

  const machine = machineInfo({ postgres: serverVersion, pglitePostgres });
  const label = (b: Backend) => (b === 'postgres' ? 'postgres' : 'pglite (data dir)');
  const tables: Table[] = [
    {
      title: `Order workflow at durability on / off, alternating: orders × ${STEPS} steps (place: READ COMMITTED transaction, notify, ship: transaction), one worker at concurrency ${config.concurrency}`,
      head: ['backend', 'durability', 'round', 'orders', 'run s', 'orders/s', 'steps/s', 'commits/step', 'WAL fsyncs/step', 'WAL bytes/step', 'flushes asked/step', 'fsyncs/step', 'node CPU', 'postgres CPU', 'other CPU'],
      rows: runs.map((r) => [
        label(r.backend),
        r.durability,
        String(r.round),
        fmt(r.orders),
        fmt(r.seconds, 2),
        fmt(r.ordersPerSecond),
        fmt(r.stepsPerSecond),
        fmt(r.commitsPerStep, 2),
        fmt(r.walSyncsPerStep, 3),
        fmt(r.walBytesPerStep),
        fmt(r.flushRequestsPerStep, 3),
        fmt(r.fsyncsPerStep, 3),
        cpuCell(r.cpu.node),
        cpuCell(r.cpu.postgres),
        cpuCell(r.cpu.other),
      ]),
      notes: [
        `run = worker.start() to the last completion; all orders were started before (start cost excluded), after a warm-up of ${config.warmup} orders.`,
        'postgres: commits/step = transactions committed in the bench database during the run; WAL fsyncs/step (pg_stat_wal.wal_sync: backends waiting for a synchronous commit, the WAL writer flushing asynchronous ones) and WAL bytes/step are of the whole cluster: other databases\' activity counts too (see "other CPU").',
        `pglite: flushes asked/step = durable batches and transactions that asked for a host fsync of the WAL; fsyncs/step = fsync rounds that ran (GroupFsync.flushes): requests made while one runs share the next. Data dirs under ${config.dataDirParent}.`,
        `CPU columns: CPU-seconds per second during the run (${machine.cores} cores = ${machine.cores.toFixed(2)}); other = the rest of the machine (interference).`,
      ],
    },
    {
      title: 'Asynchronous vs synchronous commit of step completions: means over the rounds',
      head: ['backend', 'on orders/s (each run)', 'off orders/s (each run)', 'on steps/s', 'off steps/s', 'off ÷ on'],
      rows: config.backends.map((b) => {
        const of = (d: Class) => runs.filter((r) => r.backend === b && r.durability === d);
        const on = of('on');
        const off = of('off');
        return [
          label(b),
          `${fmt(mean(on.map((r) => r.ordersPerSecond)))} (${on.map((r) => fmt(r.ordersPerSecond)).join(' · ')})`,
          `${fmt(mean(off.map((r) => r.ordersPerSecond)))} (${off.map((r) => fmt(r.ordersPerSecond)).join(' · ')})`,
          fmt(mean(on.map((r) => r.stepsPerSecond))),
          fmt(mean(off.map((r) => r.stepsPerSecond))),
          `${(mean(off.map((r) => r.stepsPerSecond)) / mean(on.map((r) => r.stepsPerSecond))).toFixed(2)}×`,
        ];
      }),
      notes: ['The ACID document reports ~8,000 TPS with synchronous commit and ~50,000 with asynchronous commit (6.25×) for its order system.'],
    },
  ];

  const header = [
    ...describeMachine(machine),
    describeCode(code),
    `Date ${date}`,
    `Command: ${[...Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_')).map(([k, v]) => `${k}=${v}`), 'npx tsx bench/durability-classes.ts'].join(' ')}`,
    ...(serverSettings ? [`Server settings: ${serverSettings}`] : []),
    `Each measurement waited for other processes to use < ${config.quietThreshold} cores (up to ${config.quietWaitSeconds} s) and was taken again (up to ${config.retries} times, keeping the cleanest) when they used > ${2 * config.quietThreshold} during it.`,
    `Rounds: ${config.rounds} (on, off alternating); orders per run: ${config.backends.map((b) => `${label(b)} ${config.orders[b]}`).join(', ')}; ${config.skus} SKUs.`,
  ];
  console.log(['', ...header, '', ...tables.map((t) => `${textTable(t)}\n`)].join('\n'));
  console.log('---- Markdown (for bench/RESULTS.md) ----\n');
  console.log([`## ${date} — durability classes, commit ${code.commit}${code.dirty ? ' (dirty)' : ''}`, '', ...header.map((h) => `- ${h}`), '', tables.map(markdownTable).join('\n\n')].join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
