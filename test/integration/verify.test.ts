/**
 * `aries verify` as a user runs it: the built CLI against fixture workflows, on embedded PGlite (per-run
 * data dirs in a temp dir given with --data-dir) and on the PostgreSQL server (--database-url of the server
 * itself: verify creates a database per run and drops it). Each verify run crashes worker processes for
 * real, so the cases are narrowed with --points and --steps to keep the file within a few minutes:
 *
 *   verify-saga      COMPENSATED after a PermanentError; crashes before a step and inside compensations
 *   verify-flaky     COMPLETED after one transient failure; a crash during the retry wait is reached,
 *                    the compensation points are not (and that is no failure)
 *   verify-drifting  broken on purpose (a step key from module state): recoveries end FAILED with a
 *                    NondeterminismError where the reference run COMPLETED, and verify exits 1
 *   verify-waits     a sleep, a signal wait (the signal given with --signal) and a child workflow: crashes
 *                    as each wait begins, while the execution is suspended on it, once it settled, and
 *                    in the child's run, each recovered with nothing lost, no step run twice, the signal
 *                    consumed once and the child started once
 *   verify-fan-out   a PERMANENT child failure compensates the parent: crashes as each child starts and
 *                    inside the saga that undoes the SUB_COMMITTED child (the parent's step and the
 *                    child's own compensation)
 *
 * Afterwards nothing verify made is left: no data dir in the temp dir, no aries_verify_* database. The
 * judge itself is also fed journals no correct engine writes (a completed step run again, compensations
 * out of order), since real crashes cannot show that it would notice them.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ChildReport, ExecutionReport } from '../../src/verify/execution-report.js';
import { judgeRecovery, type Reference } from '../../src/verify/judge-recovery.js';
import { summarizeJournal } from '../../src/verify/journal-summary.js';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { ADMIN_URL } from '../helpers/server.js';
import { hasStackTrace, killAllCliProcesses, runCli } from '../fixtures/cli-process.js';

const TEST_TIMEOUT_MS = 180_000;

interface Row {
  point: string;
  step: string | null;
  reached: boolean;
  status: string | null;
  valid: boolean | null;
  reruns: string[];
  compensations: string[];
  problems: string[];
}

interface VerifyJson {
  workflow: string;
  reference: {
    status: string;
    error: { name: string } | null;
    steps: string[];
    retried: string[];
    compensated: string[];
    waits: string[];
    children: string[];
    signals: { name: string; consumedBy: string | null }[];
  };
  rows: Row[];
  valid: boolean;
}

async function verifyDatabases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'aries_verify_%'");
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

const verify = (args: string[]) => runCli(['verify', ...args], { timeoutMs: TEST_TIMEOUT_MS - 10_000 });
const brief = (rows: Row[]) => rows.map((r) => [r.point, r.step, r.reached, r.status, r.valid]);

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries verify [${backend}]`, () => {
    let tmp: string;
    let store: string[];
    let databasesBefore: string[] = [];

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'aries-verify-test-'));
      store = backend === 'pglite' ? ['--data-dir', tmp] : ['--database-url', ADMIN_URL];
      if (backend === 'postgres') databasesBefore = await verifyDatabases();
    });

    afterAll(async () => {
      await killAllCliProcesses();
      rmSync(tmp, { recursive: true, force: true });
    });

    /** verify removed every store it made. */
    async function expectCleanedUp(): Promise<void> {
      if (backend === 'pglite') expect(readdirSync(tmp), 'data dirs left in --data-dir').toEqual([]);
      else expect((await verifyDatabases()).filter((d) => !databasesBefore.includes(d)), 'databases left on the server').toEqual([]);
    }

    test(
      "a reference run that ends FAILED is verify's failure (exit 3, naming the error), not a pass; with verifySetup the same workflow verifies",
      async () => {
        const failed = await verify(['test/fixtures/verify-own-table-no-setup.ts', 'verify-own-table', '--input', '{"order":"o-1"}', '--points', 'before-step', ...store]);
        expect(failed.code, failed.stderr).toBe(3);
        expect(failed.stderr).toMatch(/^aries: the reference run \(no crash\) ended FAILED \(.*verify_orders.*\): a workflow that fails without any crash cannot be verified/m);
        expect(failed.stdout).not.toMatch(/valid/);
        const ok = await verify(['test/fixtures/verify-own-table.ts', 'verify-own-table', '--input', '{"order":"o-1"}', '--points', 'before-step,after-step-commit', '--json', ...store]);
        expect(ok.code, ok.stderr).toBe(0);
        const out = JSON.parse(ok.stdout) as VerifyJson;
        expect(out.reference).toMatchObject({ status: 'COMPLETED', steps: ['reserve', 'record', 'confirm'] });
        expect(out.rows.filter((r) => r.reached).length).toBeGreaterThan(0);
        expect(out.valid).toBe(true);
        await expectCleanedUp();
      },
      TEST_TIMEOUT_MS,
    );

    test(
      'a compensated saga: crashes before a step and inside its compensations are all recovered validly, exit 0',
      async () => {
        const result = await verify([
          'test/fixtures/verify-saga.ts',
          'verify-saga',
          '--input',
          '{"order":"o-1"}',
          '--points',
          'before-step,during-retry-wait,during-compensation,after-compensation-effect',
          '--steps',
          'charge',
          '--json',
          ...store,
        ]);
        expect(result.code, result.stderr).toBe(0);
        const out = JSON.parse(result.stdout) as VerifyJson;
        expect(out.workflow).toBe('verify-saga@1');
        expect(out.reference).toMatchObject({
          status: 'COMPENSATED',
          error: { name: 'PermanentError' },
          steps: ['reserve', 'charge', 'ship'],
          retried: [],
          compensated: ['charge', 'reserve'],
        });
        expect(brief(out.rows)).toEqual([
          ['before-step', 'charge', true, 'COMPENSATED', true],
          ['during-retry-wait', null, false, null, null],
          ['during-compensation', 'charge', true, 'COMPENSATED', true],
          ['after-compensation-effect', 'charge', true, 'COMPENSATED', true],
        ]);
        // The step (or compensation) the crash interrupted ran again, once, with the next attempt.
        expect(out.rows.map((r) => r.reruns)).toEqual([['charge@2'], [], ['charge:compensation@2'], ['charge:compensation@2']]);
        for (const row of out.rows.filter((r) => r.reached)) expect(row.compensations).toEqual(['charge', 'reserve']);
        expect(out.valid).toBe(true);
        await expectCleanedUp();
      },
      TEST_TIMEOUT_MS,
    );

    test(
      'a step that fails transiently once: the crash during its retry wait is recovered; unreached points are no failure',
      async () => {
        const result = await verify([
          'test/fixtures/verify-flaky.ts',
          'verify-flaky',
          '--input',
          '{"n":1}',
          '--points',
          'after-step-commit,during-retry-wait,during-compensation',
          '--steps',
          'call',
          ...store,
        ]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const out = result.stdout;
        expect(out).toMatch(/^reference run of verify-flaky@1 \(no crash\): COMPLETED; steps load,call,save; retried call; compensated -$/m);
        expect(out).toMatch(/^POINT\s+STEP\s+REACHED\s+STATUS\s+VALID\s+RE-RUN\s+COMPENSATIONS\s+NOTE$/m);
        // Its completion commits with the next step's intent: that step is the one the crash interrupted.
        expect(out).toMatch(/^after-step-commit\s+call\s+yes\s+COMPLETED\s+yes\s+save@2\s+-$/m);
        // The retry was announced before the crash, so nothing ran more often than planned.
        expect(out).toMatch(/^during-retry-wait\s+call\s+yes\s+COMPLETED\s+yes\s+-\s+-$/m);
        expect(out).toMatch(/^during-compensation\s+-\s+no\s+-\s+-\s+-\s+-$/m);
        expect(out).toMatch(/^2 crash cases, 2 reached: all 2 recoveries valid; no step reached during-compensation$/m);
        await expectCleanedUp();
      },
      TEST_TIMEOUT_MS,
    );

    test(
      'waits: crashes as a sleep, a signal wait and a child begin, while suspended on them, once settled and in the child, all recovered validly',
      async () => {
        const result = await verify([
          'test/fixtures/verify-waits.ts',
          'verify-waits',
          '--input',
          '{"order":"o-1"}',
          '--signal',
          'approve={"by":"ana"}',
          '--points',
          'before-step,after-wait-begin,after-child-start,during-wait,after-wait-settle',
          '--steps',
          'cool-off,signal:approve:1,charge,capture',
          '--parallel',
          '4',
          '--json',
          ...store,
        ]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const out = JSON.parse(result.stdout) as VerifyJson;
        expect(out.reference).toMatchObject({
          status: 'COMPLETED',
          steps: ['load', 'finish'],
          waits: ['cool-off', 'signal:approve:1', 'charge'],
          children: ['charge:COMPLETED'],
          signals: [{ name: 'approve', consumedBy: 'signal:approve:1' }],
        });
        expect(brief(out.rows)).toEqual([
          // A step of the child: the worker running the child dies, and the next one runs the step again.
          ['before-step', 'capture', true, 'COMPLETED', true],
          ['after-wait-begin', 'cool-off', true, 'COMPLETED', true],
          ['after-wait-begin', 'signal:approve:1', true, 'COMPLETED', true],
          ['after-child-start', 'charge', true, 'COMPLETED', true],
          ['during-wait', 'cool-off', true, 'COMPLETED', true],
          ['during-wait', 'signal:approve:1', true, 'COMPLETED', true],
          ['during-wait', 'charge', true, 'COMPLETED', true],
          ['after-wait-settle', 'cool-off', true, 'COMPLETED', true],
          ['after-wait-settle', 'signal:approve:1', true, 'COMPLETED', true],
          ['after-wait-settle', 'charge', true, 'COMPLETED', true],
        ]);
        // Only the child's interrupted step ran again; a wait is resumed, never begun or run again.
        const reruns = Object.fromEntries(out.rows.map((r) => [`${r.point}:${r.step}`, r.reruns]));
        expect(reruns['before-step:capture']).toEqual(['charge/capture@2']);
        for (const point of ['after-child-start:charge', 'during-wait:signal:approve:1', 'during-wait:charge', 'after-wait-settle:signal:approve:1', 'after-wait-settle:charge']) {
          expect(reruns[point], point).toEqual([]);
        }
        expect(out.valid).toBe(true);
        await expectCleanedUp();
      },
      TEST_TIMEOUT_MS,
    );

    test(
      'a PERMANENT child failure compensates the parent: crashes as the children start and inside the saga that undoes the SUB_COMMITTED one',
      async () => {
        const result = await verify([
          'test/fixtures/verify-fan-out.ts',
          'verify-fan-out',
          '--input',
          '{"order":"o-2"}',
          '--points',
          'after-child-start,during-compensation,after-compensation-effect',
          '--steps',
          'pay,ship,debit',
          '--parallel',
          '4',
          '--json',
          ...store,
        ]);
        expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
        const out = JSON.parse(result.stdout) as VerifyJson;
        expect(out.reference).toMatchObject({
          status: 'COMPENSATED',
          error: { name: 'ChildWorkflowFailedError' },
          steps: ['reserve'],
          waits: ['pay', 'ship'],
          compensated: ['pay', 'reserve'],
          // The payment child is undone with the parent's saga; the failed shipping child is left as it ended (its failure is the parent's step's).
          children: ['pay:COMPENSATED', 'ship:FAILED'],
        });
        expect(brief(out.rows)).toEqual([
          ['during-compensation', 'pay', true, 'COMPENSATED', true],
          ['during-compensation', 'debit', true, 'COMPENSATED', true],
          ['after-compensation-effect', 'debit', true, 'COMPENSATED', true],
          ['after-child-start', 'pay', true, 'COMPENSATED', true],
          ['after-child-start', 'ship', true, 'COMPENSATED', true],
        ]);
        const reruns = Object.fromEntries(out.rows.map((r) => [`${r.point}:${r.step}`, r.reruns]));
        expect(reruns['during-compensation:pay']).toEqual([]);
        expect(reruns['during-compensation:debit']).toEqual(['pay/debit:compensation@2']);
        for (const row of out.rows) expect(row.compensations).toEqual(['pay', 'reserve']);
        expect(out.valid).toBe(true);
        await expectCleanedUp();
      },
      TEST_TIMEOUT_MS,
    );

    test(
      'a workflow whose step keys depend on state outside its journal: its recoveries are not valid, exit 1',
      async () => {
        const result = await verify(['test/fixtures/verify-drifting.ts', 'verify-drifting', '--points', 'after-step-commit', '--json', ...store]);
        expect(result.code, result.stderr).toBe(1);
        expect(hasStackTrace(result.stderr)).toBe(false);
        const out = JSON.parse(result.stdout) as VerifyJson;
        expect(out.reference).toMatchObject({ status: 'COMPLETED', steps: ['count', 'use-1', 'finish'] });
        expect(brief(out.rows)).toEqual([
          ['after-step-commit', 'count', true, 'FAILED', false],
          ['after-step-commit', 'use-1', true, 'FAILED', false],
          // The last completion commits with the execution's end: nothing is left to replay.
          ['after-step-commit', 'finish', true, 'COMPLETED', true],
        ]);
        for (const row of out.rows.slice(0, 2)) {
          expect(row.problems.join('\n')).toMatch(/^ended FAILED \(NondeterminismError: .*\); the reference run ended COMPLETED$/m);
        }
        expect(out.valid).toBe(false);
        await expectCleanedUp();
      },
      TEST_TIMEOUT_MS,
    );
  });
}

describe('aries verify: the command line', () => {
  test('an unknown crash point is a usage error (exit 2); an unknown workflow is UNKNOWN_WORKFLOW (exit 1); nothing is created', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'aries-verify-args-'));
    try {
      const badPoint = await verify(['test/fixtures/verify-saga.ts', 'verify-saga', '--points', 'before-step,mid-air', '--data-dir', tmp]);
      expect(badPoint.code).toBe(2);
      expect(badPoint.stderr).toMatch(/^aries: --points takes crash points separated by commas \(before-step, .*\); got "before-step,mid-air"$/m);

      const badName = await verify(['test/fixtures/verify-saga.ts', 'nope', '--data-dir', tmp]);
      expect(badName.code).toBe(1);
      expect(badName.stderr).toMatch(/^aries: UNKNOWN_WORKFLOW: module test\/fixtures\/verify-saga.ts exports no workflow nope \(it exports verify-saga@1\)$/m);
      expect(hasStackTrace(badName.stderr)).toBe(false);
      expect(readdirSync(tmp)).toEqual([]);

      const help = await verify(['--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/^Usage: aries verify <module> <workflow>\[@version\] \[options\]$/m);
      expect(help.stdout).toContain('CREATE DATABASE aries_verify_<random>');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('aries verify: judging a recovery from its journal', () => {
  type Entry = [kind: string, stepKey?: string, attempt?: number];

  function report(status: ExecutionReport['status'], entries: Entry[], steps: ExecutionReport['steps'] = []): ExecutionReport {
    const journal = entries.map(([kind, stepKey, attempt], i) => ({
      lsn: i + 1,
      prevLsn: i === 0 ? null : i,
      kind,
      stepKey: stepKey ?? null,
      attempt: attempt ?? null,
      checksumOk: true,
    }));
    const error = status === 'COMPLETED' ? null : { name: 'PermanentError', message: 'no' };
    return { executionId: 'e', status, error, lastLsn: journal.length, journal, steps, unrecoveredFailures: [], signals: [], children: [] };
  }
  const reference = (r: ExecutionReport): Reference => ({ report: r, summary: summarizeJournal(r.journal) });
  const started: Entry = ['execution_started'];

  const completedRef = reference(
    report('COMPLETED', [started, ['step_started', 'a', 1], ['step_completed', 'a', 1], ['step_started', 'b', 1], ['step_completed', 'b', 1], ['execution_completed']]),
  );

  test('the step the crash interrupted may run again once, with a higher attempt', () => {
    const recovered = report('COMPLETED', [
      started, ['step_started', 'a', 1], ['step_completed', 'a', 1], ['step_started', 'b', 1], // the crash: lsn 4
      ['step_started', 'b', 2], ['step_completed', 'b', 2], ['execution_completed'],
    ]);
    expect(judgeRecovery(completedRef, recovered, 4)).toEqual({ valid: true, problems: [], reruns: ['b@2'], compensations: [] });
  });

  test('a completed step that runs again, a step the crash did not interrupt, a broken checksum: each is reported', () => {
    const recovered = report('COMPLETED', [
      started, ['step_started', 'a', 1], ['step_completed', 'a', 1], // the crash: lsn 3
      ['step_started', 'a', 2], ['step_completed', 'a', 2], ['step_started', 'b', 1], ['step_completed', 'b', 1], ['execution_completed'],
    ]);
    recovered.journal[5]!.checksumOk = false;
    const judged = judgeRecovery(completedRef, recovered, 3);
    expect(judged.valid).toBe(false);
    expect(judged.problems).toEqual([
      'journal record 6 fails its checksum',
      'step a ran again after it had completed',
      'step a completed 2 times',
      'step a ran again after the crash, which had not interrupted it',
    ]);
  });

  test('a wait begun twice, a signal taken by the wrong wait or left, a signal sent twice, a child started twice: each is reported', () => {
    const withWaits = (entries: Entry[]) => {
      const r = report('COMPLETED', [started, ...entries, ['execution_completed']]);
      for (const rec of r.journal) if (rec.kind === 'step_waiting') rec.waitKind = rec.stepKey === 'kid' ? 'child' : 'signal';
      return r;
    };
    const child = (id: string): ChildReport => ({
      ...report('COMPLETED', [started, ['step_started', 'work', 1], ['step_completed', 'work', 1], ['execution_completed']]),
      executionId: id,
      stepKey: 'kid',
    });
    const once: Entry[] = [['step_waiting', 'signal:go:1', 1], ['step_completed', 'signal:go:1', 1], ['step_waiting', 'kid', 1], ['step_completed', 'kid', 1]];
    const taken = [{ id: '1', name: 'go', idempotencyKey: 'k1', consumedBy: 'signal:go:1' }];
    const ref = withWaits(once);
    ref.signals = taken;
    ref.children = [child('c1')];

    const recovered = withWaits(once);
    recovered.signals = taken;
    recovered.children = [child('c1')];
    expect(judgeRecovery(reference(ref), recovered, 3)).toEqual({ valid: true, problems: [], reruns: [], compensations: [] });

    const broken = withWaits([['step_waiting', 'signal:go:1', 1], ['step_waiting', 'signal:go:1', 1], ...once.slice(1)]);
    broken.signals = [
      { id: '1', name: 'go', idempotencyKey: 'k1', consumedBy: null },
      { id: '2', name: 'go', idempotencyKey: null, consumedBy: 'kid' },
    ];
    broken.children = [child('c1'), child('c2')];
    expect(judgeRecovery(reference(ref), broken, 3).problems).toEqual([
      'wait signal:go:1 began 2 times',
      'signal go (id 2) is consumed by kid, which is no signal wait that completed',
      'signal wait signal:go:1 completed without consuming a signal',
      "the mailbox holds 2 signals go; the reference run's held 1",
      'signal go #1 was consumed by no wait; in the reference run by signal:go:1',
      'child wait kid started 2 child executions',
    ]);
  });

  test("a child's own recovery is judged too: its completed step run again is reported under the child's key", () => {
    const parent = (kid: ChildReport) => {
      const r = report('COMPLETED', [started, ['step_waiting', 'kid', 1], ['step_completed', 'kid', 1], ['execution_completed']]);
      r.journal[1]!.waitKind = 'child';
      r.children = [kid];
      return r;
    };
    const kid = (entries: Entry[]): ChildReport => ({ ...report('COMPLETED', [started, ...entries, ['execution_completed']]), stepKey: 'kid' });
    const ref = parent(kid([['step_started', 'work', 1], ['step_completed', 'work', 1]]));
    const rerun = parent(kid([['step_started', 'work', 1], ['step_completed', 'work', 1], ['step_started', 'work', 2], ['step_completed', 'work', 2]]));
    const judged = judgeRecovery(reference(ref), rerun, 3); // the child had completed work (its LSN 3) when the crash came
    expect(judged.problems).toEqual([
      'child kid: step work ran again after it had completed',
      'child kid: step work completed 2 times',
      'child kid: step work ran again after the crash, which had not interrupted it',
    ]);
    expect(judged.reruns).toEqual(['kid/work@2']);
  });

  test('compensations out of reverse completion order, or one missing, are not valid', () => {
    const saga = (comps: Entry[]) =>
      report('COMPENSATED', [
        started, ['step_started', 'a', 1], ['step_completed', 'a', 1], ['step_started', 'b', 1], ['step_completed', 'b', 1],
        ['step_started', 'c', 1], ['step_failed', 'c', 1], ['execution_compensating'], ...comps, ['execution_compensated'],
      ]);
    const both: Entry[] = [['compensation_started', 'b', 1], ['compensation_completed', 'b', 1], ['compensation_started', 'a', 1], ['compensation_completed', 'a', 1]];
    const ref = reference(saga(both));
    expect(judgeRecovery(ref, saga(both), 8).valid).toBe(true);
    const swapped = judgeRecovery(ref, saga([...both.slice(2), ...both.slice(0, 2)]), 8);
    expect(swapped.problems).toEqual(['compensations ran in the order a, b; reverse completion order is b, a']);
    const missing = judgeRecovery(ref, saga(both.slice(0, 2)), 8);
    expect(missing.problems).toEqual(['compensations of a did not complete (in the reference run they did)']);
  });
});
