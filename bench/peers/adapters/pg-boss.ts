/**
 * pg-boss 12 (Node.js 22): its own schema (`pgboss`) installed by start(); queues created with
 * `notify: true` and the instance with `useListenNotify: true`, so an idle worker is woken by NOTIFY;
 * enqueue in batches of 1,000 through `insert` (its batch enqueue); the
 * drain with 16 jobs in flight as `localConcurrency: 2` × `batchSize: 8` with `burstWhenBatchFull` (a full
 * batch fetches again at once; batchSize 1 would wait for NOTIFY or the poll between jobs); the idle probe
 * worker `batchSize: 1`, woken by NOTIFY. No durable steps: the 10-step workload is n/a.
 */
import { PgBoss } from 'pg-boss';
import type { PeerAdapter, Place, WorkloadSettings } from '../adapter.js';

const BATCH = 1_000;

export function pgBossAdapter(): PeerAdapter {
  let boss: PgBoss;
  let settings: WorkloadSettings;
  let probeWorker: string | undefined;
  return {
    async setup(place: Place, s: WorkloadSettings) {
      settings = s;
      boss = new PgBoss({ connectionString: place.databaseUrl, max: s.pool, useListenNotify: true });
      boss.on('error', (err: unknown) => console.error('pg-boss:', err));
      await boss.start();
      await boss.createQueue('jobs', { notify: true });
      await boss.createQueue('probe', { notify: true });
    },
    async enqueue(n) {
      for (let from = 0; from < n; from += BATCH) {
        await boss.insert('jobs', Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => ({ data: { i: from + k } })));
      }
    },
    async drain(n) {
      let done = 0;
      let resolve!: () => void;
      const all = new Promise<void>((r) => (resolve = r));
      const id = await boss.work('jobs', { localConcurrency: 2, batchSize: settings.concurrency / 2, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        done += jobs.length;
        if (done >= n) setImmediate(resolve);
      });
      await all;
      // The last handlers' completions commit after they return: wait until the table shows all of them.
      for (;;) {
        const [row] = (await boss.getDb().executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'jobs' AND state = 'completed'`)).rows as [{ n: number }];
        if (row.n >= n) break;
        await new Promise((r) => setTimeout(r, 1));
      }
      await boss.offWork('jobs', { id });
    },
    async startProbeWorker(started) {
      probeWorker = await boss.work<{ i: number }>('probe', { localConcurrency: settings.concurrency, batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
        started(job!.data.i);
      });
    },
    async probe(i) {
      const id = await boss.send('probe', { i });
      if (!id) throw new Error('pg-boss: send returned no id');
      return id;
    },
    completedSql: `SELECT 1 FROM pgboss.job WHERE name = 'probe' AND id = $1 AND state = 'completed'`,
    async stopProbeWorker() {
      if (probeWorker) await boss.offWork('probe', { id: probeWorker });
    },
    async teardown() {
      await boss?.stop({ graceful: false });
    },
  };
}
