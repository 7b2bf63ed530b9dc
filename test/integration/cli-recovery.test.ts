/**
 * The operator's recovery commands of the built `aries` CLI as real processes, on both backends, with a
 * worker process running test/fixtures/cli-recovery-workflows.ts: `aries failures` lists what failed,
 * `aries recover` resumes a FAILED execution from its last valid checkpoint once the cause is fixed
 * (without running its completed steps again), and `aries retry` runs a waiting retry now. Each workflow
 * counts its steps' runs in files under a directory named in its input.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createEngine, type EngineOptions } from '../../src/index.js';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { useCliWorker } from '../helpers/cli-worker.js';
import { hasStackTrace, runCli } from '../fixtures/cli-process.js';

const FIXTURE = 'test/fixtures/cli-recovery-workflows.ts';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

function json<T = any>(text: string): T {
  return JSON.parse(text) as T;
}

/** How many times the fixture ran step `key` with this directory in its input. */
function runs(dir: string, key: string): number {
  const file = join(dir, `${key}.runs`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries failures / recover / retry [${backend}]`, () => {
    const place = useCliWorker(backend, { name: 'cli-recovery', fixture: FIXTURE, workerArgs: ['--concurrency', '4'], workflows: ['cli-fixable@1', 'cli-patient@1', 'cli-blocking@1', 'cli-exhausted@1', 'cli-first-fails@1'] });
    let dirs = 0;

    /** A fresh directory for one execution's run counters and flag files. */
    const newDir = (): string => {
      const dir = join(place.tmp, `run-${++dirs}`);
      mkdirSync(dir);
      return dir;
    };

    const cli = (args: string[]) => runCli([...args, ...place.connection]);

    /** Polls `aries status --json` until the execution is `status`; fails at another final status. */
    async function waitForStatus(id: string, status: string, timeoutMs = 30_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const shown = await cli(['status', id, '--json']);
        expect(shown.code, shown.stderr).toBe(0);
        const detail = json(shown.stdout);
        if (detail.execution.status === status) return detail;
        if (['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED'].includes(detail.execution.status) || Date.now() > deadline) {
          throw new Error(`execution ${id} is ${detail.execution.status}, expected ${status}:\n${shown.stdout}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    /** How this process opens the suite's database: on PGlite the worker process holds the data dir, so this process goes through it. */
    const engineOptions = (): EngineOptions =>
      place.dataDir !== undefined ? { dataDir: place.dataDir, ifDataDirHeld: 'connect' } : { databaseUrl: place.databaseUrl! };

    /** The journal's step_started records of an execution, per step key (read by an engine in this process). */
    async function stepStarts(id: string): Promise<Record<string, number>> {
      const engine = await createEngine({ ...engineOptions(), onError: () => {} });
      try {
        const counts: Record<string, number> = {};
        for (const r of (await engine.admin.readJournal(id)).records) {
          if (r.kind === 'step_started' && r.stepKey !== null) counts[r.stepKey] = (counts[r.stepKey] ?? 0) + 1;
        }
        return counts;
      } finally {
        await engine.close();
      }
    }

    async function startFailing(dir: string): Promise<string> {
      const started = await cli(['start', 'cli-fixable', '--input', JSON.stringify({ dir }), '--wait']);
      expect(started.code).toBe(1);
      expect(started.stderr).toMatch(/^aries: EXECUTION_FAILED: execution \S+ failed: PermanentError: the cause is not fixed yet$/m);
      expect(hasStackTrace(started.stderr)).toBe(false);
      return /execution (\S+) started/.exec(started.stderr)![1]!;
    }

    test('a PERMANENT failure is listed; once the cause is fixed, recover resumes from the checkpoint and the completed step does not run again', async () => {
      const dir = newDir();
      const id = await startFailing(dir);
      expect([runs(dir, 'prepare'), runs(dir, 'finish')]).toEqual([1, 1]);

      const table = await cli(['failures', '--execution', id]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(/^TIME\s+EXECUTION\s+TYPE\s+SOURCE\s+STRATEGY\s+RECOVERED\s+STEP\s+ATTEMPT\s+MESSAGE$/m);
      expect(table.stdout).toMatch(
        new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+\\s+${id}\\s+PERMANENT\\s+step\\s+rollback\\s+no\\s+finish\\s+1\\s+PermanentError: the cause is not fixed yet$`, 'm'),
      );
      const all = await cli(['failures']);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toContain(id);

      const unrecovered = await cli(['failures', '--unrecovered', '--json', '--limit', '10']);
      expect(unrecovered.code, unrecovered.stderr).toBe(0);
      const failures = json<any[]>(unrecovered.stdout);
      expect(failures.filter((f) => f.executionId === id)).toEqual([
        expect.objectContaining({
          executionId: id,
          type: 'PERMANENT',
          recoveryStrategy: 'rollback',
          recovered: false,
          source: 'step',
          stepKey: 'finish',
          attempt: 1,
          errorClass: 'PermanentError',
          message: 'the cause is not fixed yet',
          retriesExhausted: false,
          recoveredBy: null,
        }),
      ]);

      // Recovering from a failure of another type finds none.
      const wrongType = await cli(['recover', id, '--type', 'TRANSIENT']);
      expect(wrongType.code).toBe(1);
      expect(wrongType.stderr).toMatch(new RegExp(`^aries: NO_FAILURE_TO_RECOVER: execution ${id} has no unrecovered TRANSIENT failure`));

      writeFileSync(join(dir, 'fixed'), '');
      const recovered = await cli(['recover', id]);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.stdout).toMatch(new RegExp(`^recovered execution ${id} from checkpoint ${UUID}$`, 'm'));
      expect(recovered.stdout).toMatch(/^failure\s+PERMANENT \(rollback\) at step "finish" attempt 1: PermanentError: the cause is not fixed yet$/m);
      expect(recovered.stdout).toMatch(/^status\s+FAILED -> (PENDING|RUNNING|COMPLETED)$/m);

      const detail = await waitForStatus(id, 'COMPLETED');
      expect(detail.execution.output).toBe('prepared, then finished');
      expect(detail.steps.map((s: any) => [s.key, s.status, s.attempt])).toEqual([
        ['prepare', 'COMPLETED', 1],
        ['finish', 'COMPLETED', 2],
      ]);
      expect([runs(dir, 'prepare'), runs(dir, 'finish')]).toEqual([1, 2]);
      expect(await stepStarts(id)).toEqual({ prepare: 1, finish: 2 });

      const after = await cli(['failures', '--execution', id, '--json']);
      expect(json<any[]>(after.stdout)).toEqual([expect.objectContaining({ recovered: true, recoveredBy: 'operator' })]);
      const none = await cli(['failures', '--execution', id, '--unrecovered']);
      expect(none.stdout).toBe('no unrecovered failures\n');

      // Nothing is left to recover, and a COMPLETED execution is not retried.
      const again = await cli(['recover', id]);
      expect(again.code).toBe(1);
      expect(again.stdout).toBe('');
      expect(again.stderr).toMatch(new RegExp(`^aries: ILLEGAL_TRANSITION: execution ${id} is COMPLETED: it is finished, there is nothing to recover`));
      expect(hasStackTrace(again.stderr)).toBe(false);
      const retried = await cli(['retry', id]);
      expect(retried.code).toBe(1);
      expect(retried.stderr).toMatch(new RegExp(`^aries: ILLEGAL_TRANSITION: execution ${id} is COMPLETED: `));
    });

    test('retry of a FAILED execution recovers it (--json); it fails again until the fix, then recover --type --json completes it', async () => {
      const dir = newDir();
      const id = await startFailing(dir);

      const retried = await cli(['retry', id, '--json']);
      expect(retried.code, retried.stderr).toBe(0);
      const outcome = json(retried.stdout);
      expect(outcome).toMatchObject({ id, previousStatus: 'FAILED', failure: { type: 'PERMANENT', stepKey: 'finish', attempt: 1 } });
      expect(outcome.checkpointId).toMatch(new RegExp(`^${UUID}$`));
      // The cause is not fixed: it fails again, at the same step only.
      await waitForStatus(id, 'FAILED');
      expect([runs(dir, 'prepare'), runs(dir, 'finish')]).toEqual([1, 2]);

      writeFileSync(join(dir, 'fixed'), '');
      const recovered = await cli(['recover', id, '--type', 'permanent', '--json']);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(json(recovered.stdout)).toMatchObject({ id, previousStatus: 'FAILED', failure: { type: 'PERMANENT', attempt: 2 } });
      await waitForStatus(id, 'COMPLETED');
      expect([runs(dir, 'prepare'), runs(dir, 'finish')]).toEqual([1, 3]);
      expect(await stepStarts(id)).toEqual({ prepare: 1, finish: 3 });
    });

    test('a failure whose retries ran out is marked in the table and the JSON', async () => {
      const started = await cli(['start', 'cli-exhausted', '--wait']);
      expect(started.code).toBe(1);
      const id = /execution (\S+) started/.exec(started.stderr)![1]!;

      const table = await cli(['failures', '--execution', id]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(new RegExp(`^\\S+\\s+${id}\\s+PERMANENT\\*\\s+step\\s+rollback\\s+no\\s+give-up\\s+1\\s+Error: still down$`, 'm'));
      expect(table.stdout).toMatch(/^\* retries exhausted$/m);
      const listed = await cli(['failures', '--execution', id, '--json']);
      expect(json<any[]>(listed.stdout)).toEqual([
        expect.objectContaining({ type: 'PERMANENT', retriesExhausted: true, recoveryStrategy: 'rollback', stepKey: 'give-up' }),
      ]);

      // Recovered (the cause is not fixed), it runs its only step again and fails again.
      const recovered = await cli(['recover', id]);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.stdout).toMatch(new RegExp(`^recovered execution ${id} from (its start|checkpoint ${UUID})$`, 'm'));
      expect(recovered.stdout).toMatch(/^failure\s+PERMANENT \(rollback, retries exhausted\) at step "give-up" attempt 1: Error: still down$/m);
      await waitForStatus(id, 'FAILED');
    });

    test('recover says "from its start" when no step had completed, also after failing again (never a rollback\'s checkpoint)', async () => {
      const dir = newDir();
      const started = await cli(['start', 'cli-first-fails', '--input', JSON.stringify({ dir })]);
      expect(started.code, started.stderr).toBe(0);
      const id = started.stdout.trim();
      for (let round = 1; round <= 2; round++) {
        await waitForStatus(id, 'FAILED');
        expect(runs(dir, 'only')).toBe(round);
        const recovered = await cli(['recover', id]);
        expect(recovered.code, recovered.stderr).toBe(0);
        expect(recovered.stdout).toMatch(new RegExp(`^recovered execution ${id} from its start$`, 'm'));
      }
      await waitForStatus(id, 'FAILED');
      writeFileSync(join(dir, 'fixed'), '');
      const last = await cli(['recover', id, '--json']);
      expect(json(last.stdout)).toMatchObject({ id, checkpointId: null, previousStatus: 'FAILED' });
      await waitForStatus(id, 'COMPLETED');
      expect(runs(dir, 'only')).toBe(4);
    });

    test('retry makes a step waiting ten minutes for its retry timer run now', async () => {
      const dir = newDir();
      const started = await cli(['start', 'cli-patient', '--input', JSON.stringify({ dir })]);
      expect(started.code, started.stderr).toBe(0);
      const id = started.stdout.trim();

      // Wait until its first attempt failed and the retry timer is set.
      const deadline = Date.now() + 30_000;
      let waiting: any[] = [];
      while (waiting.length === 0) {
        if (Date.now() > deadline) throw new Error(`no TRANSIENT failure recorded for ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        waiting = json<any[]>((await cli(['failures', '--execution', id, '--unrecovered', '--json'])).stdout);
      }
      expect(waiting).toEqual([expect.objectContaining({ type: 'TRANSIENT', recoveryStrategy: 'retry', stepKey: 'flaky', attempt: 1 })]);
      const before = await waitForStatus(id, 'PENDING');
      expect(before.steps.map((s: any) => [s.key, s.status])).toEqual([
        ['before', 'COMPLETED'],
        ['flaky', 'RETRYING'],
      ]);

      const retried = await cli(['retry', id]);
      expect(retried.code, retried.stderr).toBe(0);
      const line = new RegExp(`^execution ${id} was waiting to retry step "flaky" at (\\S+); it is due now$`, 'm').exec(retried.stdout);
      expect(line, retried.stdout).not.toBeNull();
      expect(Date.parse(line![1]!) - Date.now()).toBeGreaterThan(5 * 60_000); // the timer it cut short
      expect(retried.stdout).toMatch(/^status\s+PENDING -> (PENDING|RUNNING|COMPLETED)$/m);

      const detail = await waitForStatus(id, 'COMPLETED', 20_000);
      expect(detail.execution.output).toBe(2);
      expect([runs(dir, 'before'), runs(dir, 'flaky')]).toEqual([1, 2]);
    });

    test('retry and recover of an execution a worker is running are refused', async () => {
      const dir = newDir();
      const started = await cli(['start', 'cli-blocking', '--input', JSON.stringify({ dir })]);
      expect(started.code, started.stderr).toBe(0);
      const id = started.stdout.trim();
      await waitForStatus(id, 'RUNNING');

      const retried = await cli(['retry', id]);
      expect(retried.code).toBe(1);
      expect(retried.stderr).toMatch(new RegExp(`^aries: EXECUTION_BUSY: execution ${id} is RUNNING`));
      const recovered = await cli(['recover', id]);
      expect(recovered.code).toBe(1);
      expect(recovered.stderr).toMatch(/^aries: EXECUTION_BUSY: /);

      // aries workers shows the worker process holding the lease (its id as it announced itself).
      const workerId = /^aries worker (\S+) running workflows /m.exec(place.worker.stdout + place.worker.stderr)?.[1];
      expect(workerId).toBeDefined();
      const listed = await cli(['workers', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const holder = json<Array<{ worker: string; status: string; executions: number; expired: number }>>(listed.stdout).find((w) => w.worker === workerId);
      expect(holder).toMatchObject({ status: 'live', executions: 1, expired: 0 });
      const table = await cli(['workers']);
      expect(table.stdout).toMatch(/^WORKER\s+STATUS\s+WORKFLOWS\s+CONCURRENCY\s+HEARTBEAT\s+EXECUTIONS\s+COMPENSATING\s+EXPIRED\s+LEASES END$/m);
      expect(table.stdout).toContain(workerId!);

      writeFileSync(join(dir, 'release'), '');
      await waitForStatus(id, 'COMPLETED');
      expect(runs(dir, 'hold')).toBe(1);
    });

    test('an unknown execution is EXECUTION_NOT_FOUND, exit 1', async () => {
      for (const id of [UNKNOWN_ID, 'not-an-id']) {
        for (const args of [['recover', id], ['retry', id], ['failures', '--execution', id]]) {
          const result = await cli(args);
          expect(result.code, args.join(' ')).toBe(1);
          expect(result.stdout).toBe('');
          expect(result.stderr).toMatch(new RegExp(`^aries: EXECUTION_NOT_FOUND: execution ${id} not found`));
          expect(hasStackTrace(result.stderr)).toBe(false);
        }
      }
    });

    test('bad command lines are usage errors, exit 2; --help prints each usage', async () => {
      const badType = await cli(['recover', UNKNOWN_ID, '--type', 'FATAL']);
      expect(badType.code).toBe(2);
      expect(badType.stderr).toMatch(/^aries: --type must be one of TRANSIENT, PERMANENT, PARTIAL; got "FATAL"$/m);
      expect(badType.stderr).toContain('Usage: aries recover <execution-id>');

      for (const [args, message] of [
        [['recover'], /^aries: missing <execution-id>$/m],
        [['retry', UNKNOWN_ID, 'extra'], /^aries: unexpected argument "extra"$/m],
        [['failures', '--limit', '0'], /^aries: --limit must be a positive integer, got "0"$/m],
        [['failures', '--bogus'], /^aries: Unknown option '--bogus'/m],
      ] as const) {
        const result = await cli([...args]);
        expect(result.code, args.join(' ')).toBe(2);
        expect(result.stderr).toMatch(message);
      }

      for (const command of ['failures', 'recover', 'retry']) {
        const help = await runCli([command, '--help']);
        expect(help.code).toBe(0);
        expect(help.stdout).toMatch(new RegExp(`^Usage: aries ${command}`));
        expect(help.stdout).toContain('--database-url URL');
      }
    });
  });
}
