/**
 * The short form of `npm run chaos` (scripts/chaos/): the same run, for 60 s of faults and 300 executions
 * of the step, transactional and saga workflows, on three worker processes with a 1.5 s lease, while the
 * workers are SIGKILLed, stalled past their lease, their backends terminated and the cluster restarted in
 * immediate mode (also during a takeover). The judge's verdict must hold: nothing lost or stuck, no
 * completed step or compensation run again by the engine, every transactional row exactly once and by
 * the attempt that completed its step, every compensated saga compensated in reverse order, every journal
 * whole. Step bodies a resumed zombie started are reported by the judge, not asserted here: the worker
 * confirms its lease before each body (by its own clock, within three quarters of the lease), but the
 * effect log's statement that records the start can itself run late on a loaded machine, past the lease.
 *
 * Server only, on a throwaway cluster of its own (test/helpers/throwaway-postgres.ts), never the machine's
 * main server: the run restarts it. A machine without the PostgreSQL binaries skips this file with a
 * warning, except under CI, where that fails. ARIES_TEST_SEEDS=<seed> replays a failing run's seed (it is
 * in the failure message, with the run's table).
 */
import { rmSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { throwawayPostgresUnavailable } from '../helpers/throwaway-postgres.js';
import { formatChaosReport } from '../../scripts/chaos/report.js';
import { runChaos } from '../../scripts/chaos/run-chaos.js';

const unavailable = throwawayPostgresUnavailable();
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (unavailable && !ci) console.warn(`\n!! chaos-short is SKIPPED: ${unavailable}\n`);

const [seed] = testSeeds([seededRandom(Date.now() >>> 0).int(1, 2 ** 31)]);

(unavailable && !ci ? describe.skip : describe)('a short chaos run [postgres, a throwaway cluster]', () => {
  test(
    `loses nothing, re-runs no completed step, duplicates no transactional effect, keeps compensation order (seed ${seed})`,
    async () => {
      if (unavailable) throw new Error(`CI: a throwaway PostgreSQL server is needed and cannot run here: ${unavailable}`);
      const result = await runChaos({
        durationMs: 60_000,
        executions: 300,
        workers: 3,
        leaseMs: 1_500,
        concurrency: 6,
        seed: seed!,
        drainMs: 150_000,
      });
      const table = formatChaosReport(result);
      // The faults happened: a run that injected none would judge nothing.
      expect(result.faults.kill, table).toBeGreaterThan(0);
      expect(result.faults.stall, table).toBeGreaterThan(0);
      expect(result.faults.restart + result.faults.takeover, table).toBeGreaterThan(0);
      expect(result.faults.terminate, table).toBeGreaterThan(0);
      const count = (label: string) => result.judgments.find((j) => j.label === label)?.count;
      expect(count('executions started (acknowledged)'), table).toBe(300);
      const failures = result.judgments.filter((j) => j.severity === 'failure' && j.count > 0).map((j) => `${j.label}: ${j.count}`);
      expect(failures, table).toEqual([]);
      expect(result.failed, table).toBe(false);
      rmSync(result.logDir, { recursive: true, force: true }); // a failing run's worker logs stay, named in its table
    },
    330_000,
  );
});
