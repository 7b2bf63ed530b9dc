/**
 * Aries, from this repository: on the PostgreSQL server (databaseUrl, pool 20) or embedded (a PGlite data
 * dir, durability on). Jobs: engine.startMany in batches of 1,000, then one worker at concurrency 16; its
 * pickup is woken by LISTEN/NOTIFY on the server and in-process when the starter is the worker's engine.
 */
import { createEngine, defineWorkflow, type Engine, type Worker } from '../../../src/index.js';
import { finished } from '../../execution-driver.js';
import type { PeerAdapter, Place, WorkloadSettings } from '../adapter.js';

const BATCH = 1_000;

const job = defineWorkflow('peers-job', async (ctx, i: number) => ctx.step('only', () => i));

let onProbeStart: (i: number) => void = () => {};
const probeJob = defineWorkflow('peers-probe', async (ctx, i: number) => {
  onProbeStart(i);
  return ctx.step('only', () => i);
});

export function ariesAdapter(embedded: boolean): PeerAdapter {
  let engine: Engine;
  let settings: WorkloadSettings;
  let probeWorker: Worker | undefined;
  return {
    async setup(place: Place, s: WorkloadSettings) {
      settings = s;
      engine = embedded
        ? await createEngine({ dataDir: place.dataDir! })
        : await createEngine({ databaseUrl: place.databaseUrl, poolSize: s.pool });
    },
    async enqueue(n) {
      for (let from = 0; from < n; from += BATCH) {
        await engine.startMany(job, Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => from + k));
      }
    },
    async drain(n) {
      const worker = engine.worker({ workflows: [job], concurrency: settings.concurrency });
      await worker.start();
      await finished(worker, n);
      await worker.stop();
      if (worker.stats.completed !== n) throw new Error(`aries: ${JSON.stringify(worker.stats)} of ${n}`);
    },
    async startProbeWorker(started) {
      onProbeStart = started;
      probeWorker = engine.worker({ workflows: [probeJob], concurrency: settings.concurrency });
      await probeWorker.start();
    },
    async probe(i) {
      return (await engine.start(probeJob, i)).id;
    },
    completedSql: embedded ? undefined : `SELECT 1 FROM aries.executions WHERE id = $1 AND status = 'COMPLETED'`,
    async completed(id) {
      const rows = await engine.db.query(`SELECT 1 FROM aries.executions WHERE id = $1 AND status = 'COMPLETED'`, [id]);
      return rows.length > 0;
    },
    async stopProbeWorker() {
      await probeWorker?.stop();
    },
    async runWorkflows(n, steps) {
      const workflow = defineWorkflow('peers-steps', async (ctx, i: number) => {
        for (let s = 0; s < steps; s++) await ctx.step(`s${s}`, () => i);
        return i;
      });
      for (let from = 0; from < n; from += BATCH) {
        await engine.startMany(workflow, Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => from + k));
      }
      const worker = engine.worker({ workflows: [workflow], concurrency: settings.concurrency });
      await worker.start();
      await finished(worker, n);
      await worker.stop();
      if (worker.stats.completed !== n) throw new Error(`aries workflows: ${JSON.stringify(worker.stats)} of ${n}`);
    },
    async teardown() {
      await engine?.close();
    },
  };
}
