/**
 * A worker process killed with SIGKILL at a step boundary of a parallel workflow (three chains of 1, 2 and
 * 3 steps started together, then a join; test/fixtures/parallel-crash-workflow.ts), then a fresh worker
 * process resuming the execution after the dead one's lease expires. The steps wait seeded delays, so
 * they complete (and take their journal positions) out of call order: recovery has to match each recorded
 * step by its key.
 *
 * Crash points (src/worker/crash-points.ts): before-step (intent journaled, side effect not run),
 * after-step-effect (effect run, completion not committed), after-step-commit (completion committed).
 * With chains running side by side, other steps may be in flight at the kill too. The checks:
 *   - the crash happened where asked (the named step's intent, effect and completion as the point says);
 *   - a step completed at the crash never runs again;
 *   - a step in flight at the crash (intent journaled, no completion) runs again at most once, under the
 *     same idempotency key and the attempt after its intent's;
 *   - every other step runs exactly once; the execution completes with the no-fault output; every journal
 *     checksum holds and each step is completed exactly once.
 *
 * Every step × point would be 21 cases per backend; a seeded sample of them runs (ARIES_TEST_SEEDS=<seed>
 * picks another sample and other delays; the seed is in the suite's title).
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { CRASH_POINTS, type CrashPoint } from '../../src/worker/crash-points.js';
import { serverEnabled, type BackendName } from '../helpers/backends.js';
import { CASE_TIMEOUT_MS, crashThenRecover, embeddedDataDirs, killAll, limiter, live, type Snapshot } from '../helpers/crash-children.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { createTestDatabase } from '../helpers/server.js';
import { PARALLEL_STEP_KEYS, parallelExpectedOutput } from '../fixtures/parallel-crash-workflow.js';

const BASE = 3;
const SEED = testSeeds([20261202])[0]!;
const CASES_PER_BACKEND = 5;

const STEP_POINTS: readonly CrashPoint[] = CRASH_POINTS.filter((p) => p === 'before-step' || p.startsWith('after-step'));
const ALL_CASES = STEP_POINTS.flatMap((point) => PARALLEL_STEP_KEYS.map((stepKey) => ({ point, stepKey })));
/** A seeded sample per backend, always including a kill of the join step and one of each point. */
function casesFor(backend: BackendName) {
  const rng = seededRandom(SEED + (backend === 'pglite' ? 0 : 1));
  for (;;) {
    const picked = rng.sample(ALL_CASES, CASES_PER_BACKEND);
    const points = new Set(picked.map((c) => c.point));
    if (points.size === STEP_POINTS.length && picked.some((c) => c.stepKey === 'join')) return picked;
  }
}

const effectsOf = (snap: Snapshot, key: string) => snap.sideEffects.filter((e) => e.step_key === key);
const completedIn = (snap: Snapshot, key: string) => snap.journal.some((r) => r.kind === 'step_completed' && r.stepKey === key);
const intentIn = (snap: Snapshot, key: string) =>
  snap.journal.filter((r) => r.kind === 'step_started' && r.stepKey === key).at(-1)?.attempt ?? undefined;

async function crashAndRecover(connection: Record<string, string>, point: CrashPoint, stepKey: string): Promise<void> {
  const mine = new Set<ChildProcess>();
  try {
    const timing = {
      CRASH_WORKER_LEASE_MS: '1000',
      CRASH_WORKER_POLL_MS: '200',
      CRASH_WORKER_BASE: String(BASE),
      CRASH_WORKER_SEED: String(SEED),
      CRASH_WORKER_WORKFLOW: 'crash-parallel-chains',
    };
    const { executionId, report } = await crashThenRecover({ ...connection, ...timing }, point, stepKey, mine);
    const { atCrash, after, stats } = report;

    // The crash happened where it was asked to.
    expect({ completed: completedIn(atCrash, stepKey), effects: effectsOf(atCrash, stepKey).length }).toEqual({
      completed: point === 'after-step-commit',
      effects: point === 'before-step' ? 0 : 1,
    });
    expect(intentIn(atCrash, stepKey), `the intent of ${stepKey} was journaled`).toBe(1);

    // The execution finished with the no-fault output; the journal is intact.
    const where = `seed ${SEED}, killed at ${point}:${stepKey}`;
    expect(after.execution.status, `${where}: ${JSON.stringify(after.execution.error)}`).toBe('COMPLETED');
    expect(after.execution.output).toEqual(parallelExpectedOutput({ base: BASE }));
    expect(after.journal.every((r) => r.checksumOk), 'every journal checksum holds').toBe(true);
    after.journal.forEach((r, i) => expect(r.prevLsn).toBe(i === 0 ? null : after.journal[i - 1]!.lsn));
    for (const key of PARALLEL_STEP_KEYS) {
      expect(after.journal.filter((r) => r.kind === 'step_completed' && r.stepKey === key), `completions of ${key}`).toHaveLength(1);
    }
    expect(after.journal.at(-1)?.kind).toBe('execution_completed');

    // Side effects: completed steps never again; a step in flight at most once more; the rest exactly once.
    for (const key of PARALLEL_STEP_KEYS) {
      const before = effectsOf(atCrash, key);
      const now = effectsOf(after, key);
      const step = after.steps.find((s) => s.key === key);
      expect(new Set(now.map((e) => e.idempotency_key)), `idempotency keys of ${key}`).toEqual(new Set([`${executionId}:${key}`]));
      if (completedIn(atCrash, key)) {
        expect(before, `${key} completed before the crash, once`).toHaveLength(1);
        expect(now, `${key} never ran again`).toEqual(before);
      } else if (intentIn(atCrash, key) !== undefined) {
        const rerun = intentIn(atCrash, key)! + 1;
        expect(before.length, `${key} was in flight: at most one effect before the crash`).toBeLessThanOrEqual(1);
        expect(now.slice(0, before.length)).toEqual(before);
        expect(now.slice(before.length).map((e) => e.attempt), `${key} ran again once, as the next attempt`).toEqual([rerun]);
        expect(step?.attempt).toBe(rerun);
      } else {
        expect(before, `${key} had no effect before its intent`).toEqual([]);
        expect(now.map((e) => e.attempt), `${key} ran once`).toEqual([1]);
      }
      expect(step?.status).toBe('COMPLETED');
    }

    const completedAtCrash = PARALLEL_STEP_KEYS.filter((key) => completedIn(atCrash, key)).length;
    if (atCrash.execution.status === 'COMPLETED') {
      expect(stats.claimed).toBe(0);
    } else {
      expect(after.execution.claimCount).toBe(2);
      expect(stats).toMatchObject({
        claimed: 1,
        completed: 1,
        stepsReplayed: completedAtCrash,
        stepsRun: PARALLEL_STEP_KEYS.length - completedAtCrash,
      });
    }
  } finally {
    killAll(mine);
  }
}

afterAll(() => killAll(live));

function describeBackend(name: BackendName, body: () => void): void {
  const block = name === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`a worker killed at a step boundary of parallel chains resumes on another worker (seed ${SEED}) [${name}]`, body);
}

describeBackend('pglite', () => {
  const dataDirFor = embeddedDataDirs('aries-sigkill-parallel-');

  const limit = limiter(2);
  test.concurrent.each(casesFor('pglite'))(
    'killed at $point of $stepKey',
    ({ point, stepKey }) =>
      limit(async () => {
        const dataDir = dataDirFor(`${point}-${stepKey}`);
        await crashAndRecover({ CRASH_WORKER_DATA_DIR: dataDir }, point, stepKey);
      }),
    CASE_TIMEOUT_MS,
  );
});

describeBackend('postgres', () => {
  const limit = limiter(3);
  test.concurrent.each(casesFor('postgres'))(
    'killed at $point of $stepKey',
    ({ point, stepKey }) =>
      limit(async () => {
        const db = await createTestDatabase('sigkill_parallel');
        try {
          await crashAndRecover({ CRASH_WORKER_DATABASE_URL: db.url }, point, stepKey);
        } finally {
          await db.drop();
        }
      }),
    CASE_TIMEOUT_MS,
  );
});
