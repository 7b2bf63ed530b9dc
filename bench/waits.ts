/**
 * `npm run bench:waits`: what durable waits cost, on embedded PGlite and on a PostgreSQL server, each
 * figure next to a baseline measured in the same run (a ratio, never a wall-clock assertion):
 *
 *   signal latency   send → the waiting workflow's next step begins, vs start → the first step begins
 *                    through the same sender (signal-latency.ts)
 *   sleepers         N executions asleep (default 100,000, made by the engine's own SQL functions:
 *                    sleepers.ts): a worker's claims (claim_executions, idle and taking one) and a
 *                    worker's memory (a process of its own: worker-rss.ts), each vs none asleep in the same
 *                    database; then W of them made due at once (default 10,000) and run to completion by
 *                    one worker, vs W executions of the same step without the sleep (wake-up.ts)
 *   children         parent + child round trip vs the child alone; a 1,000-way fan-out vs the same 1,000
 *                    executions started by the client (child-workflows.ts)
 *
 * Prints tables and records them as a section of bench/RESULTS.md (machine, commit, date, command).
 * Environment: see README.md ("Durable waits").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createEngine, type Engine, type EngineOptions } from '../src/index.js';
import { noteBackendVersion, type BackendVersions } from './backend-versions.js';
import { measureFanOut, measureRoundTrip, type FanOutResult, type RoundTripResult } from './child-workflows.js';
import { readConfig, type BackendName } from './config.js';
import { waitForQuiet } from './cpu-usage.js';
import { codeInfo, machineInfo } from './machine.js';
import { describeCode, describeMachine, fmt, presentRun, type Table } from './report.js';
import { adminQuery, createServerDatabase } from './server-database.js';
import { engineSender, measureSignalLatency, sqlSender, type Sender, type SignalLatencyResult } from './signal-latency.js';
import { explainIdleClaim, measureClaims, seedSleepers, sleepingCount, type ClaimCost } from './sleepers.js';
import { benchWaitWorkflows } from './waits-workflows.js';
import { measureWakeUp, type WakeUpResult } from './wake-up.js';
import { measureWorkerRss, type WorkerMemory } from './worker-rss.js';

const log = (msg: string) => console.error(`[bench:waits] ${msg}`);

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

const base = readConfig();
const config = {
  ...base,
  adminUrl: process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? base.adminUrl,
  concurrency: int('WAITS_BENCH_CONCURRENCY', 16),
  signalSamples: int('WAITS_BENCH_SIGNAL_SAMPLES', 300),
  signalWarmup: int('WAITS_BENCH_SIGNAL_WARMUP', 20),
  sleepers: int('WAITS_BENCH_SLEEPERS', 100_000),
  seedBatch: Math.max(1, int('WAITS_BENCH_SEED_BATCH', 10_000)),
  wake: int('WAITS_BENCH_WAKE', 10_000),
  idleClaims: int('WAITS_BENCH_IDLE_CLAIMS', 2_000),
  takeOneClaims: int('WAITS_BENCH_TAKE_CLAIMS', 300),
  rssSeconds: int('WAITS_BENCH_RSS_SECONDS', 5),
  rssRuns: Math.max(1, int('WAITS_BENCH_RSS_RUNS', 2)),
  childSamples: int('WAITS_BENCH_CHILD_SAMPLES', 200),
  childWarmup: int('WAITS_BENCH_CHILD_WARMUP', 10),
  fanOut: int('WAITS_BENCH_FAN_OUT', 1_000),
};
if (config.wake > config.sleepers) throw new Error('WAITS_BENCH_WAKE cannot exceed WAITS_BENCH_SLEEPERS');

const quiet = { onError: (err: unknown, context: string) => log(`engine error (${context}): ${String(err)}`) };
const quietMachine = () => waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
const workflowKeys = benchWaitWorkflows.map((w) => w.key);

/** Where one measurement's data lives: a fresh data dir, or a fresh database on the server. */
interface Place {
  options: EngineOptions;
  /** The database's name on the server (its backends' CPU counts as "postgres"). */
  database?: string;
  drop(): Promise<void>;
}

async function freshPlace(backend: BackendName, label: string, settings: string[] = []): Promise<Place> {
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), `aries-bench-waits-${label}-`));
    return { options: { dataDir: join(dir, 'data') }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const db = await createServerDatabase(config.adminUrl, `waits_${label}`);
  for (const s of settings) await adminQuery(config.adminUrl, `ALTER DATABASE ${db.name} SET ${s}`);
  await adminQuery(config.adminUrl, 'CHECKPOINT'); // no measurement pays for the previous one's dirty pages
  return { options: { databaseUrl: db.url }, database: db.name, drop: db.drop };
}

async function open(place: Place): Promise<Engine> {
  return createEngine({ ...place.options, ...quiet });
}

async function registered(engine: Engine): Promise<void> {
  const worker = engine.worker({ workflows: benchWaitWorkflows });
  await worker.start();
  await worker.stop();
}

// ---- signal latency ---------------------------------------------------------------------------------

async function signalLatency(backend: BackendName): Promise<SignalLatencyResult[]> {
  const place = await freshPlace(backend, 'signal');
  const runner = await open(place);
  const other = backend === 'postgres' ? await open(place) : undefined;
  try {
    const worker = runner.worker({ workflows: benchWaitWorkflows, concurrency: config.concurrency });
    await worker.start();
    const senders: Sender[] =
      other === undefined
        ? [engineSender('engine.signal, the worker\'s engine', runner), sqlSender('aries.send_signal in an app transaction (engine.db)', runner.db)]
        : [
            engineSender('engine.signal, the worker\'s engine (in-process wake-up)', runner),
            engineSender('engine.signal, another engine (LISTEN/NOTIFY)', other),
            sqlSender('aries.send_signal in an app transaction, another pool (NOTIFY)', other.db),
          ];
    const results: SignalLatencyResult[] = [];
    try {
      for (const sender of senders) {
        await quietMachine();
        log(`${backend}: signal latency, ${sender.label}: ${config.signalSamples} samples …`);
        results.push(await measureSignalLatency(runner, worker, sender, { samples: config.signalSamples, warmup: config.signalWarmup, idleMs: 10 }));
      }
    } finally {
      await worker.stop();
    }
    return results;
  } finally {
    await other?.close();
    await runner.close();
    await place.drop();
  }
}

// ---- sleepers: claims, memory, wake-up --------------------------------------------------------------

interface SleepersRun {
  asleep: number;
  seedSeconds: number;
  claims: { none: ClaimCost; many: ClaimCost };
  plan: { none?: { ms: number; plan: string }; many?: { ms: number; plan: string } };
  memory: { none: WorkerMemory[]; many: WorkerMemory[] };
  wake: WakeUpResult;
  asleepAfterWake: number;
}

async function explain(place: Place): Promise<{ ms: number; plan: string } | undefined> {
  if (place.options.databaseUrl === undefined) return undefined;
  const client = new pg.Client({ connectionString: place.options.databaseUrl });
  await client.connect();
  try {
    return await explainIdleClaim(client, workflowKeys);
  } finally {
    await client.end();
  }
}

async function memory(place: Place): Promise<WorkerMemory[]> {
  const runs: WorkerMemory[] = [];
  for (let i = 0; i < config.rssRuns; i++) runs.push(await measureWorkerRss(place.options, config.rssSeconds));
  return runs;
}

async function sleepers(backend: BackendName): Promise<SleepersRun> {
  const place = await freshPlace(backend, 'sleepers');
  try {
    // None asleep: claims, then (the engine closed: a data dir has one holder) a worker's memory.
    let engine = await open(place);
    await registered(engine);
    await quietMachine();
    log(`${backend}: claims with none asleep …`);
    const none = await measureClaims(engine.db, workflowKeys, { idleCalls: config.idleClaims, takeOneCalls: config.takeOneClaims });
    const planNone = await explain(place);
    await engine.close();
    log(`${backend}: a worker's memory with none asleep …`);
    const memoryNone = await memory(place);

    engine = await open(place);
    log(`${backend}: putting ${fmt(config.sleepers)} executions to sleep …`);
    const s0 = performance.now();
    await seedSleepers(engine.db, config.sleepers, config.seedBatch, (done) => log(`  ${fmt(done)} asleep`));
    const seedSeconds = (performance.now() - s0) / 1000;
    // What autovacuum (server) or the engine's own maintenance (PGlite) does soon after such a change.
    for (const table of ['aries.executions', 'aries.steps', 'aries.waits', 'aries.journal']) await engine.db.exec(`VACUUM (ANALYZE) ${table}`);
    const asleep = await sleepingCount(engine.db);
    if (asleep !== config.sleepers) throw new Error(`${asleep} executions asleep, expected ${config.sleepers}`);
    await quietMachine();
    log(`${backend}: claims with ${fmt(asleep)} asleep …`);
    const many = await measureClaims(engine.db, workflowKeys, { idleCalls: config.idleClaims, takeOneCalls: config.takeOneClaims });
    const planMany = await explain(place);
    await engine.close();
    log(`${backend}: a worker's memory with ${fmt(asleep)} asleep …`);
    const memoryMany = await memory(place);

    engine = await open(place);
    try {
      await quietMachine();
      log(`${backend}: ${fmt(config.wake)} of them due at once, and as many without the sleep …`);
      const wake = await measureWakeUp(engine, config.wake, config.concurrency);
      const asleepAfterWake = await sleepingCount(engine.db);
      return {
        asleep,
        seedSeconds,
        claims: { none, many },
        plan: { none: planNone, many: planMany },
        memory: { none: memoryNone, many: memoryMany },
        wake,
        asleepAfterWake,
      };
    } finally {
      await engine.close();
    }
  } finally {
    await place.drop();
  }
}

// ---- children ---------------------------------------------------------------------------------------

interface FunctionTime {
  name: string;
  calls: number;
  totalMs: number;
  selfMs: number;
}

interface ChildrenRun {
  roundTrip: RoundTripResult;
  fanOut: FanOutResult;
  /** Server only: where the fan-out's database time went (pg_stat_user_functions). */
  functions: FunctionTime[];
}

const FUNCTION_TIMES = `SELECT funcname AS name, calls, total_time AS total_ms, self_time AS self_ms
                          FROM pg_stat_user_functions WHERE schemaname = 'aries' ORDER BY total_time DESC LIMIT 8`;

async function children(backend: BackendName): Promise<ChildrenRun> {
  const place = await freshPlace(backend, 'children', ["track_functions = 'all'"]);
  const engine = await open(place);
  let fanOut: FanOutResult;
  let roundTrip: RoundTripResult;
  try {
    const worker = engine.worker({ workflows: benchWaitWorkflows, concurrency: config.concurrency });
    await worker.start();
    try {
      await quietMachine();
      log(`${backend}: parent + child round trip, ${config.childSamples} samples …`);
      roundTrip = await measureRoundTrip(engine, { samples: config.childSamples, warmup: config.childWarmup });
      await quietMachine();
      log(`${backend}: ${fmt(config.fanOut)}-way fan-out …`);
      if (backend === 'postgres') await engine.db.query('SELECT pg_stat_reset()');
      fanOut = await measureFanOut(engine, config.fanOut);
    } finally {
      await worker.stop();
    }
  } finally {
    await engine.close();
  }
  try {
    // The pool's sessions have ended, so every backend's function counters have been flushed.
    const functions =
      backend === 'postgres'
        ? (await adminQuery<{ name: string; calls: string; total_ms: number; self_ms: number }>(place.options.databaseUrl!, FUNCTION_TIMES)).map((r) => ({
            name: r.name,
            calls: Number(r.calls),
            totalMs: Number(r.total_ms),
            selfMs: Number(r.self_ms),
          }))
        : [];
    return { roundTrip, fanOut, functions };
  } finally {
    await place.drop();
  }
}

// ---- report -----------------------------------------------------------------------------------------

interface BackendRun {
  backend: BackendName;
  signal: SignalLatencyResult[];
  sleepers: SleepersRun;
  children: ChildrenRun;
}

const cpu = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const mib = (bytes: number) => fmt(bytes / 2 ** 20, 1);
const label = (b: BackendName) => (b === 'pglite' ? 'pglite (data dir)' : 'postgres');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const buffers = (plan: string | undefined) => (plan === undefined ? undefined : Number(/Buffers: shared hit=(\d+)/.exec(plan)?.[1] ?? NaN));

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') || k.startsWith('WAITS_BENCH_'))
    .map(([k, v]) => `${k}=${/^[\w.,:/@-]*$/.test(v ?? '') ? v : JSON.stringify(v)}`);
  return [...env, 'npm run bench:waits'].join(' ');
}

function tables(runs: BackendRun[]): Table[] {
  const rss = (ms: WorkerMemory[]) => ms.map((m) => mib(m.rss)).join(' · ');
  return [
    {
      title: `Signal latency: send → the waiting workflow's next step begins (idle worker, concurrency ${config.concurrency}); baseline: start → the first step begins, same sender, alternating`,
      head: ['backend', 'sender', 'samples', 'p50 ms', 'p99 ms', 'mean ms', 'max ms', 'send call p50 ms', 'baseline p50 ms', 'baseline p99 ms', 'p50 ÷ baseline', 'other CPU'],
      rows: runs.flatMap((r) =>
        r.signal.map((s) => [
          label(r.backend),
          s.label,
          fmt(s.signal.samples),
          fmt(s.signal.p50, 2),
          fmt(s.signal.p99, 2),
          fmt(s.signal.mean, 2),
          fmt(s.signal.max, 2),
          fmt(s.send.p50, 2),
          fmt(s.start.p50, 2),
          fmt(s.start.p99, 2),
          ratio(s.signal.p50, s.start.p50),
          cpu(s.cpu.other),
        ]),
      ),
      notes: [
        'Each sample: an execution waits for the signal (WAITING, no lease owner: checked on the first), the worker idles 10 ms, then the signal is sent; the clock stops when the step after the wait begins in the worker.',
        'The time includes the send itself (its commit): "send call" is that part alone. The baseline is a 1-step execution started through the same path.',
      ],
    },
    {
      title: `Claims with executions asleep vs none: aries.claim_executions as a worker calls it (its ${workflowKeys.length} workflow keys, limit 16), in the same database before and after the sleepers`,
      head: ['backend', 'asleep', 'idle claims', 'idle p50 ms', 'idle p99 ms', 'idle mean ms', 'idle p50 ÷ none', 'take-one claims', 'take-one p50 ms', 'take-one p99 ms', 'take-one p50 ÷ none', 'statement buffers'],
      rows: runs.flatMap((r) => {
        const s = r.sleepers;
        const row = (asleep: number, c: ClaimCost, plan: { plan: string } | undefined) => [
          label(r.backend),
          fmt(asleep),
          fmt(c.idle.samples),
          fmt(c.idle.p50, 3),
          fmt(c.idle.p99, 3),
          fmt(c.idle.mean, 3),
          ratio(c.idle.p50, s.claims.none.idle.p50),
          fmt(c.takeOne.samples),
          fmt(c.takeOne.p50, 3),
          fmt(c.takeOne.p99, 3),
          ratio(c.takeOne.p50, s.claims.none.takeOne.p50),
          fmt(buffers(plan?.plan)),
        ];
        return [row(0, s.claims.none, s.plan.none), row(s.asleep, s.claims.many, s.plan.many)];
      }),
      notes: [
        'idle: nothing due (an idle worker\'s poll); take-one: one PENDING execution due (started before the call, cancelled after it). Round trips from this process through the engine\'s wrapper.',
        'Sleepers: each made by start_execution, claim_executions, begin_wait (a 1-day sleep) and await_waits, set-based, as a worker leaves an execution after `await ctx.sleep(…)`; then VACUUM (ANALYZE) of executions, steps, waits and journal.',
        ...runs.map((r) => `${label(r.backend)}: ${fmt(r.sleepers.asleep)} put to sleep in ${fmt(r.sleepers.seedSeconds, 1)} s.`),
        'statement buffers (server): shared buffers the claim\'s statement touched, from auto_explain (plan below).',
      ],
    },
    {
      title: `A worker's memory with executions asleep vs none: a fresh process, one worker of the benchmark's workflows at concurrency 16, polling ${config.rssSeconds} s with nothing due`,
      head: ['backend', 'asleep', 'RSS MiB (each run)', 'mean RSS ÷ none', 'peak RSS MiB', 'JS heap MiB', 'external MiB', 'claimed'],
      rows: runs.flatMap((r) => {
        const m = r.sleepers.memory;
        const none = mean(m.none.map((x) => x.rss));
        const row = (asleep: number, ms: WorkerMemory[]) => [
          label(r.backend),
          fmt(asleep),
          rss(ms),
          ratio(mean(ms.map((x) => x.rss)), none),
          mib(Math.max(...ms.map((x) => x.peakRss))),
          mib(mean(ms.map((x) => x.heapUsed))),
          mib(mean(ms.map((x) => x.external))),
          fmt(Math.max(...ms.map((x) => x.claimed))),
        ];
        return [row(0, m.none), row(r.sleepers.asleep, m.many)];
      }),
      notes: ['RSS and heap after a full GC (node --expose-gc) at the end; peak RSS sampled every 50 ms. On PGlite the worker\'s process holds the database (its WASM memory is "external").'],
    },
    {
      title: `Wake-up: executions made due by one commit, run to completion by one worker (concurrency ${config.concurrency}); baseline: as many executions of the same step without the sleep, due by one commit`,
      head: ['backend', 'asleep before', 'made due', 'due commit s', 'run s', 'woken/s', 'baseline run s', 'baseline/s', 'woken/s ÷ baseline', 'still asleep', 'node CPU', 'postgres CPU', 'other CPU'],
      rows: runs.map((r) => {
        const w = r.sleepers.wake;
        return [
          label(r.backend),
          fmt(r.sleepers.asleep),
          fmt(w.woken.executions),
          fmt(w.woken.dueSeconds, 2),
          fmt(w.woken.runSeconds, 2),
          fmt(w.woken.perSecond),
          fmt(w.baseline.runSeconds, 2),
          fmt(w.baseline.perSecond),
          ratio(w.woken.perSecond, w.baseline.perSecond),
          fmt(r.sleepers.asleepAfterWake),
          cpu(w.woken.cpu.node),
          cpu(w.woken.cpu.postgres),
          cpu(w.woken.cpu.other),
        ];
      }),
      notes: [
        `Scale: ${fmt(config.wake)} of the ${fmt(config.sleepers)} sleepers come due at once (one UPDATE of their wake time and available_at, NOTIFY on commit); the rest stay asleep meanwhile.`,
        'A woken execution is claimed, replays its journal, has its sleep settled (await_waits), runs its step and completes; the baseline is claimed, runs the step and completes.',
        'Timed from the commit that made them due to the last completion; the worker was started and idle before it.',
      ],
    },
    {
      title: `Child workflows: one engine, one worker at concurrency ${config.concurrency}`,
      head: ['backend', 'measure', 'samples / children', 'p50 ms or wall s', 'p99 ms', 'baseline', 'baseline p50 ms or wall s', '÷ baseline', 'parent claims', 'parent journal records', 'other CPU'],
      rows: runs.flatMap((r) => {
        const { roundTrip: t, fanOut: f } = r.children;
        return [
          [label(r.backend), 'parent + child round trip (start → result)', fmt(t.parent.samples), fmt(t.parent.p50, 2), fmt(t.parent.p99, 2), 'the 1-step child alone', fmt(t.single.p50, 2), ratio(t.parent.p50, t.single.p50), '–', '–', cpu(t.cpu.other)],
          [label(r.backend), `${fmt(f.children)}-way fan-out (start → result), s`, fmt(f.children), fmt(f.seconds, 2), '–', `${fmt(f.children)} executions started by the client`, fmt(f.baselineSeconds, 2), ratio(f.seconds, f.baselineSeconds), fmt(f.parentClaims), fmt(f.parentJournalRecords), cpu(f.cpu.other)],
        ];
      }),
      notes: [
        'Round trip: the parent starts one 1-step child (ctx.child) and returns its result; baseline (alternating with it): that child workflow started on its own.',
        `Fan-out: Promise.all over ${fmt(config.fanOut)} ctx.child calls, each child one step; baseline: the same ${fmt(config.fanOut)} executions started by 16 concurrent engine.start() calls and each awaited (first start → last result).`,
        'The children databases run with track_functions = all (the table below).',
      ],
    },
    ...runs
      .filter((r) => r.children.functions.length > 0)
      .map((r) => ({
        title: `Where the ${fmt(config.fanOut)}-way fan-out's database time went (${label(r.backend)}: pg_stat_user_functions, the fan-out's parent, children and baseline)`,
        head: ['function', 'calls', 'total ms', 'self ms', 'total ms per call'],
        rows: r.children.functions.map((f) => [f.name, fmt(f.calls), fmt(f.totalMs), fmt(f.selfMs), fmt(f.totalMs / f.calls, 3)]),
        notes: ['Wall-clock per call, concurrent calls overlapping: the total can exceed the run. Time waiting for a row lock counts in the function that waited.'],
      })),
  ];
}

async function main(): Promise<void> {
  const code = codeInfo();
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const runs: BackendRun[] = [];
  const versions: BackendVersions = {};
  for (const backend of config.backends) {
    await noteBackendVersion(versions, backend, config.adminUrl, quiet);
    const signal = await signalLatency(backend);
    const slept = await sleepers(backend);
    const kids = await children(backend);
    runs.push({ backend, signal, sleepers: slept, children: kids });
  }

  const machine = machineInfo(versions);
  const header = [
    ...describeMachine(machine),
    describeCode(code),
    `Date ${date}`,
    `Command: ${commandLine()}`,
    `PGlite: a fresh data dir under ${tmpdir()} per part; server: a fresh database per part (${config.adminUrl.replace(/\/\/[^@]*@/, '//')}), created and dropped by the bench, after a CHECKPOINT.`,
    `Before each measurement the bench waited (up to ${config.quietWaitSeconds} s) for other processes to use < ${config.quietThreshold} cores; "other CPU" columns show what they used during it.`,
  ];
  const all = tables(runs);
  const plans = runs
    .filter((r) => r.sleepers.plan.many !== undefined)
    .map((r) => [
      `**The idle claim's statement with ${fmt(r.sleepers.asleep)} asleep (${label(r.backend)}, auto_explain, ${fmt(r.sleepers.plan.many!.ms, 3)} ms):**`,
      '',
      '```',
      r.sleepers.plan.many!.plan.trim(),
      '```',
    ].join('\n'));
  presentRun({ title: 'durable waits', label: 'waits', date, code, header, tables: all, extras: plans }, config.writeResults, log);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
