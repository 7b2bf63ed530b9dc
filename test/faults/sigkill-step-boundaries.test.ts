/**
 * A worker process killed with SIGKILL at every commit boundary of every step of a five-step workflow,
 * then a fresh worker process resuming the execution after the dead one's lease expires.
 *
 * For step k the crash points are (src/worker/crash-points.ts):
 *   before-step        intent journaled, side effect not run
 *   after-step-effect  side effect run, completion not committed
 *   after-step-commit  completion committed
 * The recovering process first reads what the crash left (journal and side effects), so the checks are
 * stated against that state, whatever the engine batches into one commit:
 *   - the crash happened where asked: steps before k completed, step k as the point says, no later effect;
 *   - a step completed at the crash is never run again (its one side effect stays the only one);
 *   - the step in flight at the crash (at most one) runs again at most once, under the same idempotency
 *     key and the attempt after the one its intent recorded;
 *   - every other step runs exactly once; the execution completes with the right output; every journal
 *     checksum holds and each step is completed exactly once.
 *
 * Each case uses its own database (a copy of a migrated template data dir on PGlite, a fresh database on the
 * server) and touches it only from child processes: PGlite allows one process per data dir, and the
 * recovering child reports everything the assertions need.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { CRASH_POINTS, type CrashPoint } from '../../src/worker/crash-points.js';
import { serverEnabled, type BackendName } from '../helpers/backends.js';
import { CASE_TIMEOUT_MS, crashThenRecover, embeddedDataDirs, killAll, limiter, live, type Snapshot } from '../helpers/crash-children.js';
import { createTestDatabase } from '../helpers/server.js';
import { expectedOutput, STEP_KEYS } from '../fixtures/crash-workflow.js';

const BASE = 7;

// The points a step passes on its way to completion (the retry and compensation points have their own test).
const STEP_POINTS: readonly CrashPoint[] = CRASH_POINTS.filter((p) => p === 'before-step' || p.startsWith('after-step'));
const CASES = STEP_POINTS.flatMap((point) => STEP_KEYS.map((stepKey, i) => ({ point, stepKey, k: i + 1 })));

const effectsOf = (snap: Snapshot, key: string) => snap.sideEffects.filter((e) => e.step_key === key);
const completedIn = (snap: Snapshot, key: string) =>
  snap.journal.some((r) => r.kind === 'step_completed' && r.stepKey === key);
/** The attempt of the last intent journaled for a step, if any survived. */
const intentIn = (snap: Snapshot, key: string) =>
  snap.journal.filter((r) => r.kind === 'step_started' && r.stepKey === key).at(-1)?.attempt ?? undefined;

/** Runs one crash and one recovery on `connection` (child env) and checks everything the report shows. */
async function crashAndRecover(
  backend: BackendName,
  connection: Record<string, string>,
  point: CrashPoint,
  stepKey: string,
  k: number,
): Promise<void> {
  const mine = new Set<ChildProcess>();
  try {
    await crashAndRecoverWith(mine, backend, connection, point, stepKey, k);
  } finally {
    killAll(mine);
  }
}

async function crashAndRecoverWith(
  mine: Set<ChildProcess>,
  backend: BackendName,
  connection: Record<string, string>,
  point: CrashPoint,
  stepKey: string,
  k: number,
): Promise<void> {
  const timing = { CRASH_WORKER_LEASE_MS: '1000', CRASH_WORKER_POLL_MS: '200', CRASH_WORKER_BASE: String(BASE) };

  const { executionId, report } = await crashThenRecover({ ...connection, ...timing }, point, stepKey, mine);
  const { atCrash, after, stats } = report;

  // The crash happened where it was asked to.
  for (const key of STEP_KEYS.slice(0, k - 1)) expect(completedIn(atCrash, key), `${key} completed before the crash`).toBe(true);
  for (const key of STEP_KEYS.slice(k)) expect(effectsOf(atCrash, key), `no effect of ${key} before the crash`).toEqual([]);
  const crashedStep = { completed: completedIn(atCrash, stepKey), effects: effectsOf(atCrash, stepKey).length };
  expect(crashedStep).toEqual({
    completed: point === 'after-step-commit',
    effects: point === 'before-step' ? 0 : 1,
  });
  // The intent survives the kill on both backends (on PGlite it is committed synchronously).
  expect(intentIn(atCrash, stepKey), `the intent of ${stepKey} was journaled`).toBe(1);

  // The execution finished with the right output; the journal is intact.
  expect(after.execution.status).toBe('COMPLETED');
  expect(after.execution.output).toEqual(expectedOutput({ base: BASE }));
  expect(after.journal.every((r) => r.checksumOk), 'every journal checksum holds').toBe(true);
  after.journal.forEach((r, i) => expect(r.prevLsn).toBe(i === 0 ? null : after.journal[i - 1]!.lsn));
  for (const key of STEP_KEYS) {
    expect(after.journal.filter((r) => r.kind === 'step_completed' && r.stepKey === key)).toHaveLength(1);
  }
  expect(after.journal.at(-1)?.kind).toBe('execution_completed');

  // Side effects: completed steps never again; the step in flight at most twice; the rest exactly once.
  const inFlight: string[] = [];
  for (const key of STEP_KEYS) {
    const before = effectsOf(atCrash, key);
    const now = effectsOf(after, key);
    const step = after.steps.find((s) => s.key === key);
    expect(new Set(now.map((e) => e.idempotency_key)), `idempotency keys of ${key}`).toEqual(new Set([`${executionId}:${key}`]));
    if (completedIn(atCrash, key)) {
      expect(now, `${key} completed before the crash and ran once`).toEqual(before);
      expect(before).toHaveLength(1);
    } else if (intentIn(atCrash, key) !== undefined || before.length > 0) {
      inFlight.push(key);
      expect(intentIn(atCrash, key), `${key} had its intent journaled before its side effect`).toBeDefined();
      const rerunAttempt = intentIn(atCrash, key)! + 1;
      expect(now.length, `${key} was in flight and ran at most twice`).toBeLessThanOrEqual(2);
      expect(now.slice(0, before.length)).toEqual(before);
      expect(now.slice(before.length).map((e) => e.attempt), `${key} ran again once, as the next attempt`).toEqual([rerunAttempt]);
      expect(step?.attempt).toBe(rerunAttempt);
    } else {
      expect(now.map((e) => e.attempt), `${key} ran once`).toEqual([1]);
    }
    expect(step?.status).toBe('COMPLETED');
  }
  expect(inFlight.length, 'at most one step in flight').toBeLessThanOrEqual(1);

  // The new worker resumed the execution (unless the crash came after it was already complete), replaying
  // what was committed and running the rest.
  const completedAtCrash = STEP_KEYS.filter((key) => completedIn(atCrash, key)).length;
  if (atCrash.execution.status === 'COMPLETED') {
    expect(stats.claimed).toBe(0);
    expect(after.execution.claimCount).toBe(1);
  } else {
    expect(atCrash.execution.status).toBe('RUNNING');
    expect(after.execution.claimCount).toBe(2);
    expect(after.leaseToken).toBe(2);
    expect(stats).toMatchObject({
      claimed: 1,
      completed: 1,
      stepsReplayed: completedAtCrash,
      stepsRun: STEP_KEYS.length - completedAtCrash,
    });
  }
}

afterAll(() => killAll(live));

function describeBackend(name: BackendName, body: () => void): void {
  const block = name === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`a worker killed at each step boundary resumes on another worker [${name}]`, body);
}

describeBackend('pglite', () => {
  const dataDirFor = embeddedDataDirs('aries-sigkill-');

  const limit = limiter(2);
  test.concurrent.each(CASES)(
    'killed at $point of $stepKey',
    ({ point, stepKey, k }) =>
      limit(async () => {
        const dataDir = dataDirFor(`${point}-${stepKey}`);
        await crashAndRecover('pglite', { CRASH_WORKER_DATA_DIR: dataDir }, point, stepKey, k);
      }),
    CASE_TIMEOUT_MS,
  );
});

describeBackend('postgres', () => {
  const limit = limiter(3);
  test.concurrent.each(CASES)(
    'killed at $point of $stepKey',
    ({ point, stepKey, k }) =>
      limit(async () => {
        const db = await createTestDatabase('sigkill');
        try {
          await crashAndRecover('postgres', { CRASH_WORKER_DATABASE_URL: db.url }, point, stepKey, k);
        } finally {
          await db.drop();
        }
      }),
    CASE_TIMEOUT_MS,
  );
});
