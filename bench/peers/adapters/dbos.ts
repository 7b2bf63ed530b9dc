/**
 * DBOS Transact (@dbos-inc/dbos-sdk 5, Node.js 22): its system schema (`dbos`) in the fresh database,
 * installed by launch() (and DBOSClient for the enqueue before it). Jobs: one `DBOSClient.enqueue` call per
 * job (DBOS has no batch enqueue; 16 in flight) into a queue that is registered only once they are all in,
 * with workerConcurrency 16 and the smallest polling interval it documents a knob for (minPollingIntervalMs
 * 10: its queues are polled, there is no LISTEN/NOTIFY). Pickup latency and the 10-step workflows use
 * DBOS.startWorkflow directly (no queue: the workflow starts in this process at once), 16 in flight.
 */
import { DBOS, DBOSClient } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import type { PeerAdapter, Place, WorkloadSettings } from '../adapter.js';

async function inFlight(n: number, parallel: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

let jobsDone = 0;
const job = DBOS.registerWorkflow(async (i: number) => DBOS.runStep(async () => { jobsDone++; return i; }, { name: 'only' }), { name: 'peers-job' });

let onProbeStart: (i: number) => void = () => {};
const probe = DBOS.registerWorkflow(async (i: number) => {
  onProbeStart(i);
  return DBOS.runStep(async () => i, { name: 'only' });
}, { name: 'peers-probe' });

let stepsPerWorkflow = 10;
const steps = DBOS.registerWorkflow(async (i: number) => {
  for (let s = 0; s < stepsPerWorkflow; s++) await DBOS.runStep(async () => i, { name: `s${s}` });
  return i;
}, { name: 'peers-steps' });

export function dbosAdapter(): PeerAdapter {
  let settings: WorkloadSettings;
  let place: Place;
  let client: DBOSClient | undefined;
  let launched = false;
  return {
    async setup(p: Place, s: WorkloadSettings) {
      settings = s;
      place = p;
      DBOS.setConfig({ name: 'peers', systemDatabaseUrl: p.databaseUrl, systemDatabasePoolSize: s.pool, runAdminServer: false, logLevel: 'error' });
      await DBOS.launch(); // installs the system schema; the jobs queue is registered only after the enqueue
      launched = true;
      client = await DBOSClient.create({ systemDatabaseUrl: p.databaseUrl, systemDatabasePoolSize: s.pool });
    },
    async enqueue(n) {
      await inFlight(n, settings.concurrency, (i) => client!.enqueue({ workflowName: 'peers-job', queueName: 'jobs' }, i));
    },
    async drain(n) {
      await DBOS.registerQueue('jobs', { workerConcurrency: settings.concurrency, minPollingIntervalMs: 10 });
      while (jobsDone < n) await new Promise((r) => setTimeout(r, 1));
      // The last workflows' SUCCESS commits after their step returns: wait until the table shows all of them.
      const db = new pg.Client({ connectionString: place.databaseUrl });
      await db.connect();
      try {
        for (;;) {
          const { rows } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM dbos.workflow_status WHERE name = 'peers-job' AND status = 'SUCCESS'`,
          );
          if (rows[0]!.n >= n) break;
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        await db.end();
      }
    },
    async startProbeWorker(started) {
      onProbeStart = started;
    },
    async probe(i) {
      const handle = await DBOS.startWorkflow(probe)(i);
      return handle.workflowID;
    },
    completedSql: `SELECT 1 FROM dbos.workflow_status WHERE workflow_uuid = $1 AND status = 'SUCCESS'`,
    async stopProbeWorker() {},
    async runWorkflows(n, s) {
      stepsPerWorkflow = s;
      await inFlight(n, settings.concurrency, async (i) => (await DBOS.startWorkflow(steps)(i)).getResult());
    },
    async teardown() {
      await client?.destroy();
      if (launched) await DBOS.shutdown();
    },
  };
}
