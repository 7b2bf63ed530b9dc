import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { serverEnabled } from '../helpers/backends.js';
import { runExample } from '../helpers/run-example.js';
import { createTestDatabase } from '../helpers/server.js';

/**
 * examples/approval/main.ts runs as a user would run it, on both backends. Its day-long waits are never
 * waited out: two requests are decided by a signal well within the day, and the one left unanswered
 * has its timeout shortened by the workflow's own option (decisionTimeoutMs), on the database clock.
 */

const runMain = (env: Record<string, string>, cwd: string) => runExample('examples/approval/main.ts', env, cwd);

function expectApprovals(out: { code: number | null; stdout: string; stderr: string }): void {
  expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
  // Waiting holds nothing: two requests wait at once on a worker with one slot, with no lease owner.
  expect(out.stdout).toMatch(/^r-1 and r-2 wait at once on a worker with one slot: r-1 is WAITING, lease owner none$/m);
  // The timeout is the workflow's default: one day, computed on the database clock when the wait began.
  expect(out.stdout).toMatch(/^r-1: waits for "decision"; the wait times out 1 day after it began \(86400000 ms, on the database clock\)$/m);
  expect(out.stdout).toMatch(/^r-1: ana's decision sent \(signal \d+\); sent again with the same idempotency key: a duplicate, nothing stored$/m);
  expect(out.stdout).toMatch(/^r-1: APPROVED by ana \(escalated: no\)$/m);
  // aries.send_signal in the application's transaction: rolled back, no signal; committed, the workflow goes on.
  expect(out.stdout).toMatch(/^r-2: bob's decision rolled back \("bob may approve at most 1000"\): 0 signals in the mailbox, the execution still WAITING$/m);
  expect(out.stdout).toMatch(/^r-2: REJECTED by ana: the decision row and its signal committed together \(1 decision row\)$/m);
  // The unanswered request: its wait fails WAIT_TIMEOUT, the workflow catches it and escalates.
  expect(out.stdout).toMatch(/^r-3: nobody answered within 300 ms \(a day in production\): its wait FAILED with WAIT_TIMEOUT, escalated to carol$/m);
  expect(out.stdout).toMatch(/^r-3: APPROVED by carol \(escalated: yes\)$/m);
  // Each decision consumed exactly once, by the wait that took it (r-3's by its second wait for the name).
  expect(out.stdout).toMatch(/^mailbox of r-1: decision consumed by signal:decision:1$/m);
  expect(out.stdout).toMatch(/^mailbox of r-2: decision consumed by signal:decision:1$/m);
  expect(out.stdout).toMatch(/^mailbox of r-3: decision consumed by signal:decision:2$/m);
  expect(out.stdout).toMatch(/^ {2}r-3 → carol: ana did not answer: please decide$/m);
  expect(out.stdout).toContain('OK: three requests decided, each decision consumed exactly once; the unanswered one was escalated');
}

describe('examples/approval/main.ts', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'aries-approval-example-'));
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  test('on the embedded backend (data dir .aries-approval)', async () => {
    const out = await runMain({}, cwd);
    expect(out.stdout).toMatch(/^backend: embedded PGlite \(PGlite at .*\.aries-approval\)$/m);
    expectApprovals(out);
  }, 60_000);

  test.skipIf(!serverEnabled())('on a PostgreSQL server (DATABASE_URL)', async () => {
    const db = await createTestDatabase('example-approval');
    try {
      const out = await runMain({ DATABASE_URL: db.url }, cwd);
      expect(out.stdout).toMatch(/^backend: PostgreSQL server \(postgres:\/\/.*\)$/m);
      expectApprovals(out);
    } finally {
      await db.drop();
    }
  }, 60_000);
});
