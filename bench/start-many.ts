/**
 * `npm run bench:start-many`: how fast executions can be enqueued. N executions (default 10,000) of a
 * 1-step workflow started with no worker running: one engine.start call each (CONCURRENCY at a time), and
 * engine.startMany in batches of 100 and 1,000 (one call at a time; with and without an idempotency key per
 * item). Rounds alternate the ways, each on a fresh database, so a drift of the machine's speed hits all of
 * them alike; printed: starts/s (median of ROUNDS) and each way's ratio to one start() per execution.
 *
 * Environment: BENCH_BACKENDS (postgres,pglite), BENCH_DATABASE_URL (admin connection), START_BENCH_N
 * (10000), START_BENCH_ROUNDS (3), START_BENCH_CONCURRENCY (16), BENCH_WRITE_RESULTS (1: record in RESULTS.md).
 */
import { createEngine, defineWorkflow, type Engine } from '../src/index.js';
import type { BackendName } from './config.js';
import { cpuSince, cpuSnapshot } from './cpu-usage.js';
import { freshPlace } from './fresh-place.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, presentRun, type Table } from './report.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const N = num('START_BENCH_N', 10_000);
const ROUNDS = num('START_BENCH_ROUNDS', 3);
const CONCURRENCY = num('START_BENCH_CONCURRENCY', 16);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',') as BackendName[];

const job = defineWorkflow('bench-start-many', async (ctx, i: number) => ctx.step('only', () => i));

interface Way {
  name: string;
  run(engine: Engine, run: number): Promise<void>;
}

const ways: Way[] = [
  {
    name: `engine.start, one call each (${CONCURRENCY} at a time)`,
    async run(engine) {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = next++; i < N; i = next++) await engine.start(job, i);
        }),
      );
    },
  },
  ...[100, 1_000].flatMap((batch): Way[] => [
    {
      name: `engine.startMany, batches of ${fmt(batch)}`,
      async run(engine) {
        for (let from = 0; from < N; from += batch) {
          await engine.startMany(job, Array.from({ length: Math.min(batch, N - from) }, (_, k) => from + k));
        }
      },
    },
    {
      name: `engine.startMany, batches of ${fmt(batch)}, a key per item`,
      async run(engine, run) {
        for (let from = 0; from < N; from += batch) {
          const items = Array.from({ length: Math.min(batch, N - from) }, (_, k) => from + k);
          await engine.startMany(job, items, { idempotencyKeys: items.map((i) => `r${run}-${i}`) });
        }
      },
    },
  ]),
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(
  backend: BackendName,
): Promise<{ rates: Map<string, number[]>; serverUs: Map<string, number[]>; versions: string | undefined }> {
  const rates = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  const serverUs = new Map<string, number[]>(ways.map((w) => [w.name, []]));
  let versions: string | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    for (const way of ways) {
      const place = await freshPlace(backend, ADMIN_URL, 'start_many');
      const engine = await createEngine(place.options);
      try {
        versions ??= (await engine.db.query<{ v: string }>('SELECT version() AS v'))[0]?.v;
        await engine.startMany(job, [0]); // registers the workflow; warms the connection
        const before = cpuSnapshot(place.database);
        await way.run(engine, round);
        const seconds = (performance.now() - before.at) / 1000;
        const server = cpuSince(before, cpuSnapshot(place.database)).postgres;
        const [{ n }] = await engine.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM aries.executions`) as [{ n: string | number }];
        if (Number(n) !== N + 1) throw new Error(`${way.name}: ${n} executions, expected ${N + 1}`);
        rates.get(way.name)!.push(N / seconds);
        // the server's CPU per start (its processes serving this database, from /proc; none on PGlite)
        if (server !== undefined) serverUs.get(way.name)!.push((server * seconds * 1e6) / N);
        console.error(
          `${backend} round ${round + 1}: ${way.name}: ${fmt(N / seconds)} starts/s` +
            (server === undefined ? '' : `, server CPU ${fmt((server * seconds * 1e6) / N, 1)} µs per start`),
        );
      } finally {
        await engine.close();
        await place.drop();
      }
    }
  }
  return { rates, serverUs, versions };
}

const tables: Table[] = [];
let postgresVersion: string | undefined;
for (const backend of BACKENDS) {
  const { rates, serverUs, versions } = await measure(backend);
  const withServer = backend === 'postgres' && [...serverUs.values()].every((xs) => xs.length > 0);
  if (backend === 'postgres') postgresVersion = versions?.split(' on ')[0];
  const base = median(rates.get(ways[0]!.name)!);
  tables.push({
    title: `Enqueue rate on ${backend}: ${fmt(N)} starts of a 1-step workflow, no worker running (median of ${ROUNDS} rounds, ways alternating)`,
    head: ['way', 'starts/s', '÷ one start() each', ...(withServer ? ['server CPU µs per start'] : [])],
    rows: ways.map((w) => {
      const m = median(rates.get(w.name)!);
      return [w.name, fmt(m), `${(m / base).toFixed(1)}×`, ...(withServer ? [fmt(median(serverUs.get(w.name)!), 1)] : [])];
    }),
  });
}
const code = codeInfo();
presentRun(
  {
    title: 'batch start (engine.startMany)',
    label: 'start-many',
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    code,
    header: [...describeMachine(machineInfo({ postgres: postgresVersion })), describeCode(code), `Command: npm run bench:start-many (N=${N}, rounds ${ROUNDS})`],
    tables,
  },
  process.env.BENCH_WRITE_RESULTS !== '0',
  (m) => console.error(m),
);
