/**
 * `npm run bench`: step throughput and start-to-finish latency on embedded PGlite and on a PostgreSQL
 * server, and the server's single-row commit rate as the physical limit to compare against. Prints
 * tables and records them in bench/RESULTS.md. Settings: see config.ts and README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine, type EngineOptions } from '../src/index.js';
import { measureCommitBaseline, type CommitBaselineResult } from './commit-baseline.js';
import { readConfig, type BackendName, type BenchConfig } from './config.js';
import { waitForQuiet } from './cpu-usage.js';
import { codeInfo, machineInfo } from './machine.js';
import { measurePgbench } from './pgbench-baseline.js';
import { describeCode, describeMachine, fmt, markdownTable, textTable, writeResults, type Table } from './report.js';
import { adminQuery, createServerDatabase } from './server-database.js';
import { measureStartLatency, type LatencyResult } from './start-latency.js';
import { measureStepsThroughput, type ThroughputResult } from './steps-throughput.js';

interface LatencyRow {
  label: string;
  result: LatencyResult;
}

interface BackendRun {
  backend: BackendName;
  label: string;
  throughput: ThroughputResult;
  latency: LatencyRow[];
}

const log = (msg: string) => console.error(`[bench] ${msg}`);
const quiet = { onError: (err: unknown, context: string) => log(`engine error (${context}): ${String(err)}`) };

/**
 * Runs a measurement after waiting for a quiet machine; if other processes still used more than twice
 * the quiet threshold during it, runs it again (at most config.retries times) and keeps the run with
 * the least interference.
 */
async function cleanest<T>(config: BenchConfig, label: string, measure: () => Promise<T>, other: (r: T) => number | undefined): Promise<T> {
  let best: T | undefined;
  for (let attempt = 0; ; attempt++) {
    await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
    const r = await measure();
    if (best === undefined || (other(r) ?? 0) < (other(best) ?? 0)) best = r;
    const o = other(r) ?? 0;
    if (o <= 2 * config.quietThreshold || attempt >= config.retries) return best;
    log(`${label}: other processes used ${o.toFixed(2)} cores meanwhile; measuring again`);
  }
}

/** A fresh embedded instance; returns the engine options and a cleanup. */
function embeddedOptions(config: BenchConfig): { options: EngineOptions; cleanup: () => void } {
  if (config.pgliteStorage === 'memory') return { options: { inMemory: true }, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'aries-bench-'));
  return { options: { dataDir: join(dir, 'data') }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

async function withEngine<T>(options: EngineOptions, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await createEngine({ ...options, ...quiet });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

async function onFreshEmbedded<T>(config: BenchConfig, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const db = embeddedOptions(config);
  try {
    return await withEngine(db.options, fn);
  } finally {
    db.cleanup();
  }
}

async function onFreshDatabase<T>(config: BenchConfig, label: string, fn: (url: string) => Promise<T>): Promise<T> {
  const db = await createServerDatabase(config.adminUrl, label);
  try {
    // Every measurement starts from a clean checkpoint, so none pays for the previous one's dirty pages.
    await adminQuery(config.adminUrl, 'CHECKPOINT');
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

function throughputOptions(config: BenchConfig, backend: BackendName) {
  return {
    executions: config.executions[backend],
    warmupExecutions: config.warmupExecutions,
    steps: config.stepsPerExecution,
    concurrency: config.concurrency,
  };
}

async function runPglite(config: BenchConfig): Promise<{ run: BackendRun; pglitePostgres: string }> {
  const label = config.pgliteStorage === 'dir' ? 'pglite (temp data dir)' : 'pglite (in memory)';
  const latencyOptions = { samples: config.latencySamples, warmup: config.latencyWarmup, concurrency: config.concurrency };
  let pglitePostgres = '';
  log(`${label}: ${config.executions.pglite} executions × ${config.stepsPerExecution} steps …`);
  const throughput = await cleanest(
    config,
    label,
    () =>
      onFreshEmbedded(config, async (engine) => {
        const [row] = await engine.db.query<{ server_version: string }>('SHOW server_version');
        pglitePostgres = row?.server_version ?? '';
        return measureStepsThroughput(engine, throughputOptions(config, 'pglite'));
      }),
    (r) => r.runCpu.other,
  );
  log(`${label}: latency, ${config.latencySamples} sequential 1-step executions …`);
  const latency = await cleanest(
    config,
    `${label} latency`,
    () => onFreshEmbedded(config, (engine) => measureStartLatency(engine, engine, latencyOptions)),
    (r) => r.cpu.other,
  );
  return {
    run: { backend: 'pglite', label, throughput, latency: [{ label: `${label}, in-process wake-up`, result: latency }] },
    pglitePostgres,
  };
}

async function runPostgres(
  config: BenchConfig,
): Promise<{ run: BackendRun; commits: CommitBaselineResult; pgbench: number | undefined; serverVersion: string }> {
  const [version] = await adminQuery<{ server_version: string }>(config.adminUrl, 'SHOW server_version');
  log(`postgres: ${config.executions.postgres} executions × ${config.stepsPerExecution} steps …`);
  const throughput = await cleanest(
    config,
    'postgres',
    () => onFreshDatabase(config, 'steps', (url) => withEngine({ databaseUrl: url }, (engine) => measureStepsThroughput(engine, throughputOptions(config, 'postgres')))),
    (r) => r.runCpu.other,
  );
  const latencyOptions = { samples: config.latencySamples, warmup: config.latencyWarmup, concurrency: config.concurrency };
  log('postgres: latency with a separate starting engine (LISTEN/NOTIFY wake-up) …');
  const notify = await cleanest(
    config,
    'postgres latency',
    () =>
      onFreshDatabase(config, 'latency', (url) =>
        withEngine({ databaseUrl: url }, (runner) => withEngine({ databaseUrl: url }, (starter) => measureStartLatency(starter, runner, latencyOptions))),
      ),
    (r) => r.cpu.other,
  );
  log('postgres: latency with one engine (in-process wake-up) …');
  const inProcess = await cleanest(
    config,
    'postgres latency',
    () => onFreshDatabase(config, 'latency', (url) => withEngine({ databaseUrl: url }, (engine) => measureStartLatency(engine, engine, latencyOptions))),
    (r) => r.cpu.other,
  );
  log(`postgres: single-row INSERT commits, ${config.concurrency} clients × ${config.commitSeconds} s …`);
  const commits = await cleanest(
    config,
    'INSERT commits',
    () => onFreshDatabase(config, 'commits', (url) => measureCommitBaseline(url, config.concurrency, config.commitSeconds)),
    (r) => r.cpu.other,
  );
  let pgbench: number | undefined;
  if (process.env.BENCH_PGBENCH !== '0') {
    await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
    pgbench = await onFreshDatabase(config, 'pgbench', async (url) => {
      await adminQuery(url, 'CREATE TABLE bench_commits (v bigint NOT NULL)');
      return measurePgbench(url, config.concurrency, config.commitSeconds);
    });
  }
  return {
    run: {
      backend: 'postgres',
      label: 'postgres',
      throughput,
      latency: [
        { label: 'postgres, LISTEN/NOTIFY wake-up', result: notify },
        { label: 'postgres, in-process wake-up', result: inProcess },
      ],
    },
    commits,
    pgbench,
    serverVersion: version?.server_version ?? 'unknown',
  };
}

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${/^[\w.,:/@-]*$/.test(v ?? '') ? v : JSON.stringify(v)}`);
  return [...env, 'npm run bench'].join(' ');
}

function cpu(n: number | undefined): string {
  return n === undefined ? '–' : n.toFixed(2);
}

async function main(): Promise<void> {
  const config = readConfig();
  const code = codeInfo();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const runs: BackendRun[] = [];
  let pglitePostgres: string | undefined;
  let serverVersion: string | undefined;
  let commits: CommitBaselineResult | undefined;
  let pgbench: number | undefined;

  for (const backend of config.backends) {
    if (backend === 'pglite') {
      const r = await runPglite(config);
      runs.push(r.run);
      pglitePostgres = r.pglitePostgres;
    } else {
      const r = await runPostgres(config);
      runs.push(r.run);
      commits = r.commits;
      pgbench = r.pgbench;
      serverVersion = r.serverVersion;
    }
  }

  const machine = machineInfo({ postgres: serverVersion, pglitePostgres });
  const tables: Table[] = [
    {
      title: `Step throughput: executions × ${config.stepsPerExecution} no-op steps, one worker at concurrency ${config.concurrency}, executions all started before the worker runs`,
      head: ['backend', 'executions', 'start s', 'starts/s', 'run s', 'steps/s', 'executions/s', 'first start→last done exec/s', 'node CPU', 'postgres CPU', 'other CPU'],
      rows: runs.map(({ label, throughput: t }) => [
        label,
        fmt(t.executions),
        fmt(t.startSeconds, 2),
        fmt(t.startsPerSecond),
        fmt(t.runSeconds, 2),
        fmt(t.stepsPerSecond),
        fmt(t.executionsPerSecond),
        fmt(t.endToEndExecutionsPerSecond),
        cpu(t.runCpu.node),
        cpu(t.runCpu.postgres),
        cpu(t.runCpu.other),
      ]),
      notes: [
        `start = ${config.concurrency} concurrent engine.start() calls; run = worker.start() to the last completion (start cost excluded).`,
        `CPU columns are CPU-seconds per second during the run (${machine.cores} cores = ${machine.cores.toFixed(2)}); PGlite runs inside the node process;`,
        `postgres = the server processes serving the bench database plus WAL writer, checkpointer, background writer; other = the rest of the machine (interference).`,
        ...runs
          .filter((r) => r.throughput.xidsPerStep !== undefined)
          .map((r) => `${r.label}: ${fmt(r.throughput.xidsPerStep, 2)} transaction ids (subtransactions included) and ${fmt(r.throughput.walBytesPerStep)} WAL bytes per step.`),
      ],
    },
    {
      title: `Start-to-finish latency of a 1-step execution: idle worker (concurrency ${config.concurrency}), executions started one at a time, each awaited with handle.result()`,
      head: ['backend', 'samples', 'p50 ms', 'p99 ms', 'mean ms', 'max ms', 'start() p50 ms', 'other CPU'],
      rows: runs.flatMap((r) =>
        r.latency.map(({ label, result: l }) => [
          label,
          fmt(l.samples),
          fmt(l.p50, 2),
          fmt(l.p99, 2),
          fmt(l.mean, 2),
          fmt(l.max, 2),
          fmt(l.startP50, 2),
          cpu(l.cpu.other),
        ]),
      ),
    },
  ];
  const server = runs.find((r) => r.backend === 'postgres');
  if (commits && server) {
    tables.push({
      title: `PostgreSQL server: single-row INSERT commits (${commits.clients} clients, autocommit, synchronous_commit=${commits.synchronousCommit}) vs durable steps`,
      head: ['measure', 'per second', 'steps/s ÷ this'],
      rows: [
        [`INSERT commits, ${commits.clients} node-postgres clients, ${fmt(commits.seconds, 1)} s`, fmt(commits.commitsPerSecond), fmt(server.throughput.stepsPerSecond / commits.commitsPerSecond, 2)],
        ...(pgbench === undefined
          ? []
          : [[`INSERT commits, pgbench -c ${commits.clients} -j 2, ${config.commitSeconds} s`, fmt(pgbench), fmt(server.throughput.stepsPerSecond / pgbench, 2)]]),
        ['durable steps (above)', fmt(server.throughput.stepsPerSecond), '1.00'],
      ],
      notes: [
        `During the node-postgres INSERT loop: node CPU ${cpu(commits.cpu.node)}, postgres CPU ${cpu(commits.cpu.postgres)}, other CPU ${cpu(commits.cpu.other)}.`,
        'bench_commits is a heap without indexes: (v bigint NOT NULL).',
      ],
    });
  }

  const header = [
    ...describeMachine(machine),
    describeCode(code),
    `Date ${date}`,
    `Command: ${commandLine()}`,
    `PGlite storage: ${config.pgliteStorage === 'dir' ? 'a fresh data dir under the OS temp dir' : 'in memory'}; server: a fresh database per measurement, created and dropped by the bench, after a CHECKPOINT.`,
    `Each measurement waited for other processes to use < ${config.quietThreshold} cores, and was repeated (up to ${config.retries} times, keeping the cleanest) when they used > ${2 * config.quietThreshold} cores during it: see the "other CPU" columns.`,
  ];
  console.log(['', ...header, '', ...tables.map((t) => `${textTable(t)}\n`)].join('\n'));

  if (config.writeResults) {
    const path = join(dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
    const body = [`## ${date} — commit ${code.commit}${code.dirty ? ' (dirty)' : ''}`, '', ...header.map((h) => `- ${h}`), '', ...tables.map(markdownTable).join('\n\n').split('\n')].join('\n');
    writeResults(path, code, body);
    log(`recorded in ${path}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
