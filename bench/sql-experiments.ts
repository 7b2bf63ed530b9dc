/**
 * What-if measurements on throwaway databases: `npx tsx bench/sql-experiments.ts`. Each variant gets a
 * fresh database migrated by the engine and then altered in one way, and the same step workload runs on
 * it: the worker's per-step write pattern driven directly over SQL (16 clients, and one client for a
 * server CPU figure that a busy machine does not inflate), then the real engine (a worker at
 * concurrency 16 on N executions of 10 steps). The alterations are experiments to size a cost, not
 * proposals to apply as they are: dropping CHECK or foreign-key constraints shows what they cost per step.
 *
 *   as migrated              the schema as the engine creates it
 *   inlinable checksum       (only when the schema's is not inlined) journal_checksum rewritten with ||
 *                            instead of concat_ws, which is only STABLE: an IMMUTABLE SQL function whose
 *                            body is not is never inlined, so its body is parsed and planned again at
 *                            every statement that calls it. Same checksums.
 *   no CHECK constraints     without the CHECK constraints of executions, steps and journal (PostgreSQL
 *                            15 re-reads each CHECK expression from its stored text at every statement)
 *   no foreign keys          without the foreign keys of the aries tables (each insert into journal,
 *                            steps, checkpoints runs a FOR KEY SHARE lookup of its execution)
 *
 * Env: BENCH_DATABASE_URL, BENCH_PROFILE_SECONDS (default 8), BENCH_EXPERIMENT_EXECUTIONS (default 2000).
 */
import type pg from 'pg';
import { createEngine } from '../src/index.js';
import { readConfig } from './config.js';
import { cpuSince, cpuSnapshot, processCpu, waitForQuiet } from './cpu-usage.js';
import { fmt, textTable } from './report.js';
import { createServerDatabase } from './server-database.js';
import { connect, drive, hasFunction, prepare, type Variant } from './sql-step-patterns.js';
import { measureStepsThroughput } from './steps-throughput.js';

const config = readConfig();
const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? '8');
const executions = Number(process.env.BENCH_EXPERIMENT_EXECUTIONS ?? '2000');
const log = (msg: string) => console.error(`[experiments] ${msg}`);

const INLINABLE_CHECKSUM = `
CREATE OR REPLACE FUNCTION aries.journal_checksum(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer,
                                                  p_step_key text, p_attempt integer, p_payload jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_catalog.md5(p_execution_id::text || E'\\x1f' || coalesce(p_prev_lsn::text, '-') || E'\\x1f' || p_kind
         || E'\\x1f' || coalesce(p_seq::text, '-') || E'\\x1f' || coalesce(p_step_key, '-')
         || E'\\x1f' || coalesce(p_attempt::text, '-') || E'\\x1f' || coalesce(p_payload::text, '-'))
$$`;

async function dropConstraints(c: pg.Client, type: 'c' | 'f', tables: string[]): Promise<number> {
  const { rows } = await c.query<{ tbl: string; name: string }>(
    `SELECT r.relname AS tbl, k.conname AS name FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
       JOIN pg_namespace n ON n.oid = r.relnamespace
      WHERE n.nspname = 'aries' AND k.contype = $1 AND r.relname = ANY ($2)`,
    [type, tables],
  );
  for (const r of rows) await c.query(`ALTER TABLE aries.${r.tbl} DROP CONSTRAINT "${r.name}"`);
  return rows.length;
}

interface Experiment {
  name: string;
  alter: (c: pg.Client) => Promise<void>;
}

/** Whether the planner inlines aries.journal_checksum (then its body is planned with the caller, once). */
async function checksumInlined(c: pg.Client): Promise<boolean> {
  const { rows } = await c.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN VERBOSE SELECT aries.journal_checksum(gen_random_uuid(), 1, 'k', 1, 's', 1, '1'::jsonb)`,
  );
  return !rows.some((r) => r['QUERY PLAN'].includes('journal_checksum'));
}

const CHECKS = ['executions', 'steps', 'journal'];
const KEYS = ['executions', 'steps', 'journal', 'checkpoints', 'failures'];

const EXPERIMENTS: Experiment[] = [
  { name: 'as migrated', alter: async () => {} },
  {
    name: 'inlinable checksum',
    alter: async (c) => {
      if (await checksumInlined(c)) throw new Skip('journal_checksum is already inlined');
      await c.query(INLINABLE_CHECKSUM);
    },
  },
  { name: 'no CHECK constraints', alter: async (c) => void (await dropConstraints(c, 'c', CHECKS)) },
  { name: 'no foreign keys', alter: async (c) => void (await dropConstraints(c, 'f', KEYS)) },
  {
    name: 'no CHECK constraints, no foreign keys',
    alter: async (c) => {
      await dropConstraints(c, 'c', CHECKS);
      await dropConstraints(c, 'f', KEYS);
    },
  },
];

class Skip extends Error {}

/** Waits for a quiet machine, measures, and measures again (up to config.retries times) if it was not quiet. */
async function retried<T>(measure: () => Promise<T>, other: (r: T) => number | undefined): Promise<T> {
  let best: T | undefined;
  for (let attempt = 0; ; attempt++) {
    await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
    const r = await measure();
    if (best === undefined || (other(r) ?? 0) < (other(best) ?? 0)) best = r;
    if ((other(r) ?? 0) <= 2 * config.quietThreshold || attempt >= config.retries) return best;
    log(`other processes used ${(other(r) ?? 0).toFixed(2)} cores meanwhile; measuring again`);
  }
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  for (const x of EXPERIMENTS) {
    const db = await createServerDatabase(config.adminUrl, 'experiment');
    try {
      await (await createEngine({ databaseUrl: db.url })).close(); // migrates
      const [admin] = await connect(db.url, 1);
      try {
        await x.alter(admin!);
      } catch (err) {
        if (!(err instanceof Skip)) throw err;
        log(`${x.name}: skipped (${err.message})`);
        await admin!.end();
        continue;
      }
      await prepare(admin!);
      // What the worker sends under load.
      const pattern: Variant = (await hasFunction(admin!, 'record_steps_batch'))
        ? { name: 'record_steps_batch ×16', pattern: 'piggyback-batch', batch: 16, checkpoint: true }
        : (await hasFunction(admin!, 'record_steps'))
          ? { name: 'record_steps', pattern: 'piggyback', batch: 1, checkpoint: true }
          : { name: 'begin+complete', pattern: 'begin+complete', batch: 1, checkpoint: true };

      // One client: server CPU per step.
      await waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
      await drive([admin!], pattern, { seconds: 60, maxSteps: 320 });
      const pid = (await admin!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      let cpu0 = NaN;
      const one = await drive([admin!], pattern, { seconds: 60, maxSteps: 3200 }, () => (cpu0 = processCpu(pid) ?? NaN));
      const oneCpuUs = (((processCpu(pid) ?? NaN) - cpu0) / one.steps) * 1e6;
      await admin!.end();

      // Sixteen clients.
      const clients = await connect(db.url, 16);
      log(`${x.name}: ${pattern.name}, 16 clients …`);
      const { many, manyCpu } = await retried(async () => {
        let s0 = cpuSnapshot(db.name);
        const many = await drive(clients, pattern, { seconds }, () => (s0 = cpuSnapshot(db.name)));
        return { many, manyCpu: cpuSince(s0, cpuSnapshot(db.name)) };
      }, (r) => r.manyCpu.other);
      await Promise.all(clients.map((c) => c.end()));
      const manyRate = many.steps / many.seconds;

      // The engine itself.
      log(`${x.name}: engine, ${executions} executions …`);
      const run = await retried(async () => {
        const engine = await createEngine({ databaseUrl: db.url, onError: () => {} });
        try {
          return await measureStepsThroughput(engine, { executions, warmupExecutions: 100, steps: 10, concurrency: 16 });
        } finally {
          await engine.close();
        }
      }, (r) => r.runCpu.other);
      rows.push([
        x.name,
        fmt(oneCpuUs),
        fmt(manyRate),
        fmt(((manyCpu.postgres ?? NaN) / manyRate) * 1e6),
        fmt(run.stepsPerSecond),
        fmt(((run.runCpu.postgres ?? NaN) / run.stepsPerSecond) * 1e6),
        fmt((run.runCpu.node / run.stepsPerSecond) * 1e6),
        cpuOther(manyCpu.other, run.runCpu.other),
      ]);
    } finally {
      await db.drop();
    }
  }
  console.log(
    textTable({
      title: `Schema experiments: the worker's step pattern over SQL (1 and 16 clients, ${seconds} s) and the engine (${executions} executions × 10 steps, concurrency 16)`,
      head: ['variant', '1 client: server CPU µs/step', 'SQL 16 clients: steps/s', 'server CPU µs/step', 'engine: steps/s', 'server CPU µs/step', 'node CPU µs/step', 'other CPU (SQL, engine)'],
      rows,
      notes: ['server CPU: the server processes serving the database (plus WAL writer etc.); other CPU: the rest of the machine during the run.'],
    }),
  );
}

function cpuOther(a: number | undefined, b: number | undefined): string {
  return `${a?.toFixed(2) ?? '–'}, ${b?.toFixed(2) ?? '–'}`;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
