/**
 * `npm run bench:queues`: what a queue's limits cost, on embedded PGlite and on a PostgreSQL server, each
 * figure next to a baseline measured in the same run (a ratio, never a wall-clock assertion):
 *
 *   claim throughput   executions claimed and completed per second by a fleet of workers, for: no queue
 *                      (the baseline), a global concurrency limit, 1,000 keys each keyConcurrency 1, a rate
 *                      limit high enough not to bind, and a binding one (the rate observed ≈ the limit)
 *                      (queue-throughput.ts)
 *   fairness           a backlog with one key holding 90 % of it under a global concurrency limit: what the
 *                      other keys' executions wait, against the same backlog in a plain FIFO queue, and the
 *                      hot key's own throughput (queue-fairness.ts)
 *
 * Prints tables and records them as a section of bench/RESULTS.md (machine, commit, date, command).
 * Environment: see bench/README.md ("Queues").
 */
import { tmpdir } from 'node:os';
import { noteBackendVersion, type BackendVersions } from './backend-versions.js';
import { commandLine, envInt } from './bench-env.js';
import { readConfig, type BackendName } from './config.js';
import { waitForQuiet } from './cpu-usage.js';
import { freshPlace } from './fresh-place.js';
import { codeInfo, machineInfo } from './machine.js';
import { measureFairness, type FairnessRun, type FairnessSettings } from './queue-fairness.js';
import { measureThroughput, type QueueCase, type ThroughputRun } from './queue-throughput.js';
import { describeCode, describeMachine, fmt, presentRun, type Table } from './report.js';

const log = (msg: string) => console.error(`[bench:queues] ${msg}`);

const base = readConfig();
const keyConcurrencyRaw = process.env.QUEUES_BENCH_FAIR_KEY_CONCURRENCY;
const config = {
  ...base,
  adminUrl: process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? base.adminUrl,
  workers: Math.max(1, envInt('QUEUES_BENCH_WORKERS', 3)),
  concurrency: Math.max(1, envInt('QUEUES_BENCH_CONCURRENCY', 8)),
  executions: Math.max(1, envInt('QUEUES_BENCH_EXECUTIONS', 3_000)),
  limit: Math.max(1, envInt('QUEUES_BENCH_LIMIT', 8)),
  keys: Math.max(2, envInt('QUEUES_BENCH_KEYS', 1_000)),
  rate: Math.max(1, envInt('QUEUES_BENCH_RATE', 50)),
  rateWindows: Math.max(2, envInt('QUEUES_BENCH_RATE_WINDOWS', 8)),
  backlog: Math.max(10, envInt('QUEUES_BENCH_BACKLOG', 20_000)),
  fairLimit: Math.max(1, envInt('QUEUES_BENCH_FAIR_LIMIT', 8)),
  fairKeyConcurrency: keyConcurrencyRaw === undefined || keyConcurrencyRaw === '' ? undefined : Math.max(1, envInt('QUEUES_BENCH_FAIR_KEY_CONCURRENCY', 1)),
};

const onError = (err: unknown, context: string) => log(`engine error (${context}): ${String(err)}`);
const quietMachine = () => waitForQuiet(config.quietThreshold, config.quietWaitSeconds, log);
const fleet = { workers: config.workers, concurrency: config.concurrency };

function cases(): QueueCase[] {
  const n = config.executions;
  return [
    { label: 'no queue (baseline)', executions: n },
    { label: `global concurrency ${config.limit}`, queue: { concurrency: config.limit }, executions: n },
    { label: `${fmt(config.keys)} keys, keyConcurrency 1`, queue: { keyConcurrency: 1 }, keyOf: `'k' || (i % ${config.keys})`, executions: n },
    { label: 'rate 1,000,000 / s (not binding)', queue: { rateLimit: 1_000_000, ratePeriodMs: 1_000 }, executions: n },
    { label: `rate ${fmt(config.rate)} / s (binding)`, queue: { rateLimit: config.rate, ratePeriodMs: 1_000 }, executions: config.rate * config.rateWindows },
  ];
}

interface BackendRun {
  backend: BackendName;
  throughput: ThroughputRun[];
  fairness: FairnessRun[];
}

async function runBackend(backend: BackendName): Promise<BackendRun> {
  const throughput: ThroughputRun[] = [];
  for (const c of cases()) {
    const place = await freshPlace(backend, config.adminUrl, 'queues');
    try {
      await quietMachine();
      log(`${backend}: throughput, ${c.label}, ${fmt(c.executions)} executions …`);
      throughput.push(await measureThroughput(place, c, fleet, onError));
    } finally {
      await place.drop();
    }
  }
  const fairness: FairnessRun[] = [];
  const settings: FairnessSettings = { executions: config.backlog, keys: config.keys, concurrency: config.fairLimit, keyConcurrency: config.fairKeyConcurrency };
  for (const keyed of [false, true]) {
    const place = await freshPlace(backend, config.adminUrl, 'fairness');
    try {
      await quietMachine();
      log(`${backend}: fairness, ${keyed ? 'hot key' : 'plain FIFO'}, ${fmt(config.backlog)} executions …`);
      fairness.push(await measureFairness(place, keyed, settings, fleet, onError));
    } finally {
      await place.drop();
    }
  }
  return { backend, throughput, fairness };
}

const cpu = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const label = (b: BackendName) => (b === 'pglite' ? 'pglite (data dir)' : 'postgres');

function tables(runs: BackendRun[]): Table[] {
  return [
    {
      title: `Claim throughput: 1-step executions made due by one commit, claimed and completed by ${config.workers} workers × concurrency ${config.concurrency}; baseline: no queue, same run`,
      head: ['backend', 'queue', 'executions', 'run s', 'executions/s', '÷ no queue', 'peak RUNNING', 'first starts span s', 'rate observed / s', 'node CPU', 'postgres CPU', 'other CPU'],
      rows: runs.flatMap((r) => {
        const baseline = r.throughput[0]!;
        return r.throughput.map((t) => [
          label(r.backend),
          t.label,
          fmt(t.executions),
          fmt(t.seconds, 2),
          fmt(t.perSecond),
          ratio(t.perSecond, baseline.perSecond),
          r.backend === 'pglite' ? '–' : fmt(t.peakRunning),
          fmt(t.startSpanSeconds, 2),
          t.observedRate === undefined ? '–' : fmt(t.observedRate, 1),
          cpu(t.cpu.node),
          cpu(t.cpu.postgres),
          cpu(t.cpu.other),
        ]);
      }),
      notes: [
        'Each row: a fresh data dir or database, an idle fleet, then one transaction of start_execution calls; timed from its commit to the last completion.',
        `Keys: execution i under key "k(i mod ${config.keys})". Rate limits count first starts in a sliding window (database clock).`,
        `rate observed: (executions − limit) ÷ (last first start − first first start), database clock: the rate beyond the first window (which starts at once); binding run sized to ${config.rateWindows} windows.`,
        'peak RUNNING (server): sampled by the bench every 20 ms over its own connection (a lower bound of the true peak); on PGlite the sample shares the one connection with the workers and saw none, so it is not shown.',
        'On the server each worker has its own engine (pool), as separate processes would; on PGlite they share the one engine that holds the data dir.',
      ],
    },
    {
      title: `Fairness: ${fmt(config.backlog)} executions due at once in one queue (global concurrency ${config.fairLimit}${config.fairKeyConcurrency === undefined ? ', keys unlimited' : `, keyConcurrency ${config.fairKeyConcurrency}`}), 90 % under one key; baseline: the same backlog in a plain FIFO queue, same run`,
      head: ['backend', 'queue', 'others p50 ms', 'others p99 ms', 'others p50 ÷ FIFO', 'others p99 ÷ FIFO', 'others all started s', 'hot p50 ms', 'hot key/s', 'hot key/s ÷ FIFO', 'all/s', 'run s', 'other CPU'],
      rows: runs.flatMap((r) => {
        const fifo = r.fairness[0]!;
        return r.fairness.map((f) => [
          label(r.backend),
          f.label,
          fmt(f.others.p50),
          fmt(f.others.p99),
          ratio(f.others.p50, fifo.others.p50),
          ratio(f.others.p99, fifo.others.p99),
          fmt(f.othersAllStartedSeconds, 2),
          fmt(f.hot.p50),
          fmt(f.hotPerSecond),
          ratio(f.hotPerSecond, fifo.hotPerSecond),
          fmt(f.totalPerSecond),
          fmt(f.seconds, 2),
          cpu(f.cpu.other),
        ]);
      }),
      notes: [
        `others: the ${fmt(config.backlog / 10)} executions (10 %) not under the hot key, spread over ${fmt(config.keys - 1)} keys (in FIFO: the same executions, no keys). Wait: the backlog's commit → started_at, both on the database clock.`,
        'The backlog is one transaction: every execution has the same created_at, and FIFO breaks the tie by id (random), so in the FIFO baseline the others are spread evenly through the backlog.',
        'hot key/s: its completions ÷ (commit → its last completion, database clock); all/s the same for every execution.',
      ],
    },
  ];
}

async function main(): Promise<void> {
  const code = codeInfo();
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const runs: BackendRun[] = [];
  const versions: BackendVersions = {};
  for (const backend of config.backends) {
    await noteBackendVersion(versions, backend, config.adminUrl, { onError });
    runs.push(await runBackend(backend));
  }
  const machine = machineInfo(versions);
  const header = [
    ...describeMachine(machine),
    describeCode(code),
    `Date ${date}`,
    `Command: ${commandLine('QUEUES_BENCH_', 'bench:queues')}`,
    `Sizes: throughput ${fmt(config.executions)} executions per case (binding rate: ${fmt(config.rate * config.rateWindows)}); fairness backlog ${fmt(config.backlog)}; ${config.workers} workers × concurrency ${config.concurrency}.`,
    `PGlite: a fresh data dir under ${tmpdir()} per measurement; server: a fresh database per measurement (${config.adminUrl.replace(/\/\/[^@]*@/, '//')}), created and dropped by the bench, after a CHECKPOINT.`,
    `Before each measurement the bench waited (up to ${config.quietWaitSeconds} s) for other processes to use < ${config.quietThreshold} cores; "other CPU" columns show what they used during it.`,
  ];
  presentRun({ title: 'queues', label: 'queues', date, code, header, tables: tables(runs) }, config.writeResults, log);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
