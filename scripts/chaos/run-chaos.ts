/**
 * One chaos run, start to verdict: a throwaway cluster; the chaos database migrated and its effect tables
 * made; `workers` worker processes; the planned executions started over the first 80% of the duration
 * while faults are injected for all of it; then the faults stop, stalled workers resume, and the drain
 * waits (up to drainMs) until every acknowledged execution has finished; the workers are stopped and the
 * judge reads what the run left. The cluster is removed at the end, whatever happened; its workers' logs
 * and the faults, one a line with the second of the run it came at (faults.log), stay in logDir.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type Workflow } from '../../src/index.js';
import { seededRandom } from '../../test/helpers/seeded-random.js';
import { createChaosCluster, WORKER_APPLICATION } from './cluster.js';
import { planExecutions } from './execution-plan.js';
import { FaultInjector, type FaultCounts } from './fault-injector.js';
import { judgeChaosRun, type Judgment } from './judge.js';
import type { ChaosOptions } from './options.js';
import { startExecutions } from './starter.js';
import { WorkerPool } from './worker-pool.js';
import { CHAOS_DDL, chaosWorkflows } from './workflows.js';

export interface ChaosResult {
  options: ChaosOptions;
  faults: FaultCounts;
  workersStarted: number;
  unexpectedExits: string[];
  startRetries: number;
  /** From the first start to the end of the drain. */
  elapsedMs: number;
  drainMs: number;
  judgments: Judgment[];
  failed: boolean;
  logDir: string;
  faultLog: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A run injects about one fault per this long (and at least 20 in a short run). */
const MEAN_GAP_MS = 3_000;

export async function runChaos(options: ChaosOptions, say: (line: string) => void = () => {}): Promise<ChaosResult> {
  const logDir = mkdtempSync(join(tmpdir(), 'aries-chaos-'));
  const cluster = await createChaosCluster();
  try {
    say(`throwaway cluster on 127.0.0.1:${cluster.server.port}; worker logs in ${logDir}`);
    const engine = await createEngine({ databaseUrl: cluster.url('chaos-starter'), vacuumIntervalMs: 0, onError: () => {}, onWarning: () => {} });
    try {
      await engine.db.exec(CHAOS_DDL);
      const workflows = new Map<string, Workflow<unknown, unknown>>(
        chaosWorkflows(engine, 'chaos-starter').map((wf) => [wf.name, wf as Workflow<unknown, unknown>]),
      );
      const random = seededRandom(options.seed);
      const plan = planExecutions(options.executions, random);
      const pool = new WorkerPool({
        size: options.workers,
        databaseUrl: cluster.url(WORKER_APPLICATION),
        leaseMs: options.leaseMs,
        concurrency: options.concurrency,
        logDir,
      });
      pool.start();
      const gap = Math.min(MEAN_GAP_MS, options.durationMs / 20);
      const faults = new FaultInjector(cluster, pool, seededRandom(options.seed ^ 0x5eed), options.leaseMs, gap);
      const began = Date.now();
      const faulting = faults.run();
      faulting.catch(() => {}); // awaited after the run; a restart that failed is thrown there
      const giveUpAt = began + options.durationMs + options.drainMs;
      const starting = startExecutions(engine, workflows, plan, options.durationMs * 0.8, giveUpAt);
      const progress = setInterval(() => say(`${Math.round((Date.now() - began) / 1000)}s: ${JSON.stringify(faults.counts)}`), 30_000);
      try {
        await sleep(options.durationMs);
        faults.stop();
        await faulting;
        writeFileSync(join(logDir, 'faults.log'), `${faults.log.join('\n')}\n`);
        say(`faults stopped: ${JSON.stringify(faults.counts)}; draining`);
        const starts = await starting;
        if (starts.errors.length > 0) say(`starts that failed and were tried again: ${starts.retried}, for instance: ${starts.errors.join(' | ')}`);
        const drainBegan = Date.now();
        await drain(engine, [...starts.acknowledged.values()], drainBegan + options.drainMs);
        const drainMs = Date.now() - drainBegan;
        const elapsedMs = Date.now() - began;
        await pool.stopAll();
        const judgments = await judgeChaosRun(cluster.url('chaos-judge'), plan, starts);
        return {
          options,
          faults: faults.counts,
          workersStarted: pool.started,
          unexpectedExits: pool.unexpectedExits,
          startRetries: starts.retried,
          elapsedMs,
          drainMs,
          judgments,
          failed: judgments.some((j) => j.severity === 'failure' && j.count > 0),
          logDir,
          faultLog: faults.log,
        };
      } finally {
        clearInterval(progress);
        faults.stop();
        await pool.stopAll();
      }
    } finally {
      await engine.close().catch(() => {});
    }
  } finally {
    await cluster.remove();
  }
}

/** Until every acknowledged execution is finished, or the deadline. */
async function drain(engine: Awaited<ReturnType<typeof createEngine>>, ids: string[], deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const [row] = await engine.db.query<{ open: number | string }>(
        `SELECT count(*) AS open FROM aries.executions
          WHERE id = ANY($1::uuid[]) AND status NOT IN ('COMPLETED', 'COMPENSATED', 'FAILED', 'CANCELLED')`,
        [ids],
      );
      if (Number(row!.open) === 0) return;
    } catch {
      // a last restart may still be settling
    }
    await sleep(500);
  }
}
