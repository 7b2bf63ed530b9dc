/**
 * Node faults in the failure model's own waits: a worker process SIGKILLed while its execution waits for a
 * retry's durable timer, and in the middle of a compensation (before it ran, and after it ran but before
 * its completion committed). A fresh worker process finishes the job from the journal.
 *
 *   retry wait      the retry happens once, not before its timer (judged on the database clock), and the
 *                   steps completed before it never run again;
 *   compensation    the execution ends COMPENSATED; every compensation completes exactly once in the journal,
 *                   in reverse completion order; the one interrupted after its effect ran again at most
 *                   once, with the same idempotency key and the next attempt; no step ran again. A
 *                   compensateInTransaction interrupted before its COMMIT left no effect: it ran to
 *                   completion once.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import type { CrashPoint } from '../../src/worker/crash-points.js';
import { serverEnabled, type BackendName } from '../helpers/backends.js';
import { CASE_TIMEOUT_MS, crashThenRecover, embeddedDataDirs, killAll, limiter, live, type Report } from '../helpers/crash-children.js';
import { createTestDatabase } from '../helpers/server.js';
import { RETRY_DELAY_MS } from '../fixtures/crash-workflow.js';

interface Case {
  workflow: 'crash-retrying' | 'crash-saga' | 'crash-tx-saga';
  point: CrashPoint;
  stepKey: string;
}

const CASES: Case[] = [
  { workflow: 'crash-retrying', point: 'during-retry-wait', stepKey: 'step-2' },
  { workflow: 'crash-saga', point: 'during-compensation', stepKey: 'step-2' },
  { workflow: 'crash-saga', point: 'after-compensation-effect', stepKey: 'step-2' },
  { workflow: 'crash-saga', point: 'during-compensation', stepKey: 'step-1' },
  { workflow: 'crash-saga', point: 'after-compensation-effect', stepKey: 'step-1' },
  // compensateInTransaction: the effect and its record commit together, so one killed before that COMMIT
  // left no effect, and the compensation ran to completion once, in its second attempt.
  { workflow: 'crash-tx-saga', point: 'after-compensation-effect', stepKey: 'step-2' },
  { workflow: 'crash-tx-saga', point: 'during-compensation', stepKey: 'step-1' },
];

async function crashAndRecover(connection: Record<string, string>, c: Case): Promise<Report> {
  const mine = new Set<ChildProcess>();
  try {
    const env = { ...connection, CRASH_WORKER_WORKFLOW: c.workflow, CRASH_WORKER_LEASE_MS: '1000', CRASH_WORKER_POLL_MS: '100' };
    return (await crashThenRecover(env, c.point, c.stepKey, mine)).report;
  } finally {
    killAll(mine);
  }
}

function check(c: Case, { atCrash, after }: Report): void {
  const effects = (key: string) => after.sideEffects.filter((e) => e.step_key === key);
  expect(after.journal.every((r) => r.checksumOk)).toBe(true);
  if (c.workflow === 'crash-retrying') {
    expect(atCrash.execution.status).toBe('PENDING'); // waiting for its timer, nobody holding it
    expect(after.execution.status).toBe('COMPLETED');
    expect(after.execution.output).toEqual([71, 72, 73]);
    expect(effects('step-1').map((e) => e.attempt)).toEqual([1]);
    expect(effects('step-2').map((e) => e.attempt)).toEqual([1, 2]);
    expect(effects('step-3').map((e) => e.attempt)).toEqual([1]);
    const retrying = after.journal.find((r) => r.kind === 'step_retrying')!;
    const retried = after.journal.find((r) => r.kind === 'step_started' && r.stepKey === 'step-2' && r.attempt === 2)!;
    const retryAt = new Date((retrying.payload as { retry_at: string }).retry_at).getTime();
    // Both times are the database's: the retry did not start before its timer.
    expect(new Date(retried.createdAt).getTime()).toBeGreaterThanOrEqual(retryAt);
    expect(retryAt - new Date(retrying.createdAt).getTime()).toBeGreaterThanOrEqual(RETRY_DELAY_MS - 1);
    return;
  }
  expect(atCrash.execution.status).toBe('COMPENSATING');
  expect(after.execution.status).toBe('COMPENSATED');
  // No step ran again: the saga's steps and its failing step each ran once.
  for (const key of ['step-1', 'step-2']) expect(effects(key).map((e) => e.attempt)).toEqual([1]);
  const completedCompensations = after.journal.filter((r) => r.kind === 'compensation_completed').map((r) => r.stepKey);
  expect(completedCompensations).toEqual(['step-2', 'step-1']); // reverse completion order, each once
  for (const key of ['step-1', 'step-2']) {
    const runs = effects(`compensate:${key}`);
    expect(new Set(runs.map((e) => e.idempotency_key))).toEqual(new Set([`${after.execution.id}:${key}:compensation`]));
    // A plain compensation's effect survives the crash after it ([1, 2]); a transactional one's rolls back ([2]).
    const interruptedAfterEffect = c.point === 'after-compensation-effect' && c.stepKey === key;
    const interrupted = (interruptedAfterEffect && c.workflow === 'crash-saga') ? [1, 2] : [2];
    expect(runs.map((e) => e.attempt), `runs of the compensation of ${key}`).toEqual(
      c.stepKey === key && (interruptedAfterEffect || c.point === 'during-compensation') ? interrupted : [1],
    );
  }
}

afterAll(() => killAll(live));

function describeBackend(name: BackendName, body: () => void): void {
  const block = name === 'postgres' && !serverEnabled() ? describe.skip : describe;
  block(`a worker killed while waiting to retry or while compensating; another finishes [${name}]`, body);
}

const title = '$workflow killed at $point of $stepKey';

describeBackend('pglite', () => {
  const dataDirFor = embeddedDataDirs('aries-sigkill-recovery-');
  const limit = limiter(2);
  test.concurrent.each(CASES)(
    title,
    (c) =>
      limit(async () => {
        const dataDir = dataDirFor(`${c.workflow}-${c.point}-${c.stepKey}`);
        check(c, await crashAndRecover({ CRASH_WORKER_DATA_DIR: dataDir }, c));
      }),
    CASE_TIMEOUT_MS,
  );
});

describeBackend('postgres', () => {
  const limit = limiter(3);
  test.concurrent.each(CASES)(
    title,
    (c) =>
      limit(async () => {
        const db = await createTestDatabase('sigkill-recovery');
        try {
          check(c, await crashAndRecover({ CRASH_WORKER_DATABASE_URL: db.url }, c));
        } finally {
          await db.drop();
        }
      }),
    CASE_TIMEOUT_MS,
  );
});
