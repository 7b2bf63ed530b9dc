/**
 * `npm run bench:serialization`: where the serialization failures (SQLSTATE 40001) of SERIALIZABLE
 * transactional steps are raised. N executions, each one ctx.transaction at isolation 'serializable'
 * that reads one of a few hot rows and updates another (the user's statements), run by one worker at
 * concurrency C on the PostgreSQL server. Every statement of a step's transaction goes through a
 * counting wrapper of the worker's database, so each 40001 (and 40P01) is charged to the statement that
 * raised it:
 *
 *   engine   one of Aries's own statements in the step's transaction (lock_owned_execution, the fence;
 *            apply_durability; record_steps, the completion), by function name
 *   user     one of the step's own statements
 *   commit   the COMMIT (SSI found the dangerous structure only then)
 *
 * An engine statement can raise a failure it did not cause: a transaction another one's conflict
 * check marked to die (PostgreSQL's "doomed" flag) fails at its next read or write, whichever statement
 * that is ("Reason code: Canceled on identification as a pivot, during conflict out checking" or "…
 * during conflict in checking"); those are counted apart, as `engine:<function>:doomed`. The
 * engine-induced share is the rest of the engine's (its own reads or writes met a conflict, or the row it
 * locks was updated after the snapshot: "could not serialize access due to concurrent update") ÷ all. Each failure runs the step again (a high retry limit, short
 * backoff), so every execution completes; the bench checks the hot rows' total equals the executions.
 *
 * Variants (A/B in one session, interleaved rounds): SERIALIZATION_BENCH_VARIANTS is a `;`-separated
 * list of `name=file+file` (files of SQL applied to the variant's fresh database after migration, e.g.
 * an earlier definition of a function: `git show <commit>:sql/schema/... > /tmp/old.sql`); `name=`
 * measures the schema as migrated. Default: `current=`.
 *
 * The reference (SERIALIZATION_BENCH_DIRECT=1, on by default): the same user statements in the same
 * number of SERIALIZABLE transactions, at the same concurrency and backoff, sent directly (no engine,
 * no journal): the failures the workload has by itself.
 *
 * Environment: BENCH_DATABASE_URL (admin connection), SERIALIZATION_BENCH_EXECUTIONS (1000),
 * SERIALIZATION_BENCH_CONCURRENCY (16), SERIALIZATION_BENCH_HOT_ROWS (8), SERIALIZATION_BENCH_ROUNDS (2).
 * Prints tables and a Markdown section to paste into bench/RESULTS.md (it does not write the file).
 */
import { readFileSync } from 'node:fs';
import type { Database, Transaction } from '../src/db/database.js';
import { createEngine, defineWorkflow, Worker, type Engine } from '../src/index.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, markdownTable, textTable, type Table } from './report.js';
import { adminQuery, createServerDatabase } from './server-database.js';

const log = (msg: string) => console.error(`[serialization-bench] ${msg}`);

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

interface Variant {
  name: string;
  files: string[];
}

function variants(): Variant[] {
  const raw = process.env.SERIALIZATION_BENCH_VARIANTS ?? 'current=';
  return raw
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [name, files = ''] = s.split('=', 2);
      return { name: name!.trim(), files: files.split('+').map((f) => f.trim()).filter(Boolean) };
    });
}

const config = {
  adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  executions: int('SERIALIZATION_BENCH_EXECUTIONS', 1_000),
  concurrency: int('SERIALIZATION_BENCH_CONCURRENCY', 16),
  hotRows: int('SERIALIZATION_BENCH_HOT_ROWS', 8),
  rounds: int('SERIALIZATION_BENCH_ROUNDS', 2),
  leaseMs: int('SERIALIZATION_BENCH_LEASE_MS', 15_000),
  direct: process.env.SERIALIZATION_BENCH_DIRECT !== '0',
  variants: variants(),
};

/** Where each serialization failure was raised: `engine:<function>`, `user`, `commit`. */
type Counts = Map<string, number>;

function isSerializationFailure(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === '40001' || code === '40P01';
}

/** The transaction had been marked to die before this statement, by another transaction's conflict check. */
function wasDoomed(err: unknown): boolean {
  return /during conflict (out|in) checking/.test(String((err as { detail?: unknown }).detail ?? ''));
}

function bump(counts: Counts, where: string): void {
  counts.set(where, (counts.get(where) ?? 0) + 1);
}

/**
 * SERIALIZATION_BENCH_DETAIL=1: failures are also tallied by the PL/pgSQL line that raised them (the
 * error's `where`, its innermost frame) and PostgreSQL's reason code (the error's `detail`).
 */
const details: Counts | undefined = process.env.SERIALIZATION_BENCH_DETAIL === '1' ? new Map() : undefined;

function describeFailure(source: string, err: unknown): string {
  const e = err as { where?: string; detail?: string; message?: string };
  const frame = e.where?.split('\n').find((l) => l.includes('PL/pgSQL function'))?.replace(/^PL\/pgSQL function /, '') ?? '';
  return `${source} | ${frame} | ${e.detail ?? e.message ?? ''}`;
}

/** The worker's database, with every statement of a transaction charged its serialization failures. */
function counting(db: Database, counts: Counts): Database {
  return {
    kind: db.kind,
    description: db.description,
    query: (sql, params) => db.query(sql, params),
    exec: (sql) => db.exec(sql),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: async () => {},
    async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      let charged = false;
      try {
        return await db.transaction((tx) =>
          fn({
            exec: (sql) => tx.exec(sql),
            run: (statement) => tx.run(statement),
            async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
              try {
                return await tx.query<Row>(sql, params);
              } catch (err) {
                if (isSerializationFailure(err) && !charged) {
                  charged = true;
                  const fnName = /aries\.(\w+)/.exec(sql)?.[1];
                  bump(counts, fnName ? `engine:${fnName}${wasDoomed(err) ? ':doomed' : ''}` : 'user');
                  if (details) bump(details, describeFailure(fnName ?? 'user', err));
                }
                throw err;
              }
            },
          }),
        );
      } catch (err) {
        if (isSerializationFailure(err) && !charged) {
          bump(counts, 'commit');
          if (details) bump(details, describeFailure('commit', err));
        }
        throw err;
      }
    },
  };
}

interface RoundResult {
  variant: string;
  round: number;
  executions: number;
  seconds: number;
  counts: Counts;
}

const HOT_DDL = (rows: number) => `
  CREATE TABLE hot_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0);
  INSERT INTO hot_rows (id) SELECT g FROM generate_series(1, ${rows}) g;`;

async function runRound(variant: Variant, round: number): Promise<RoundResult> {
  const place = await createServerDatabase(config.adminUrl, 'serialization');
  let engine: Engine | undefined;
  try {
    engine = await createEngine({ databaseUrl: place.url, onError: () => {} });
    for (const file of variant.files) await engine.db.exec(readFileSync(file, 'utf8'));
    await engine.db.exec(HOT_DDL(config.hotRows));
    const rows = config.hotRows;
    const workflow = defineWorkflow('hot-rows', async (ctx, input: { read: number; write: number }) =>
      ctx.transaction(
        'bump',
        async (tx) => {
          await tx.query('SELECT n FROM hot_rows WHERE id = $1', [input.read]);
          await tx.query('UPDATE hot_rows SET n = n + 1 WHERE id = $1', [input.write]);
          return input.write;
        },
        { isolation: 'serializable', retry: { maxAttempts: 10_000, initialDelayMs: 1, maxDelayMs: 20 } },
      ),
    );
    const counts: Counts = new Map();
    const worker = new Worker(
      counting(engine.db, counts),
      { workflows: [workflow], concurrency: config.concurrency, leaseMs: config.leaseMs, pollIntervalMs: 50, schedulerIntervalMs: 0 },
      { onError: () => {} },
    );
    const inputs = inputsFor(config.executions, rows);
    const handles = [];
    for (const input of inputs) handles.push(await engine.start(workflow, input));
    const started = performance.now();
    await worker.start();
    try {
      for (const h of handles) await h.result({ timeoutMs: 600_000 });
    } finally {
      await worker.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const [total] = await engine.db.query<{ n: string }>('SELECT sum(n)::text AS n FROM hot_rows');
    if (Number(total?.n) !== config.executions) throw new Error(`hot rows total ${total?.n}, expected ${config.executions}`);
    return { variant: variant.name, round, executions: config.executions, seconds, counts };
  } finally {
    await engine?.close();
    await place.drop();
  }
}

/** Failures an engine statement caused (not those it only reported for a transaction doomed before). */
/** The inputs of the executions: which hot row each reads and which (another) it updates. */
function inputsFor(n: number, rows: number): Array<{ read: number; write: number }> {
  return Array.from({ length: n }, (_, i) => {
    const read = 1 + (i % rows);
    const write = 1 + ((i * 7 + 3) % rows);
    return { read, write: write === read ? 1 + (write % rows) : write };
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The reference: the user's transactions alone, C lanes, each failure retried after 1–20 ms (full jitter). */
async function runDirect(round: number): Promise<RoundResult> {
  const place = await createServerDatabase(config.adminUrl, 'serialization');
  let engine: Engine | undefined;
  try {
    engine = await createEngine({ databaseUrl: place.url, onError: () => {} });
    await engine.db.exec(HOT_DDL(config.hotRows));
    const db = engine.db;
    const counts: Counts = new Map();
    const queue = inputsFor(config.executions, config.hotRows);
    const started = performance.now();
    const lane = async () => {
      for (let input = queue.shift(); input; input = queue.shift()) {
        for (let attempt = 1; ; attempt++) {
          try {
            await db.transaction(async (tx) => {
              await tx.exec('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
              await tx.query('SELECT n FROM hot_rows WHERE id = $1', [input.read]);
              await tx.query('UPDATE hot_rows SET n = n + 1 WHERE id = $1', [input.write]);
            });
            break;
          } catch (err) {
            if (!isSerializationFailure(err)) throw err;
            bump(counts, 'direct');
            await sleep(Math.random() * Math.min(20, 2 ** attempt));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: config.concurrency }, lane));
    const seconds = (performance.now() - started) / 1000;
    return { variant: 'user statements alone', round, executions: config.executions, seconds, counts };
  } finally {
    await engine?.close();
    await place.drop();
  }
}

function engineCount(c: Counts): number {
  return [...c].filter(([k]) => k.startsWith('engine:') && !k.endsWith(':doomed')).reduce((s, [, n]) => s + n, 0);
}

function total(c: Counts): number {
  return [...c.values()].reduce((s, n) => s + n, 0);
}

function merged(results: RoundResult[]): Counts {
  const out: Counts = new Map();
  for (const r of results) for (const [k, n] of r.counts) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

async function main(): Promise<void> {
  const [version] = await adminQuery<{ server_version: string }>(config.adminUrl, 'SHOW server_version');
  const results: RoundResult[] = [];
  for (let round = 1; round <= config.rounds; round++) {
    for (const variant of config.variants) {
      log(`round ${round}, variant ${variant.name}: ${config.executions} executions at concurrency ${config.concurrency}`);
      const r = await runRound(variant, round);
      log(`  ${fmt(r.seconds, 1)} s; 40001: ${total(r.counts)} (engine ${engineCount(r.counts)}): ${JSON.stringify(Object.fromEntries(r.counts))}`);
      results.push(r);
    }
    if (config.direct) {
      log(`round ${round}, the user's statements alone: ${config.executions} transactions on ${config.concurrency} connections`);
      const r = await runDirect(round);
      log(`  ${fmt(r.seconds, 1)} s; 40001: ${total(r.counts)}`);
      results.push(r);
    }
  }
  const sources = [...new Set(results.flatMap((r) => [...r.counts.keys()]))].sort();
  const table: Table = {
    title: `Serialization failures by where they were raised (${config.executions} executions × ${config.rounds} rounds, ` +
      `concurrency ${config.concurrency}, ${config.hotRows} hot rows, one SERIALIZABLE ctx.transaction each)`,
    head: ['variant', 'all', 'engine-caused', 'engine share', 'per execution', ...sources],
    rows: [...config.variants.map((v) => v.name), ...(config.direct ? ['user statements alone'] : [])].map((name) => {
      const c = merged(results.filter((r) => r.variant === name));
      const all = total(c);
      const n = config.executions * config.rounds;
      return [name, fmt(all), fmt(engineCount(c)), all ? `${fmt((100 * engineCount(c)) / all, 1)}%` : '–', fmt(all / n, 3), ...sources.map((s) => fmt(c.get(s) ?? 0))];
    }),
    notes: [
      'engine-caused: raised by an engine statement\'s own read, write or lock; `:doomed`: raised by the first statement after another transaction marked this one to die',
      `Lease ${config.leaseMs} ms (heartbeat every third of it)`,
      `Variants: ${config.variants.map((v) => `${v.name} = ${v.files.length ? v.files.join(' + ') : 'schema as migrated'}`).join('; ')}`,
    ],
  };
  const machine = machineInfo({ postgres: version?.server_version });
  console.log(textTable(table));
  if (details) for (const [k, n] of [...details].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(6)}  ${k}`);
  console.log('\n--- Markdown for bench/RESULTS.md ---\n');
  console.log([...describeMachine(machine), describeCode(codeInfo()), `Date: ${new Date().toISOString().slice(0, 10)}`, '', markdownTable(table)].join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
