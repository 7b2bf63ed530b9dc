/**
 * `npm run bench:flat-cost`: does an operation cost the same beside 10,000 and beside 1,000,000 finished
 * executions (and 100,000 executions waiting on a signal)? And how much memory does a worker take per
 * 1,000 executions in flight?
 *
 * For each backend, three fresh places (a database on the server created and dropped here, or a PGlite
 * data dir) are measured one after another: small (FLAT_SMALL finished executions), large (FLAT_LARGE
 * finished + FLAT_WAITING waiting on a signal no one sends), then small again: sizes cannot alternate in
 * one place, so the second small run shows how much a figure drifts by itself on a shared machine. The
 * rows are filled set-based (fill-executions.ts, as bench/retention.ts fills them), then VACUUM (ANALYZE)
 * and CHECKPOINT, as autovacuum and the embedded engine's timer leave a database that has held them a
 * while. In each place, after a warm-up, FLAT_ROUNDS rounds (the median round is reported) of, one after
 * another with nothing else running:
 *
 *   start    engine.start of a 1-step workflow, one call at a time (mean ms per call)
 *   claim    aries.claim_executions with p_limit 1, as a worker calls it, one at a time, of those started
 *   step     a worker at concurrency 16 runs FLAT_STEP_EXECUTIONS 10-step workflows started beforehand (steps/s)
 *   recover  engine.admin.recover of a FAILED execution (its step threw a PermanentError), one at a time
 *
 * Printed per backend: each figure per place, large ÷ small (against each small run; flat ≈ 1.0×), and
 * the rows each operation read by sequential scan of the big tables (pg_stat_user_tables.seq_tup_read
 * over the phase, per operation; a statement that scans grows with the tables). On the server, the
 * statements start, claim and recover run are also traced with EXPLAIN (ANALYZE, BUFFERS) in each place
 * (auto_explain, nested statements included): the buffers each call touched (flat: the same at both
 * sizes), and every node that reads a big table by sequential scan.
 *
 * Then memory (worker-rss.ts): a worker in a process of its own with FLAT_RSS_IN_FLIGHT executions in
 * flight (default 1,000 and 5,000): claimed and running, each inside a step whose body awaits a latch, as
 * executions calling a slow API hold a worker; RSS after a full GC minus the same worker's RSS idle, per
 * 1,000 executions.
 *
 * Environment: BENCH_BACKENDS (postgres,pglite), BENCH_DATABASE_URL (admin connection), FLAT_SMALL
 * (10000), FLAT_LARGE (1000000), FLAT_LARGE_PGLITE (same), FLAT_WAITING (100000), FLAT_STARTS (1000),
 * FLAT_RECOVERS (300), FLAT_STEP_EXECUTIONS (300), FLAT_ROUNDS (3), FLAT_RSS_IN_FLIGHT (1000,5000; empty: skip),
 * BENCH_WRITE_RESULTS (1: record the section in bench/RESULTS.md).
 */
import pg from 'pg';
import { createEngine, defineWorkflow, PermanentError, type Engine } from '../src/index.js';
import { claimExecutions } from '../src/db/leases.js';
import { vacuumAndCheckpoint } from '../src/db/maintenance.js';
import type { BackendName } from './config.js';
import { fillFinished, fillWaiting } from './fill-executions.js';
import { freshPlace, type Place } from './fresh-place.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, presentRun, textTable, type Table } from './report.js';
import { adminQuery } from './server-database.js';
import { measureWorkerRss } from './worker-rss.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SMALL = num('FLAT_SMALL', 10_000);
const LARGE = num('FLAT_LARGE', 1_000_000);
const LARGE_BY_BACKEND: Record<BackendName, number> = { postgres: LARGE, pglite: num('FLAT_LARGE_PGLITE', LARGE) };
const WAITING = num('FLAT_WAITING', 100_000);
const STARTS = num('FLAT_STARTS', 1_000);
const RECOVERS = num('FLAT_RECOVERS', 300);
const STEP_EXECUTIONS = num('FLAT_STEP_EXECUTIONS', 300);
const ROUNDS = num('FLAT_ROUNDS', 3);
const RSS_IN_FLIGHT = (process.env.FLAT_RSS_IN_FLIGHT ?? '1000,5000').split(',').filter(Boolean).map(Number);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',') as BackendName[];
const BIG_TABLES = ['executions', 'journal', 'steps', 'checkpoints', 'waits'];
const WAITING_WORKFLOW = 'flat-waiting';

const startWorkflow = defineWorkflow('flat-start', async (ctx, i: number) => ctx.step('s0', () => i));
let stepsDone = 0;
const stepWorkflow = defineWorkflow('flat-steps', async (ctx, i: number) => {
  for (let s = 0; s < 10; s++) await ctx.step(`s${s}`, () => i + s);
  stepsDone++;
  return i;
});
const failWorkflow = defineWorkflow('flat-fails', async (ctx) =>
  ctx.step('s0', () => {
    throw new PermanentError('fails, to be recovered');
  }),
);

type Op = 'start' | 'claim' | 'step' | 'recover';
const OPS: Op[] = ['start', 'claim', 'step', 'recover'];
/** Per operation: its figure (ms per call; for step, steps/s) and the rows read by sequential scan of the big tables, per operation. */
type Figures = Record<Op, { value: number; seqRows: number }>;

async function seqTupRead(engine: Engine): Promise<number> {
  const [r] = await engine.db.query<{ n: string }>(
    `SELECT coalesce(sum(seq_tup_read), 0)::text AS n FROM pg_stat_user_tables WHERE schemaname = 'aries' AND relname = ANY ($1::text[])`,
    [BIG_TABLES],
  );
  return Number(r!.n);
}

/** Runs `fn`, returning its duration in ms and the big tables' rows read by sequential scan meanwhile. */
async function phase(engine: Engine, fn: () => Promise<void>): Promise<{ ms: number; seqRows: number }> {
  // The statistics a backend reports are flushed at most once a second (PostgreSQL 15), and read from a snapshot.
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 1_100));
    await engine.db.query('SELECT pg_stat_clear_snapshot()');
    return seqTupRead(engine);
  };
  const before = await settle();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  return { ms, seqRows: (await settle()) - before };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function countFailed(engine: Engine, ids: string[]): Promise<number> {
  const [r] = await engine.db.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM aries.executions WHERE id = ANY ($1::uuid[]) AND status = 'FAILED'`,
    [ids],
  );
  return r!.n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ROUNDS rounds of the four measurements after a warm-up; per operation the median round's figure and the most seq rows of any round. */
async function measureOps(engine: Engine): Promise<Figures> {
  // Warm-up: the code paths run once before anything is timed.
  const warm = engine.worker({ workflows: [startWorkflow, stepWorkflow, failWorkflow], concurrency: 16 });
  await warm.start();
  for (let i = 0; i < 20; i++) await (await engine.start(startWorkflow, -i)).result({ timeoutMs: 60_000 });
  await (await engine.start(stepWorkflow, -1)).result({ timeoutMs: 60_000 });
  await warm.stop();
  const rounds: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await measureRound(engine));
  return Object.fromEntries(
    OPS.map((op) => [op, { value: median(rounds.map((f) => f[op].value)), seqRows: Math.max(...rounds.map((f) => f[op].seqRows)) }]),
  ) as Figures;
}

async function measureRound(engine: Engine): Promise<Figures> {
  const starts = await phase(engine, async () => {
    for (let i = 0; i < STARTS; i++) await engine.start(startWorkflow, i);
  });
  const keys = [`${startWorkflow.name}@${startWorkflow.version}`];
  let claimed = 0;
  const claims = await phase(engine, async () => {
    for (let i = 0; i < STARTS; i++) {
      claimed += (await claimExecutions(engine.db, { worker: 'flat-cost', workflowKeys: keys, limit: 1, leaseMs: 600_000 })).length;
    }
  });
  if (claimed !== STARTS) throw new Error(`claimed ${claimed} of ${STARTS} executions`);

  for (let i = 0; i < STEP_EXECUTIONS; i++) await engine.start(stepWorkflow, i);
  stepsDone = 0;
  const stepWorker = engine.worker({ workflows: [stepWorkflow], concurrency: 16 });
  const steps = await phase(engine, async () => {
    await stepWorker.start();
    await until(async () => stepsDone >= STEP_EXECUTIONS, 'the 10-step executions');
  });
  await stepWorker.stop();

  const failWorker = engine.worker({ workflows: [failWorkflow], concurrency: 16 });
  await failWorker.start();
  const failed: string[] = [];
  // One more than is recovered: explainHotStatements recovers the last.
  for (let i = 0; i <= RECOVERS; i++) failed.push((await engine.start(failWorkflow, i)).id);
  await until(async () => (await countFailed(engine, failed)) === RECOVERS + 1, 'the failing executions');
  await failWorker.stop();
  const recovers = await phase(engine, async () => {
    for (const id of failed.slice(0, RECOVERS)) await engine.admin.recover(id);
  });
  return {
    start: { value: starts.ms / STARTS, seqRows: starts.seqRows / STARTS },
    claim: { value: claims.ms / STARTS, seqRows: claims.seqRows / STARTS },
    step: { value: (STEP_EXECUTIONS * 10) / (steps.ms / 1000), seqRows: steps.seqRows / (STEP_EXECUTIONS * 10) },
    recover: { value: recovers.ms / RECOVERS, seqRows: recovers.seqRows / RECOVERS },
  };
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of every statement, nested ones included, that a start, a claim and a recover
 * run on the server (auto_explain, its plans sent back as notices): the nodes that scan a big table
 * sequentially, and the buffers each top-level call touched.
 */
async function explainHotStatements(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const plans: string[] = [];
  client.on('notice', (n) => plans.push(n.message ?? ''));
  const out: string[] = [];
  try {
    await client.query(`LOAD 'auto_explain'`);
    await client.query(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;
                        SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; SET auto_explain.log_timing = off`);
    const [failed] = (
      await client.query<{ id: string }>(`SELECT id FROM aries.executions WHERE workflow_name = $1 AND status = 'FAILED' LIMIT 1`, [failWorkflow.name])
    ).rows;
    const calls: [string, string, unknown[]][] = [
      ['start', `SELECT * FROM aries.start_execution(p_workflow => $1, p_version => '1', p_input => '1'::jsonb)`, [startWorkflow.name]],
      ['claim', `SELECT * FROM aries.claim_executions(p_worker => 'explain', p_workflow_keys => $1::text[], p_limit => 1, p_lease_ms => 600000)`,
        [[`${startWorkflow.name}@1`]]],
      ['recover', `SELECT aries.recover_from_failure(p_execution_id => $1)`, [failed?.id]],
    ];
    for (const [op, sql, params] of calls) {
      plans.length = 0;
      await client.query(sql, params);
      const seq = plans.flatMap((p) =>
        p.split('\n').filter((l) => /Seq Scan on (\w+\.)?(\w+)/.test(l) && BIG_TABLES.some((t) => l.includes(` ${t} `) || l.includes(`.${t} `))),
      );
      const top = plans[plans.length - 1] ?? '';
      const buffers = top.split('\n').find((l) => l.includes('Buffers:'))?.trim() ?? 'no buffers line';
      out.push(`- ${op}: ${plans.length} statements traced; top-level ${buffers}; ` +
        (seq.length === 0 ? 'no sequential scan of a big table' : `sequential scans: ${seq.map((l) => `\`${l.trim()}\``).join('; ')}`));
    }
  } finally {
    await client.end();
  }
  return out;
}

interface PlaceResult {
  label: string;
  finished: number;
  waiting: number;
  fillSeconds: number;
  figures: Figures;
  explain?: string[];
}

async function measurePlace(backend: BackendName, finished: number, waiting: number, label: string): Promise<PlaceResult> {
  const place: Place = await freshPlace(backend, ADMIN_URL, 'flatcost');
  // The bench runs VACUUM itself after the fill; the embedded engine's timer would only blur the figures.
  const engine = await createEngine({ ...place.options, vacuumIntervalMs: 0, onError: () => {} });
  try {
    const t = performance.now();
    await fillFinished(engine.db, finished, label);
    if (waiting > 0) {
      await engine.db.query(`SELECT aries.register_workflow(p_name => $1, p_version => '1')`, [WAITING_WORKFLOW]);
      await fillWaiting(engine.db, waiting, WAITING_WORKFLOW);
    }
    await vacuumAndCheckpoint(engine.db);
    const fillSeconds = (performance.now() - t) / 1000;
    console.log(`${backend} ${label}: ${fmt(finished)} finished + ${fmt(waiting)} waiting filled in ${fmt(fillSeconds, 1)} s; measuring…`);
    const figures = await measureOps(engine);
    const explain = backend === 'postgres' && place.options.databaseUrl ? await explainHotStatements(place.options.databaseUrl) : undefined;
    return { label, finished, waiting, fillSeconds, figures, explain };
  } finally {
    await engine.close();
    await place.drop();
  }
}

function backendTables(backend: BackendName, runs: PlaceResult[]): Table[] {
  const [small1, large, small2] = runs as [PlaceResult, PlaceResult, PlaceResult];
  const unit: Record<Op, string> = { start: 'ms/call', claim: 'ms/call', step: 'steps/s', recover: 'ms/call' };
  // Cost ratio large ÷ small: for a rate (steps/s), small ÷ large, so that above 1.0× always means "costs more at the large size".
  const ratio = (op: Op, small: PlaceResult) =>
    op === 'step' ? small.figures[op].value / large.figures[op].value : large.figures[op].value / small.figures[op].value;
  return [
    {
      title: `Flat cost (${backend}): small = ${fmt(small1.finished)} finished, large = ${fmt(large.finished)} finished + ${fmt(large.waiting)} waiting on a signal`,
      head: ['operation', 'unit', 'small #1', 'large', 'small #2', 'cost large ÷ small #1', 'cost large ÷ small #2', 'seq rows/op small #1', 'large', 'small #2'],
      rows: OPS.map((op) => [
        op, unit[op], fmt(small1.figures[op].value, 2), fmt(large.figures[op].value, 2), fmt(small2.figures[op].value, 2),
        `${fmt(ratio(op, small1), 2)}×`, `${fmt(ratio(op, small2), 2)}×`,
        fmt(small1.figures[op].seqRows, 1), fmt(large.figures[op].seqRows, 1), fmt(small2.figures[op].seqRows, 1),
      ]),
      notes: [
        `median of ${ROUNDS} rounds; start, claim: ${fmt(STARTS)} calls one at a time; step: ${fmt(STEP_EXECUTIONS)} 10-step executions on a worker at concurrency 16 (cost ratio = small steps/s ÷ large steps/s); recover: ${fmt(RECOVERS)} FAILED executions`,
        `seq rows/op: rows of ${BIG_TABLES.join(', ')} read by sequential scan during the phase, per operation (pg_stat_user_tables.seq_tup_read; 0 = every statement used an index)`,
        `fill (set-based, then VACUUM (ANALYZE) and CHECKPOINT): ${runs.map((r) => `${r.label} ${fmt(r.fillSeconds, 1)} s`).join(', ')}`,
      ],
    },
  ];
}

const code = codeInfo(); // what is measured: the tree as the run starts
const tables: Table[] = [];
const extras: string[] = [];
let postgresVersion: string | undefined;
for (const backend of BACKENDS) {
  const runs = [
    await measurePlace(backend, SMALL, 0, 'small-1'),
    await measurePlace(backend, LARGE_BY_BACKEND[backend], WAITING, 'large'),
    await measurePlace(backend, SMALL, 0, 'small-2'),
  ];
  const done = backendTables(backend, runs);
  for (const t of done) console.log(`\n${textTable(t)}\n`);
  tables.push(...done);
  for (const run of runs.filter((r) => r.explain)) {
    extras.push([`**EXPLAIN (ANALYZE, BUFFERS), ${run.label} (${backend}: ${fmt(run.finished)} finished, ${fmt(run.waiting)} waiting; auto_explain with nested statements)**`, '', ...run.explain!].join('\n'));
  }
  if (backend === 'postgres') {
    postgresVersion = (await adminQuery<{ v: string }>(ADMIN_URL, `SELECT current_setting('server_version') AS v`))[0]?.v;
  }
}

if (RSS_IN_FLIGHT.length > 0) {
  const rows: string[][] = [];
  for (const backend of BACKENDS) {
    for (const inFlight of RSS_IN_FLIGHT) {
      const place = await freshPlace(backend, ADMIN_URL, 'flatrss');
      try {
        const m = await measureWorkerRss(place.options, 1, inFlight);
        const perThousand = ((m.rss - (m.idleRss ?? m.rss)) / inFlight) * 1000;
        const heapPerThousand = ((m.heapUsed - (m.idleHeapUsed ?? m.heapUsed)) / inFlight) * 1000;
        console.log(`${backend}: ${fmt(inFlight)} in flight: RSS ${fmt(m.rss / 2 ** 20, 1)} MiB (idle ${fmt((m.idleRss ?? 0) / 2 ** 20, 1)} MiB)`);
        rows.push([
          backend, fmt(inFlight), fmt((m.idleRss ?? 0) / 2 ** 20, 1), fmt(m.rss / 2 ** 20, 1), fmt(m.peakRss / 2 ** 20, 1),
          fmt(perThousand / 2 ** 20, 2), fmt(heapPerThousand / 2 ** 20, 2),
        ]);
      } finally {
        await place.drop();
      }
    }
  }
  tables.push({
    title: 'Worker memory per execution in flight (a process of its own)',
    head: ['backend', 'in flight', 'idle RSS MiB', 'RSS MiB', 'peak RSS MiB', 'RSS MiB per 1,000', 'JS heap MiB per 1,000'],
    rows,
    notes: [
      'in flight: claimed by the worker (concurrency = the count) and running, each inside a step whose body awaits a latch; ' +
        'RSS and heap after a full GC, minus the same worker\'s after a full GC while it ran nothing. On PGlite the database runs in the worker\'s ' +
        'process: its WASM memory grows in steps and is never given back, so its RSS difference says little; the JS heap per 1,000 is the figure to read there',
    ],
  });
}

const command = `${Object.entries(process.env).filter(([k]) => k.startsWith('FLAT_') || k === 'BENCH_BACKENDS').map(([k, v]) => `${k}=${v}`).join(' ')} npm run bench:flat-cost`.trim();
presentRun(
  {
    title: 'flat cost with a million finished executions, worker memory per execution',
    label: 'flat-cost',
    date: `${new Date().toISOString().slice(0, 19)}Z`,
    code,
    header: [describeCode(code), ...describeMachine(machineInfo({ postgres: postgresVersion })), `Command: \`${command}\``],
    tables,
    extras,
  },
  process.env.BENCH_WRITE_RESULTS !== '0',
  console.log,
);
