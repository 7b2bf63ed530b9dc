/**
 * The built `aries` CLI as real processes, on both backends: migrate, a worker process running the
 * fixture's workflows, start / status / list against it (on PGlite through the worker process, which
 * holds the data dir), the data-dir lock, errors from the database, and a graceful stop on SIGTERM.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';
import { hasStackTrace, killAllCliProcesses, REPO_ROOT, runCli, startCli, type CliProcess } from '../fixtures/cli-process.js';

const FIXTURE = 'test/fixtures/cli-workflows.ts';
const READY = /^aries worker \S+ running workflows /;

function json<T = any>(text: string): T {
  return JSON.parse(text) as T;
}

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries CLI [${backend}]`, () => {
    let tmp: string;
    let connection: string[];
    let dataDir: string | undefined;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'aries-cli-'));
      if (backend === 'pglite') {
        dataDir = join(tmp, 'data');
        connection = ['--data-dir', dataDir];
      } else {
        const db = await createTestDatabase('cli');
        drop = db.drop;
        connection = ['--database-url', db.url];
      }
    });

    afterAll(async () => {
      await killAllCliProcesses();
      await drop?.();
      rmSync(tmp, { recursive: true, force: true });
    });

    test('migrate on a fresh database prints each migration and the schema version; a second run applies nothing', async () => {
      const first = await runCli(['migrate', ...connection]);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      // One progress line per migration, as each starts: every file in sql/migrations, in order.
      const migrations = readdirSync(join(REPO_ROOT, 'sql/migrations')).filter((f) => f.endsWith('.sql')).sort();
      expect(migrations.length).toBeGreaterThanOrEqual(2);
      const progress = first.stdout.split('\n').filter((l) => l.startsWith('applying '));
      expect(progress).toEqual(migrations.map((f, i) => `applying ${f.replace(/\.sql$/, '')} (${i + 1}/${migrations.length})`));
      const version = /schema version (\d+)/.exec(first.stdout)?.[1];
      expect(Number(version)).toBe(Number(migrations.at(-1)!.slice(0, 4)));

      const again = await runCli(['migrate', ...connection]);
      expect(again.code).toBe(0);
      expect(again.stdout).not.toMatch(/applying/);
      expect(again.stdout).toMatch(new RegExp(`nothing to apply; schema version ${version}$`, 'm'));

      const asJson = await runCli(['migrate', '--json', ...connection]);
      expect(json(asJson.stdout)).toEqual({ applied: [], schemaVersion: Number(version) });
    });

    describe('with a worker process running', () => {
      let worker: CliProcess;
      let stoppedOnPurpose = false;

      beforeAll(async () => {
        // The built-in recovery sweep (every 5 minutes on the clock) would recover cli-fail's TRANSIENT failure
        // if a test ran across the boundary, and status would show a second attempt: pause it here.
        const paused = await runCli(['schedule', 'pause', 'aries.auto-recover', ...connection]);
        expect(paused.code, paused.stderr).toBe(0);
        worker = startCli(['worker', FIXTURE, '--concurrency', '4', '--lease-ms', '5000', ...connection]);
        const ready = await worker.waitFor(READY);
        for (const key of ['cli-greet@1', 'cli-echo@2', 'cli-double@1', 'cli-fail@1']) expect(ready).toContain(key);
        expect(ready).toContain(backend === 'pglite' ? `on PGlite at ${dataDir}` : 'on PostgreSQL at postgres://');
      });

      afterEach(() => {
        if (stoppedOnPurpose) return;
        expect(worker.running, `the worker exited:\n${worker.stdout}${worker.stderr}`).toBe(true);
      });

      test('start --wait prints the result; status --json shows it COMPLETED with its steps; list --json lists it', async () => {
        const started = await runCli(['start', 'cli-greet', '--input', '{"name":"ada"}', '--wait', ...connection]);
        expect(started.code, started.stderr).toBe(0);
        expect(json(started.stdout)).toEqual({ greeting: 'hello, ada', length: 10 });
        const id = /execution (\S+) started/.exec(started.stderr)?.[1];
        expect(id).toMatch(/^[0-9a-f-]{36}$/);

        const status = await runCli(['status', id!, '--json', ...connection]);
        expect(status.code, status.stderr).toBe(0);
        const detail = json(status.stdout);
        expect(detail.execution).toMatchObject({
          id,
          workflow: 'cli-greet',
          version: '1',
          status: 'COMPLETED',
          input: { name: 'ada' },
          output: { greeting: 'hello, ada', length: 10 },
        });
        expect(detail.steps.map((s: any) => [s.seq, s.key, s.status, s.attempt, s.output])).toEqual([
          [0, 'compose', 'COMPLETED', 1, 'hello, ada'],
          [1, 'measure', 'COMPLETED', 1, 10],
        ]);

        const list = await runCli(['list', '--json', '--workflow', 'cli-greet', ...connection]);
        expect(list.code, list.stderr).toBe(0);
        expect(json<{ executions: any[] }>(list.stdout).executions.find((e) => e.id === id)).toMatchObject({ status: 'COMPLETED', workflow: 'cli-greet' });
      });

      test('status and list print readable tables', async () => {
        const started = await runCli(['start', 'cli-echo@2', '--input', '{"x":[1,2,3]}', '--wait', '--json', ...connection]);
        expect(started.code, started.stderr).toBe(0);
        const { id, created, status, output } = json(started.stdout);
        expect({ created, status, output }).toEqual({ created: true, status: 'COMPLETED', output: { x: [1, 2, 3] } });

        const shown = await runCli(['status', id, ...connection]);
        expect(shown.code, shown.stderr).toBe(0);
        expect(shown.stdout).toMatch(new RegExp(`^execution\\s+${id}$`, 'm'));
        expect(shown.stdout).toMatch(/^workflow\s+cli-echo@2$/m);
        expect(shown.stdout).toMatch(/^status\s+COMPLETED$/m);
        expect(shown.stdout).toMatch(/^finished\s+\d{4}-\d\d-\d\dT/m);
        expect(shown.stdout).toMatch(/^SEQ\s+KEY\s+STATUS\s+ATTEMPT\s+OUTPUT$/m);
        expect(shown.stdout).toMatch(/^0\s+echo\s+COMPLETED\s+1\s+\{"x":\[1,2,3\]\}$/m);

        const listed = await runCli(['list', '--status', 'completed', '--limit', '50', ...connection]);
        expect(listed.code, listed.stderr).toBe(0);
        expect(listed.stdout).toMatch(/^ID\s+WORKFLOW\s+STATUS\s+STEPS\s+CREATED\s+FINISHED$/m);
        expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+cli-echo@2\\s+COMPLETED\\s+1\\s`, 'm'));
      });

      test('start without --wait prints the id; the same --idempotency-key returns the same execution', async () => {
        const args = ['start', 'cli-double', '--input', '21', '--idempotency-key', `k-${backend}`, ...connection];
        const first = await runCli(args);
        expect(first.code, first.stderr).toBe(0);
        const id = first.stdout.trim();
        expect(id).toMatch(/^[0-9a-f-]{36}$/);

        const second = await runCli([...args, '--json']);
        expect(second.code, second.stderr).toBe(0);
        expect(json(second.stdout)).toEqual({ id, created: false });

        const waited = await runCli([...args, '--wait', '--timeout-ms', '30000']);
        expect(waited.code, waited.stderr).toBe(0);
        expect(waited.stdout).toBe('42\n');
        expect(waited.stderr).toContain(`matched execution ${id}`);
      });

      test('a failing workflow: start --wait exits 1 with EXECUTION_FAILED; status shows the step error', async () => {
        const started = await runCli(['start', 'cli-fail', '--wait', ...connection]);
        expect(started.code).toBe(1);
        expect(started.stderr).toMatch(/^aries: EXECUTION_FAILED: execution \S+ failed: Error: boom on purpose$/m);
        expect(hasStackTrace(started.stderr)).toBe(false);
        const id = /execution (\S+) started/.exec(started.stderr)![1]!;

        const shown = await runCli(['status', id, ...connection]);
        expect(shown.stdout).toMatch(/^status\s+FAILED$/m);
        expect(shown.stdout).toMatch(/^error\s+Error: boom on purpose$/m);
        // Rolled back to the last valid checkpoint (the start): the step runs again when the execution is recovered.
        expect(shown.stdout).toMatch(/^0\s+explode\s+ROLLED_BACK\s+1\s+Error: boom on purpose$/m);
      });

      test('an unknown workflow is UNKNOWN_WORKFLOW, exit 1, no stack trace', async () => {
        const result = await runCli(['start', 'nope', '--input', '{}', ...connection]);
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toMatch(/^aries: UNKNOWN_WORKFLOW: unknown workflow "nope"/);
        expect(hasStackTrace(result.stderr)).toBe(false);
      });

      test('status of an unknown execution id is a clear not-found error, exit 1', async () => {
        for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
          const result = await runCli(['status', id, ...connection]);
          expect(result.code).toBe(1);
          expect(result.stderr).toMatch(new RegExp(`^aries: EXECUTION_NOT_FOUND: execution ${id} not found`));
          expect(hasStackTrace(result.stderr)).toBe(false);
        }
      });

      test('migrate while the worker runs applies nothing', async () => {
        const result = await runCli(['migrate', ...connection]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(/nothing to apply; schema version \d+/);
        if (backend === 'pglite') expect(result.stdout).toContain(`(via process ${worker.child.pid})`);
      });

      test.runIf(backend === 'pglite')(
        'a second worker on the same data dir fails with DATA_DIR_LOCKED naming the holder; the first is unaffected',
        async () => {
          const second = await runCli(['worker', FIXTURE, ...connection]);
          expect(second.code).toBe(1);
          expect(second.stdout).toBe('');
          expect(second.stderr).toMatch(
            new RegExp(`^aries: DATA_DIR_LOCKED: data dir ${dataDir} is held by process ${worker.child.pid} `),
          );
          expect(hasStackTrace(second.stderr)).toBe(false);

          expect(worker.running).toBe(true);
          const started = await runCli(['start', 'cli-double', '--input', '5', '--wait', ...connection]);
          expect(started.code, started.stderr).toBe(0);
          expect(started.stdout).toBe('10\n');
        },
      );

      test.runIf(backend === 'postgres')('a second worker on the same server database joins the first', async () => {
        const second = startCli(['worker', FIXTURE, ...connection]);
        await second.waitFor(READY);
        second.signal('SIGTERM');
        const exit = await second.exited;
        expect(exit.code, exit.stderr).toBe(0);
      });

      test('SIGTERM stops the worker gracefully: exit 0, and the data dir is free again', async () => {
        stoppedOnPurpose = true;
        worker.signal('SIGTERM');
        const exit = await worker.exited;
        expect(exit.code, exit.stderr).toBe(0);
        expect(exit.stdout).toMatch(/^aries worker \S+ stopped$/m);
        expect(hasStackTrace(exit.stderr)).toBe(false);
        if (dataDir) expect(existsSync(`${dataDir}.lock`)).toBe(false);
      });
    });
  });
}
