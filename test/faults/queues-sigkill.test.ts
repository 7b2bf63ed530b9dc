/**
 * Queue limits exact under SIGKILL: a few hundred jobs over three queues (test/fixtures/
 * queues-fault-workflow.ts: one where the queue's concurrency binds, one where the per-key limit does,
 * one where the rate limit does; every one also limited per worker), random keys, steps of seeded random
 * length, some jobs sleeping between steps (a sleeping execution holds no slot), some failing TRANSIENT
 * once and retried. Worker processes (test/fixtures/queues-worker.ts) with short leases are SIGKILLed at
 * seeded random moments and replaced until every job has completed (test/helpers/queues-worker-processes.ts).
 *
 * On the server: four worker processes at once, one worker each. On PGlite one process at a time may
 * open the embedded data dir, so one process hosts four workers (four worker ids, each with its own
 * workerConcurrency) on one engine, and that process is SIGKILLed and restarted; kill times there are
 * read from this machine's clock, the one PGlite's clock_timestamp() reads in the child.
 *
 * Each step attempt logs its begin and end on the database clock; the judge (test/helpers/
 * queues-overlap-judge.ts) replays the log: at no instant more step attempts of a queue than its
 * concurrency, of a key than keyConcurrency, of a worker than workerConcurrency; no window of the rate's
 * period with more first starts than its limit; every job COMPLETED exactly once, nothing lost. The
 * maxima are printed, and the queue whose concurrency binds must have reached it (the test is not
 * vacuous). The seed is printed; ARIES_TEST_SEEDS=<seed> replays the same jobs and kill schedule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { Engine } from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { withEngine } from '../helpers/judging-engine.js';
import { judgeQueueRun, type QueueMaxima } from '../helpers/queues-overlap-judge.js';
import { runQueueWorkersWithKills, type QueueKillPlan, type QueueRunReport } from '../helpers/queues-worker-processes.js';
import { seededRandom, testSeeds, type SeededRandom } from '../helpers/seeded-random.js';
import { createTestDatabase } from '../helpers/server.js';
import { OVERLAP_DDL, QUEUE_SPECS, queueFaultWorkflows, type JobInput } from '../fixtures/queues-fault-workflow.js';

const [SEED] = testSeeds([Math.floor(Math.random() * 2 ** 31)]);
/**
 * 2 s on the server. On PGlite 6 s: the one process's event loop stalls for up to ~4 s at times (PGlite
 * runs in it, synchronously), and a worker whose lease lapses while its step still runs is outside what
 * any limit can hold (a lost lease does not stop the step's code; the judge would report it).
 */
const SERVER_LEASE_MS = '2000';
const PGLITE_LEASE_MS = '6000';

/** Draws every job of every queue, in a shuffled order of starts. */
function drawJobs(random: SeededRandom): JobInput[] {
  const jobs = QUEUE_SPECS.flatMap((spec) =>
    Array.from({ length: spec.jobs }, () => {
      const steps = random.int(1, 3);
      return {
        n: 0,
        queue: spec.name,
        key: `k${random.int(0, spec.keys - 1)}`,
        stepMs: Array.from({ length: steps }, () => random.int(20, 150)),
        sleepAfter: steps > 1 && random.next() < 0.35 ? random.int(0, steps - 2) : null,
        sleepMs: random.int(100, 800),
        failStep: random.next() < 0.2 ? random.int(0, steps - 1) : null,
      };
    }),
  );
  return random.shuffle(jobs).map((job, n) => ({ ...job, n }));
}

/** Starts every job with no worker running; returns the inputs by execution id. */
async function startJobs(engine: Engine, random: SeededRandom): Promise<Map<string, JobInput>> {
  await engine.db.exec(OVERLAP_DDL);
  const workflows = new Map(queueFaultWorkflows(engine, process.pid).map((wf) => [wf.name, wf]));
  const started = new Map<string, JobInput>();
  for (const job of drawJobs(random)) {
    const handle = await engine.start(workflows.get(`${job.queue}-job`)!, job, { queueKey: job.key });
    started.set(handle.id, job);
  }
  return started;
}

function summary(backend: string, report: QueueRunReport, maxima: Map<string, QueueMaxima>, jobs: number): string {
  const lines = QUEUE_SPECS.map((spec) => {
    const m = maxima.get(spec.name)!;
    const l = spec.limits;
    return (
      `  ${spec.name}: at once ${m.queue}/${l.concurrency} in the queue, ${m.key}/${l.keyConcurrency} per key, ` +
      `${m.worker}/${l.workerConcurrency ?? '∞'} per worker; ${l.rateLimit ? `first starts in one window ${m.rateWindow}/${l.rateLimit.limit}; ` : ''}` +
      `${m.intervals} step attempts, ${m.cutByKill} cut by a kill`
    );
  });
  const lost = report.stats.reduce((n, s) => n + Number(s.leaseLost ?? 0), 0);
  return (
    `[queues sigkill ${backend}] ARIES_TEST_SEEDS=${SEED}: ${jobs} jobs, ${report.spawned} processes, ${report.kills.length} SIGKILLs, ` +
    `${lost} leases lost by surviving workers\n${lines.join('\n')}`
  );
}

function expectReached(report: QueueRunReport, maxima: Map<string, QueueMaxima>, context: string): void {
  expect(report.kills.length, `SIGKILLs happened\n${context}`).toBeGreaterThanOrEqual(2);
  const conc = QUEUE_SPECS[0]!;
  expect(maxima.get(conc.name)!.queue, `${conc.name} reached its concurrency\n${context}`).toBe(conc.limits.concurrency);
  expect(maxima.get(conc.name)!.cutByKill + maxima.get('qf-keys')!.cutByKill + maxima.get('qf-rate')!.cutByKill, `some step was in flight at a kill\n${context}`).toBeGreaterThan(0);
}

describe('queue limits under SIGKILL [pglite]', () => {
  const plan: QueueKillPlan = { processes: 1, kills: 4, gapMs: [1_000, 4_000], minLifeMs: 1_500, timeoutMs: 140_000, stallMs: 50_000 };
  test(`one process of four workers at a time, ${plan.kills} SIGKILLs`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'aries-queues-sigkill-'));
    try {
      const dataDir = join(root, 'data');
      // The parent opens the data dir only while no worker process holds it: before and after them.
      const jobs = await withEngine({ dataDir }, (engine) => startJobs(engine, seededRandom(SEED!)));
      const env = { QF_DATA_DIR: dataDir, QF_WORKERS: '4', QF_LEASE_MS: PGLITE_LEASE_MS, QF_POLL_MS: '100' };
      const report = await runQueueWorkersWithKills(env, plan, seededRandom(SEED! + 1), () => Promise.resolve(Date.now() * 1000)).catch((err: Error) => {
        throw new Error(`ARIES_TEST_SEEDS=${SEED}: ${err.message}`);
      });
      const context = `ARIES_TEST_SEEDS=${SEED}\n${report.log.join('\n')}`;
      const maxima = await withEngine({ dataDir }, (engine) => judgeQueueRun(engine, QUEUE_SPECS, jobs, report.kills, context));
      console.log(summary('pglite', report, maxima, jobs.size));
      expectReached(report, maxima, context);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 180_000); // PGlite reopening its data dir after each SIGKILL is slow on a loaded machine
});

(serverEnabled() ? describe : describe.skip)('queue limits under SIGKILL [postgres]', () => {
  const plan: QueueKillPlan = { processes: 4, kills: 8, gapMs: [800, 2_500], minLifeMs: 500, timeoutMs: 100_000, stallMs: 20_000 };
  test(`four worker processes at once, ${plan.kills} SIGKILLs`, async () => {
    const db = await createTestDatabase('queues_sigkill');
    try {
      await withEngine({ databaseUrl: db.url }, async (engine) => {
        const jobs = await startJobs(engine, seededRandom(SEED!));
        const env = { QF_DATABASE_URL: db.url, QF_WORKERS: '1', QF_LEASE_MS: SERVER_LEASE_MS };
        const clock = async () => {
          const [row] = await engine.db.query<{ us: string }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text AS us`);
          return Number(row!.us);
        };
        const report = await runQueueWorkersWithKills(env, plan, seededRandom(SEED! + 1), clock).catch((err: Error) => {
          throw new Error(`ARIES_TEST_SEEDS=${SEED}: ${err.message}`);
        });
        const context = `ARIES_TEST_SEEDS=${SEED}\n${report.log.join('\n')}`;
        const maxima = await judgeQueueRun(engine, QUEUE_SPECS, jobs, report.kills, context);
        console.log(summary('postgres', report, maxima, jobs.size));
        expectReached(report, maxima, context);
      });
    } finally {
      await db.drop();
    }
  }, 150_000);
});
