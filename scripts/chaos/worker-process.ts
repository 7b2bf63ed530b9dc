/**
 * One worker process of a chaos run: `node --import tsx scripts/chaos/worker-process.ts`. It opens the
 * engine on CHAOS_DATABASE_URL (waiting with backoff while the cluster is down or starting up, as it may
 * be right after a restart), runs the chaos workflows under the id chaos-<CHAOS_WORKER_INDEX>-<pid> until
 * SIGTERM, then stops the worker and exits 0. The run SIGKILLs it, SIGSTOPs it past its lease, restarts
 * its database and terminates its backends; whatever the engine reports meanwhile goes to stderr.
 *
 * It exits at once when its stdin closes: the run that started it is gone.
 *
 * Environment: CHAOS_DATABASE_URL, CHAOS_WORKER_INDEX, CHAOS_LEASE_MS, CHAOS_CONCURRENCY.
 * Output on stdout: { event: 'ready', pid, workerId } once the worker runs; { event: 'stopped', stats }.
 */
import { createEngine, type Engine, type Worker } from '../../src/index.js';
import { chaosWorkflows } from './workflows.js';

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const url = process.env.CHAOS_DATABASE_URL;
if (!url) throw new Error('set CHAOS_DATABASE_URL');
const workerId = `chaos-${process.env.CHAOS_WORKER_INDEX ?? 0}-${process.pid}`;
const concurrency = Number(process.env.CHAOS_CONCURRENCY ?? 8);

async function openEngine(): Promise<Engine> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await createEngine({
        databaseUrl: url,
        poolSize: concurrency + 4,
        vacuumIntervalMs: 0,
        onError: (err, context) => process.stderr.write(`${workerId}: ${context}: ${message(err)}\n`),
        onWarning: () => {},
      });
    } catch (err) {
      process.stderr.write(`${workerId}: cannot open the engine yet (${message(err)}), again in ${delay} ms\n`);
      await sleep(delay);
    }
  }
}

/** A worker that failed to start (its definitions not registered: the database went away) is not reused. */
async function startWorker(): Promise<{ engine: Engine; worker: Worker }> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const engine = await openEngine();
    const worker = engine.worker({
      workflows: chaosWorkflows(engine, workerId),
      id: workerId,
      concurrency,
      leaseMs: Number(process.env.CHAOS_LEASE_MS ?? 2_000),
      pollIntervalMs: 200,
      shutdownTimeoutMs: 2_000,
    });
    try {
      await worker.start();
      return { engine, worker };
    } catch (err) {
      process.stderr.write(`${workerId}: cannot start the worker yet (${message(err)}), again in ${delay} ms\n`);
      await worker.stop().catch(() => {});
      await engine.close().catch(() => {});
      await sleep(delay);
    }
  }
}

async function main(): Promise<void> {
  // The run holds our stdin open: when it closes, the run is gone and nobody will stop us.
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
  const stopping = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  const { engine, worker } = await startWorker();
  emit({ event: 'ready', pid: process.pid, workerId });
  await stopping;
  await worker.stop();
  emit({ event: 'stopped', stats: worker.stats });
  await engine.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${workerId} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
