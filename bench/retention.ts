/**
 * `npm run bench:retention`: purging finished executions in bounded batches beside a live worker, and
 * whether the space they took is reused.
 *
 * Per cycle (3 by default): fill N finished executions (default 1,000,000) in set-based chunks (each
 * COMPLETED ten days ago with 2 steps, 6 journal records with real checksums and prev-LSN chains, and a
 * checkpoint; one in ten with an idempotency key); with a default policy of one day, run
 * `aries.purge_finished` batches back to back until nothing is left, WHILE a worker runs a steady stream of
 * small 3-step workflows (one started every RETENTION_BENCH_STREAM_MS); then VACUUM the tables a purge
 * deletes from (src/db/maintenance.ts: what the embedded engine runs on its timer). Printed per cycle:
 *
 *   purge exec/s   executions deleted per second of the purge phase
 *   step p50/p99   the stream's step latency (end of one step → start of the next: one write of its
 *                  completion and the next intent) in a window before the purge and during it, and the ratio
 *   sizes          table + index bytes of executions, journal and steps: before the purge, after it, after
 *                  VACUUM; a cycle's "before" not above the previous cycle's shows the freed space reused
 *
 * With RETENTION_BENCH_ROW_TRIGGER=1 the journal's delete check is swapped for the row-level trigger that
 * 0006 replaced (an EXISTS per deleted record), to measure what the statement-level check saves.
 *
 * Environment: BENCH_BACKENDS (postgres,pglite), BENCH_DATABASE_URL (admin connection),
 * RETENTION_BENCH_ROWS (1000000), RETENTION_BENCH_ROWS_PGLITE (same), RETENTION_BENCH_CYCLES (3),
 * RETENTION_BENCH_BATCH (1000), RETENTION_BENCH_BATCH_PGLITE (100), RETENTION_BENCH_PAUSE_MS (10), RETENTION_BENCH_STREAM_MS (20), RETENTION_BENCH_WINDOW_S (10: the window
 * before the purge), BENCH_WRITE_RESULTS (1: record the section in bench/RESULTS.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, defineWorkflow, type Engine, type EngineOptions } from '../src/index.js';
import { vacuumAndCheckpoint } from '../src/db/maintenance.js';
import { summarize } from './latency-summary.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, markdownTable, textTable, writeResults, type Table } from './report.js';
import { fillFinished } from './fill-executions.js';
import { adminQuery, createServerDatabase } from './server-database.js';

type BackendName = 'pglite' | 'postgres';
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const ROWS = num('RETENTION_BENCH_ROWS', 1_000_000);
const ROWS_BY_BACKEND: Record<BackendName, number> = { postgres: ROWS, pglite: num('RETENTION_BENCH_ROWS_PGLITE', ROWS) };
const CYCLES = num('RETENTION_BENCH_CYCLES', 3);
// PGlite runs one query at a time in this thread: a step waits for the batch in progress, so its batches are smaller.
const BATCH: Record<BackendName, number> = {
  postgres: num('RETENTION_BENCH_BATCH', 1_000),
  pglite: num('RETENTION_BENCH_BATCH_PGLITE', 100),
};
const STREAM_MS = num('RETENTION_BENCH_STREAM_MS', 20);
const WINDOW_S = num('RETENTION_BENCH_WINDOW_S', 10);
const PAUSE_MS = num('RETENTION_BENCH_PAUSE_MS', 10);
const ROW_TRIGGER = process.env.RETENTION_BENCH_ROW_TRIGGER === '1';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',') as BackendName[];
const TABLES = ['executions', 'journal', 'steps'] as const;

/** The journal's delete check as it was before 0006: a row trigger probing executions per deleted record. */
const ROW_TRIGGER_SQL = `
DROP TRIGGER journal_deleted_with_execution ON aries.journal;
CREATE FUNCTION aries.bench_refuse_journal_delete_row() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = OLD.execution_id) THEN RETURN OLD; END IF;
  RAISE EXCEPTION 'the journal is append-only (delete of lsn %)', OLD.lsn USING ERRCODE = 'AR008';
END $$;
CREATE TRIGGER bench_journal_delete_row BEFORE DELETE ON aries.journal FOR EACH ROW EXECUTE FUNCTION aries.bench_refuse_journal_delete_row();`;

async function fill(engine: Engine, rows: number, cycle: number): Promise<number> {
  const t = performance.now();
  await fillFinished(engine.db, rows, String(cycle));
  return (performance.now() - t) / 1000;
}

/** Bytes of each table's heap (with TOAST) and of its indexes. */
type Sizes = Record<(typeof TABLES)[number], { heap: number; indexes: number }>;

async function sizes(engine: Engine): Promise<Sizes> {
  const out = {} as Sizes;
  for (const table of TABLES) {
    const [r] = await engine.db.query<{ heap: string; indexes: string }>(
      `SELECT pg_table_size('aries.${table}')::text AS heap, pg_indexes_size('aries.${table}')::text AS indexes`,
    );
    out[table] = { heap: Number(r!.heap), indexes: Number(r!.indexes) };
  }
  return out;
}

const mb = (bytes: number) => fmt(bytes / 1024 / 1024, 1);

/** A worker running a steady stream of 3-step workflows; step latencies go to whichever window is open. */
function stepStream(engine: Engine) {
  let window: number[] = [];
  const lastEnd = new Map<number, number>();
  const workflow = defineWorkflow('bench-stream', async (ctx, input: { i: number }) => {
    for (let s = 0; s < 3; s++) {
      await ctx.step(`s${s}`, () => {
        const prev = lastEnd.get(input.i);
        if (prev !== undefined) window.push(performance.now() - prev);
        lastEnd.set(input.i, performance.now());
        return s;
      });
    }
    lastEnd.delete(input.i);
    return input.i;
  });
  const worker = engine.worker({ workflows: [workflow], concurrency: 8, pollIntervalMs: 50 });
  let running = true;
  let started = 0;
  let loop: Promise<void> | undefined;
  return {
    async start() {
      await worker.start();
      loop = (async () => {
        while (running) {
          await engine.start(workflow, { i: started++ });
          await new Promise((resolve) => setTimeout(resolve, STREAM_MS));
        }
      })();
    },
    /** Opens a new window and returns the previous one's samples. */
    take(): number[] {
      const taken = window;
      window = [];
      return taken;
    },
    async stop() {
      running = false;
      await loop;
      await worker.stop();
    },
    get started() {
      return started;
    },
  };
}

interface CycleResult {
  fillSeconds: number;
  purgeSeconds: number;
  purged: number;
  vacuumSeconds: number;
  before: number[];
  during: number[];
  sizes: { beforePurge: Sizes; afterPurge: Sizes; afterVacuum: Sizes };
}

async function cycle(engine: Engine, stream: ReturnType<typeof stepStream>, rows: number, batch: number, n: number): Promise<CycleResult> {
  const fillSeconds = await fill(engine, rows, n);
  const beforePurge = await sizes(engine);
  stream.take();
  await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
  const before = stream.take();
  const t = performance.now();
  let purged = 0;
  for (;;) {
    const r = await engine.admin.purgeFinished({ batchSize: batch });
    purged += r.executions;
    if (r.executions === 0) break;
    // Yield to the event loop between batches: PGlite runs in this thread, and a loop of queries resolved
    // in microtasks alone would starve the worker's timers until the purge ends.
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
  const purgeSeconds = (performance.now() - t) / 1000;
  const during = stream.take();
  const afterPurge = await sizes(engine);
  const v = performance.now();
  await vacuumAndCheckpoint(engine.db);
  const vacuumSeconds = (performance.now() - v) / 1000;
  const afterVacuum = await sizes(engine);
  return { fillSeconds, purgeSeconds, purged, vacuumSeconds, before, during, sizes: { beforePurge, afterPurge, afterVacuum } };
}

async function measure(backend: BackendName): Promise<Table[]> {
  const rows = ROWS_BY_BACKEND[backend];
  let options: EngineOptions;
  let drop = async () => {};
  if (backend === 'postgres') {
    const db = await createServerDatabase(ADMIN_URL, 'retention');
    options = { databaseUrl: db.url };
    drop = db.drop;
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'aries-bench-'));
    // The bench runs VACUUM itself after each purge; the engine's timer would only blur the figures.
    options = { dataDir: join(dir, 'data'), vacuumIntervalMs: 0 };
    drop = async () => rmSync(dir, { recursive: true, force: true });
  }
  const engine = await createEngine({ ...options, onError: () => {} });
  const stream = stepStream(engine);
  const results: CycleResult[] = [];
  try {
    if (ROW_TRIGGER) await engine.db.exec(ROW_TRIGGER_SQL);
    await engine.admin.setRetention({ finishedMs: 86_400_000 });
    await stream.start();
    for (let n = 1; n <= CYCLES; n++) {
      console.log(`${backend}: cycle ${n}: filling ${fmt(rows)} finished executions, then purging them beside the stream…`);
      const r = await cycle(engine, stream, rows, BATCH[backend], n);
      console.log(`  filled in ${fmt(r.fillSeconds, 1)} s, purged ${fmt(r.purged)} in ${fmt(r.purgeSeconds, 1)} s, VACUUM ${fmt(r.vacuumSeconds, 1)} s`);
      results.push(r);
    }
  } finally {
    await stream.stop();
    await engine.close();
    await drop();
  }
  const label = `${backend}, N = ${fmt(rows)}${ROW_TRIGGER ? ', row-level journal delete trigger' : ''}`;
  const purge: Table = {
    title: `Purge beside a live worker (${label}), batches of ${fmt(BATCH[backend])}, ${PAUSE_MS} ms apart`,
    head: ['cycle', 'fill s', 'purged', 'purge s', 'purge exec/s', 'step p50 before', 'p99 before', 'p50 during', 'p99 during', 'p50 ×', 'p99 ×', 'VACUUM s'],
    rows: results.map((r, i) => {
      const b = summarize(r.before);
      const d = summarize(r.during);
      return [
        String(i + 1), fmt(r.fillSeconds, 1), fmt(r.purged), fmt(r.purgeSeconds, 1), fmt(r.purged / r.purgeSeconds),
        fmt(b.p50, 1), fmt(b.p99, 1), fmt(d.p50, 1), fmt(d.p99, 1), fmt(d.p50 / b.p50, 2), fmt(d.p99 / b.p99, 2), fmt(r.vacuumSeconds, 1),
      ];
    }),
    notes: [
      `stream: one 3-step execution started every ${STREAM_MS} ms, a worker at concurrency 8; step latency in ms, ` +
        `before = the ${WINDOW_S} s window ahead of the purge, during = the whole purge (samples: ${results.map((r) => `${r.before.length}/${r.during.length}`).join(', ')})`,
    ],
  };
  const space: Table = {
    title: `Sizes in MB (${label})`,
    head: ['cycle', 'stage', ...TABLES.flatMap((t) => [`${t} heap`, `${t} indexes`])],
    rows: results.flatMap((r, i) =>
      (['beforePurge', 'afterPurge', 'afterVacuum'] as const).map((stage) => [
        String(i + 1),
        { beforePurge: 'filled', afterPurge: 'after purge', afterVacuum: 'after VACUUM' }[stage],
        ...TABLES.flatMap((t) => [mb(r.sizes[stage][t].heap), mb(r.sizes[stage][t].indexes)]),
      ]),
    ),
    notes: [
      'a cycle fills the space the previous one freed: a "filled" row not above the previous cycle\'s is the space reused ' +
        '(VACUUM frees heap pages at once; an emptied index page is recycled only by a later VACUUM, so indexes settle a cycle later)',
    ],
  };
  return [purge, space];
}

const code = codeInfo(); // what is measured: the tree as the run starts
const sections: string[] = [];
let postgresVersion: string | undefined;
for (const backend of BACKENDS) {
  const tables = await measure(backend);
  for (const t of tables) console.log(`\n${textTable(t)}`);
  sections.push(...tables.map(markdownTable));
  if (backend === 'postgres') {
    postgresVersion = (await adminQuery<{ v: string }>(ADMIN_URL, `SELECT current_setting('server_version') AS v`))[0]?.v;
  }
}
const body = [
  `## ${new Date().toISOString().slice(0, 19)}Z — retention (purge_finished), commit ${code.commit}${code.dirty ? ' (dirty)' : ''}`,
  '',
  `${describeCode(code)}. ${describeMachine(machineInfo({ postgres: postgresVersion })).join('. ')}. Command: ` +
    `\`${Object.entries(process.env).filter(([k]) => k.startsWith('RETENTION_BENCH_') || k === 'BENCH_BACKENDS').map(([k, v]) => `${k}=${v}`).join(' ')} npm run bench:retention\``,
  '',
  ...sections.flatMap((s) => [s, '']),
].join('\n');
console.log(`\n${body}`);
if (process.env.BENCH_WRITE_RESULTS !== '0') writeResults(new URL('./RESULTS.md', import.meta.url).pathname, code, body, `retention${ROW_TRIGGER ? '-row-trigger' : ''}`);
