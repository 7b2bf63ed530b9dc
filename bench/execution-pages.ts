/**
 * `npm run bench:pages`: listing executions stays fast with 1,000,000 of them in the table.
 *
 * Seeds N executions (default 1,000,000) in one set-based INSERT: 20 workflows, created over 30 days,
 * 90% COMPLETED, 4% FAILED, 3% PENDING, 2% COMPENSATED, 1% CANCELLED, each with an idempotency key, and
 * 10,000 failures. Then times, per filter, the first page and a page deep in the table reached by its
 * cursor (what the dashboard and `aries list` do), against the baseline a naive API would use at the same
 * depth: LIMIT/OFFSET. Also the overview's figures (execution_stats over the last hour, active_counts), a
 * /metrics scrape (engine.admin.renderMetrics)
 * and the same page through the HTTP API (GET /api/executions), each as the median of R runs.
 *
 *   page ms    median wall time of engine.admin.listExecutions (50 rows) at that position
 *   offset ms  the same rows by ORDER BY … OFFSET n LIMIT 50 (the baseline), median
 *
 * Environment: BENCH_BACKENDS (postgres,pglite), BENCH_DATABASE_URL (admin connection, default
 * postgres://postgres@127.0.0.1:5432/postgres), PAGES_BENCH_ROWS (1000000), PAGES_BENCH_RUNS (15).
 * Prints tables and a Markdown section to paste into bench/RESULTS.md.
 */
import { createEngine, type Engine, type EngineOptions } from '../src/index.js';
import { cursorTimeSql, encodeCursor, type ExecutionPageFilter } from '../src/db/execution-pages.js';
import { startApiServer } from '../src/server/api-server.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, markdownTable, textTable, type Table } from './report.js';
import { createServerDatabase } from './server-database.js';

type BackendName = 'pglite' | 'postgres';
const ROWS = Number(process.env.PAGES_BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.PAGES_BENCH_RUNS ?? 15);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',') as BackendName[];

const SEED = `
INSERT INTO aries.workflows (name, version) SELECT 'bench-wf-' || w, '1' FROM generate_series(0, 19) w;
ALTER TABLE aries.executions DISABLE TRIGGER USER;
INSERT INTO aries.executions (workflow_name, workflow_version, status, input, output, error, idempotency_key,
                              created_at, updated_at, started_at, finished_at, claim_count, step_count)
SELECT 'bench-wf-' || (i % 20), '1', s.status, jsonb_build_object('order', i),
       CASE WHEN s.status = 'COMPLETED' THEN jsonb_build_object('ok', true) END,
       CASE WHEN s.status IN ('FAILED', 'COMPENSATED', 'CANCELLED') THEN '{"name":"Error","message":"declined"}'::jsonb END,
       'order-' || i, t.at, t.at + interval '2 seconds', t.at,
       CASE WHEN s.status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED') THEN t.at + interval '2 seconds' END, 1, 3
  FROM generate_series(1, $1::integer) i
  CROSS JOIN LATERAL (SELECT now() - interval '30 days' * (1 - i::float8 / $1) AS at) t
  CROSS JOIN LATERAL (SELECT CASE WHEN i % 100 < 90 THEN 'COMPLETED' WHEN i % 100 < 94 THEN 'FAILED'
                                  WHEN i % 100 < 97 THEN 'PENDING' WHEN i % 100 < 99 THEN 'COMPENSATED'
                                  ELSE 'CANCELLED' END AS status) s;
ALTER TABLE aries.executions ENABLE TRIGGER USER;
INSERT INTO aries.failures (execution_id, failure_type, failure_message, failure_timestamp, recovery_strategy, source, step_key)
SELECT id, 'PERMANENT', 'declined', updated_at, 'rollback', 'step', 'charge'
  FROM aries.executions WHERE status = 'FAILED' LIMIT 10000;
ANALYZE aries.executions;
ANALYZE aries.failures;
`;

interface Case {
  name: string;
  filter: ExecutionPageFilter;
  where: string;
}

const CASES: Case[] = [
  { name: 'all', filter: {}, where: '' },
  { name: 'status=FAILED', filter: { status: 'FAILED' }, where: `WHERE status = 'FAILED'` },
  { name: 'workflow', filter: { workflow: 'bench-wf-7' }, where: `WHERE workflow_name = 'bench-wf-7'` },
  { name: 'workflow+status', filter: { workflow: 'bench-wf-7', status: 'COMPLETED' }, where: `WHERE workflow_name = 'bench-wf-7' AND status = 'COMPLETED'` },
  { name: 'last 24 h', filter: { createdAfter: new Date(Date.now() - 86_400_000) }, where: `WHERE created_at >= now() - interval '1 day'` },
];

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The cursor of the row at `offset` in a case's order: the page a user reaches after offset/50 clicks. */
async function cursorAt(engine: Engine, c: Case, offset: number): Promise<string | undefined> {
  const rows = await engine.db.query<{ id: string; at: string }>(
    `SELECT id, ${cursorTimeSql('created_at')} AS at FROM aries.executions ${c.where}
      ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`,
    [offset],
  );
  const row = rows[0];
  return row ? encodeCursor(row.at, row.id) : undefined;
}

async function measure(backend: BackendName): Promise<{ pages: Table; overview: Table; seedSeconds: number }> {
  let options: EngineOptions = { inMemory: true };
  let drop = async () => {};
  if (backend === 'postgres') {
    const db = await createServerDatabase(ADMIN_URL, 'pages');
    options = { databaseUrl: db.url };
    drop = db.drop;
  }
  const engine = await createEngine({ ...options, onError: () => {} });
  try {
    const seedStart = performance.now();
    await engine.db.transaction(async (tx) => {
      const [insertWorkflows, ...rest] = SEED.trim().split(';\n').filter((s) => s.trim() !== '');
      await tx.query(insertWorkflows!);
      for (const statement of rest) await tx.query(statement, statement.includes('$1') ? [ROWS] : []);
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const rows: string[][] = [];
    for (const c of CASES) {
      const [{ n } = { n: 0 }] = await engine.db.query<{ n: number }>(`SELECT count(*)::integer AS n FROM aries.executions ${c.where}`);
      const deep = Math.max(0, Math.floor(n * 0.9) - 50);
      const cursor = await cursorAt(engine, c, deep);
      const first = await median(() => engine.admin.listExecutions({ ...c.filter, limit: 50 }));
      const deepPage = await median(() => engine.admin.listExecutions({ ...c.filter, limit: 50, cursor }));
      const offsetPage = await median(() =>
        engine.db.query(`SELECT id FROM aries.executions ${c.where} ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 50`, [deep]),
      );
      rows.push([c.name, fmt(n), fmt(first, 2), fmt(deep), fmt(deepPage, 2), fmt(offsetPage, 1), `${fmt(offsetPage / deepPage, 0)}×`]);
    }
    const server = await startApiServer({ engine, port: 0, noAuth: true, dashboardDir: false });
    let http: number;
    try {
      http = await median(async () => (await fetch(`${server.url}/api/executions?limit=50&status=FAILED`)).json());
    } finally {
      await server.close();
    }
    const hour = { from: new Date(Date.now() - 3_600_000), to: new Date(), bucketSeconds: 60 };
    const overview: Table = {
      title: `Overview figures at ${fmt(ROWS)} executions (${backend}), median of ${RUNS}`,
      head: ['query', 'ms'],
      rows: [
        ['execution_stats, last hour in 60 buckets', fmt(await median(() => engine.admin.executionStats(hour)), 2)],
        ['active_counts (unfinished by status, queue depth, expired leases)', fmt(await median(() => engine.admin.activeCounts()), 2)],
        ['engine.admin.renderMetrics() (/metrics: counters + active_counts)', fmt(await median(() => engine.admin.renderMetrics()), 2)],
        ['failures grouped, last 7 days', fmt(await median(() => engine.admin.summarizeFailures(new Date(Date.now() - 7 * 86_400_000))), 2)],
        ['GET /api/executions?status=FAILED&limit=50 (HTTP, JSON)', fmt(http, 2)],
      ],
    };
    const pages: Table = {
      title: `Pages of 50 executions at ${fmt(ROWS)} rows (${backend}), median of ${RUNS}`,
      head: ['filter', 'matching rows', 'page 1 ms', 'deep row', 'deep page ms (cursor)', 'OFFSET ms (baseline)', 'OFFSET ÷ cursor'],
      rows,
      notes: [`seeded in ${fmt(seedSeconds, 1)} s; deep = the page at 90 % of the matching rows, reached by its cursor`],
    };
    return { pages, overview, seedSeconds };
  } finally {
    await engine.close();
    await drop();
  }
}

const sections: string[] = [];
let postgresVersion: string | undefined;
for (const backend of BACKENDS) {
  console.log(`seeding ${fmt(ROWS)} executions on ${backend}…`);
  const { pages, overview } = await measure(backend);
  console.log(`\n${textTable(pages)}\n\n${textTable(overview)}\n`);
  sections.push(markdownTable(pages), markdownTable(overview));
  if (backend === 'postgres') {
    const { adminQuery } = await import('./server-database.js');
    postgresVersion = (await adminQuery<{ v: string }>(ADMIN_URL, `SELECT current_setting('server_version') AS v`))[0]?.v;
  }
}
const machine = describeMachine(machineInfo({ postgres: postgresVersion }));
console.log(
  ['--- Markdown for bench/RESULTS.md ---', `## Execution pages at ${fmt(ROWS)} rows (${new Date().toISOString().slice(0, 10)})`, '', `${describeCode(codeInfo())}. ${machine.join('. ')}`, '', ...sections.flatMap((s) => [s, ''])].join('\n'),
);
