/**
 * `npm run bench:job-cost`: what one execution costs a worker and its database. N executions of a 1-step
 * workflow (a job) and of a 10-step workflow, started with engine.startMany before a worker (concurrency
 * 16) drains them, on each backend: executions/s, the statements the engine sent per execution (claims,
 * step writes and ends, counted at the driver), and CPU per execution of the Node process and, on the
 * server, of the PostgreSQL processes serving the benchmark's database (bench/cpu-usage.ts). Rounds
 * alternate the workloads on fresh databases; medians of ROUNDS. Run it at two commits one after the other
 * (A/B) to see what a change buys: CPU per execution moves less with the machine's load than throughput.
 *
 * Environment: BENCH_BACKENDS (postgres,pglite), BENCH_DATABASE_URL (admin connection), JOB_COST_JOBS
 * (4000), JOB_COST_WORKFLOWS (500), JOB_COST_ROUNDS (3), BENCH_WRITE_RESULTS (1: record in RESULTS.md).
 */
import pg from 'pg';
import { createEngine, defineWorkflow, type Workflow } from '../src/index.js';
import type { BackendName } from './config.js';
import { cpuSince, cpuSnapshot } from './cpu-usage.js';
import { finished } from './execution-driver.js';
import { freshPlace } from './fresh-place.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, presentRun, type Table } from './report.js';

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const JOBS = num('JOB_COST_JOBS', 4_000);
const WORKFLOWS = num('JOB_COST_WORKFLOWS', 500);
const ROUNDS = num('JOB_COST_ROUNDS', 3);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'postgres,pglite').split(',') as BackendName[];
const BATCH = 1_000;

const stepsWorkflow = (name: string, steps: number) =>
  defineWorkflow(name, async (ctx, i: number) => {
    for (let s = 0; s < steps; s++) await ctx.step(`s${s}`, () => i);
    return i;
  });

const workloads: { name: string; n: number; workflow: Workflow<number, number> }[] = [
  { name: '1-step jobs', n: JOBS, workflow: stepsWorkflow('bench-job-cost-1', 1) },
  { name: '10-step workflows', n: WORKFLOWS, workflow: stepsWorkflow('bench-job-cost-10', 10) },
];

/** Statements sent while `counting` is on: every query the server pool runs (the driver's one entry). */
let counting = false;
let statements = 0;
const poolQuery = pg.Pool.prototype.query;
(pg.Pool.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: pg.Pool, ...args: unknown[]) {
  if (counting) statements++;
  return (poolQuery as (...a: unknown[]) => unknown).apply(this, args);
};

interface Sample {
  perSecond: number;
  statements: number | undefined;
  nodeUs: number;
  serverUs: number | undefined;
}

async function measure(backend: BackendName, workload: (typeof workloads)[number]): Promise<Sample> {
  const place = await freshPlace(backend, ADMIN_URL, 'job_cost');
  const engine = await createEngine(place.options);
  try {
    const { n, workflow } = workload;
    for (let from = 0; from < n; from += BATCH) {
      await engine.startMany(workflow, Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => from + k));
    }
    const worker = engine.worker({ workflows: [workflow], concurrency: 16 });
    const before = cpuSnapshot(place.database);
    statements = 0;
    counting = true;
    await worker.start();
    await finished(worker, n);
    counting = false;
    const use = cpuSince(before, cpuSnapshot(place.database));
    const seconds = (performance.now() - before.at) / 1000;
    await worker.stop();
    if (worker.stats.completed !== n) throw new Error(`${workload.name}: ${JSON.stringify(worker.stats)} of ${n}`);
    const perExecution = (cores: number) => (cores * seconds * 1e6) / n;
    return {
      perSecond: n / seconds,
      // PGlite's queries do not go through the pool; its statements are not counted
      statements: backend === 'postgres' ? statements / n : undefined,
      nodeUs: perExecution(use.node),
      serverUs: use.postgres === undefined ? undefined : perExecution(use.postgres),
    };
  } finally {
    counting = false;
    await engine.close();
    await place.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const machine = machineInfo({});
  const code = codeInfo();
  const samples = new Map<string, Sample[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const backend of BACKENDS) {
      for (const w of workloads) {
        const s = await measure(backend, w);
        const key = `${backend}\t${w.name}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        console.log(
          `round ${round} ${backend} ${w.name}: ${fmt(s.perSecond)}/s, ${s.statements?.toFixed(2) ?? '–'} statements,` +
            ` node ${fmt(s.nodeUs)} µs, server ${s.serverUs === undefined ? '–' : fmt(s.serverUs)} µs per execution`,
        );
      }
    }
  }
  const table: Table = {
    title: `What one execution costs (medians of ${ROUNDS}; ${JOBS} jobs, ${WORKFLOWS} 10-step workflows, concurrency 16)`,
    head: ['backend', 'workload', 'executions/s', 'statements per execution', 'node CPU µs per execution', 'server CPU µs per execution'],
    rows: [...samples].map(([key, ss]) => {
      const [backend, workload] = key.split('\t');
      const m = (f: (s: Sample) => number | undefined) => {
        const xs = ss.map(f).filter((x): x is number => x !== undefined);
        return xs.length === 0 ? undefined : median(xs);
      };
      const statementsMedian = m((s) => s.statements);
      const server = m((s) => s.serverUs);
      return [
        backend!,
        workload!,
        fmt(m((s) => s.perSecond)!),
        statementsMedian === undefined ? '–' : statementsMedian.toFixed(2),
        fmt(m((s) => s.nodeUs)!),
        server === undefined ? '–' : fmt(server),
      ];
    }),
  };
  presentRun(
    {
      title: 'what one execution costs (job-cost)',
      label: 'job-cost',
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      code,
      header: [...describeMachine(machine), describeCode(code), `Command: npm run bench:job-cost (jobs ${JOBS}, workflows ${WORKFLOWS}, rounds ${ROUNDS})`],
      tables: [table],
    },
    process.env.BENCH_WRITE_RESULTS !== '0',
    (msg) => console.error(msg),
  );
}

await main();
