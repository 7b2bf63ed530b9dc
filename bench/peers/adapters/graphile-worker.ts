/**
 * graphile-worker 0.18 (Node.js 22): its own schema (`graphile_worker`) installed by migrate(); batch
 * enqueue through WorkerUtils `addJobs` (1,000 a call); one runner at concurrency 16 with maxPoolSize 20,
 * woken by its LISTEN/NOTIFY. A finished job is deleted, so "completion visible" is its row gone. No
 * durable steps: the 10-step workload is n/a.
 */
import { Logger, makeWorkerUtils, run, type Runner, type Task, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { PeerAdapter, Place, WorkloadSettings } from '../adapter.js';

const BATCH = 1_000;
const silent = new Logger(() => () => {});

export function graphileWorkerAdapter(): PeerAdapter {
  let pool: pg.Pool;
  let utils: WorkerUtils;
  let settings: WorkloadSettings;
  let probeRunner: Runner | undefined;
  const runner = (taskList: Record<string, Task>) =>
    run({ pgPool: pool, concurrency: settings.concurrency, noHandleSignals: true, taskList, logger: silent });
  const remaining = async () => {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
    return rows[0]!.n;
  };
  return {
    async setup(place: Place, s: WorkloadSettings) {
      settings = s;
      pool = new pg.Pool({ connectionString: place.databaseUrl, max: s.pool });
      pool.on('error', (err) => console.error('graphile-worker pool:', err));
      pool.on('connect', (client) => client.on('error', (err) => console.error('graphile-worker client:', err)));
      utils = await makeWorkerUtils({ pgPool: pool });
      await utils.migrate();
    },
    async enqueue(n) {
      for (let from = 0; from < n; from += BATCH) {
        await utils.addJobs(Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => ({ identifier: 'job', payload: { i: from + k } })));
      }
    },
    async drain(n) {
      let done = 0;
      let resolve!: () => void;
      const all = new Promise<void>((r) => (resolve = r));
      const r = await runner({ job: async () => {} });
      r.events.on('job:success', () => {
        if (++done >= n) resolve();
      });
      await all;
      while ((await remaining()) > 0) await new Promise((res) => setTimeout(res, 1));
      await r.stop();
    },
    async startProbeWorker(started) {
      probeRunner = await runner({
        probe: async (payload) => {
          started((payload as { i: number }).i);
        },
      });
    },
    async probe(i) {
      const job = await probeRunner!.addJob('probe', { i });
      return String(job.id);
    },
    completedSql: 'SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs WHERE id = $1::bigint)',
    async stopProbeWorker() {
      await probeRunner?.stop();
    },
    async teardown() {
      await utils?.release();
      await pool?.end();
    },
  };
}
