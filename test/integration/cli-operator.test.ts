/**
 * The operator commands of the built `aries` CLI as real processes, on both backends, with a worker
 * process running test/fixtures/cli-operator-workflows.ts: cancel, list by pages (--cursor, --search,
 * --since/--until), recover --all with its progress and summary, serve (the API behind a token) and dev (a
 * worker and the API in one process, with a token it makes up). Servers listen on port 0 and the tests
 * read the URL they print.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BACKENDS, serverEnabled } from '../helpers/backends.js';
import { useCliWorker } from '../helpers/cli-worker.js';
import { childEnv, hasStackTrace, REPO_ROOT, runCli, startCli } from '../fixtures/cli-process.js';

const FIXTURE = 'test/fixtures/cli-operator-workflows.ts';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const FINAL = ['COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED'];

function json<T = any>(text: string): T {
  return JSON.parse(text) as T;
}

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** The environment for a child, without a token unless one is given. */
function envWith(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = childEnv();
  delete env.ARIES_API_TOKEN;
  return { ...env, ...extra };
}

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries operator commands [${backend}]`, () => {
    const place = useCliWorker(backend, { name: 'cli-operator', fixture: FIXTURE, workerArgs: ['--concurrency', '8'], workflows: ['op-fixable@1', 'op-blocking@1', 'op-quick@1'] });
    let dirs = 0;

    const newDir = (): string => {
      const dir = join(place.tmp, `run-${++dirs}`);
      mkdirSync(dir);
      return dir;
    };

    const cli = (args: string[]) => runCli([...args, ...place.connection]);

    async function status(id: string): Promise<any> {
      const shown = await cli(['status', id, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      return json(shown.stdout);
    }

    /** Polls `aries status --json` until the execution is `wanted`; fails at another final status. */
    async function waitForStatus(id: string, wanted: string, timeoutMs = 30_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const detail = await status(id);
        if (detail.execution.status === wanted) return detail;
        if (FINAL.includes(detail.execution.status) || Date.now() > deadline) {
          throw new Error(`execution ${id} is ${detail.execution.status}, expected ${wanted}`);
        }
        await sleep(100);
      }
    }

    async function start(workflow: string, input: unknown, extra: string[] = []): Promise<string> {
      const started = await cli(['start', workflow, '--input', JSON.stringify(input), ...extra]);
      expect(started.code, started.stderr).toBe(0);
      return started.stdout.trim();
    }

    test('cancel prints the status before and after; a second cancel is ILLEGAL_TRANSITION, exit 1', async () => {
      const dir = newDir();
      try {
        const id = await start('op-blocking', { dir });
        await waitForStatus(id, 'RUNNING');

        const cancelled = await cli(['cancel', id, '--reason', 'stopped by the test']);
        expect(cancelled.code, cancelled.stderr).toBe(0);
        expect(cancelled.stdout).toBe(`cancelled execution ${id}\nstatus  RUNNING -> CANCELLED\n`);
        const detail = await status(id);
        expect(detail.execution).toMatchObject({ status: 'CANCELLED', error: { message: 'stopped by the test' } });

        const again = await cli(['cancel', id]);
        expect(again.code).toBe(1);
        expect(again.stdout).toBe('');
        expect(again.stderr).toMatch(new RegExp(`^aries: ILLEGAL_TRANSITION: execution ${id} is CANCELLED and cannot be cancelled`));
        expect(hasStackTrace(again.stderr)).toBe(false);

        // --json, on an execution that may not have been claimed yet.
        const other = await start('op-blocking', { dir });
        const asJson = await cli(['cancel', other, '--json']);
        expect(asJson.code, asJson.stderr).toBe(0);
        const outcome = json(asJson.stdout);
        expect(outcome).toMatchObject({ id: other, status: 'CANCELLED' });
        expect(['PENDING', 'RUNNING']).toContain(outcome.previousStatus);

        for (const unknown of [UNKNOWN_ID, 'not-an-id']) {
          const missing = await cli(['cancel', unknown]);
          expect(missing.code).toBe(1);
          expect(missing.stderr).toMatch(new RegExp(`^aries: EXECUTION_NOT_FOUND: execution ${unknown} not found`));
        }
        const bare = await cli(['cancel']);
        expect(bare.code).toBe(2);
        expect(bare.stderr).toMatch(/^aries: missing <execution-id>\n\nUsage: aries cancel <execution-id>/);
      } finally {
        // The cancelled steps are still running in the worker (a step cannot be interrupted): let them return.
        writeFileSync(join(dir, 'release'), '');
      }
    });

    test('list --json pages with --cursor until nextCursor is null, each execution once; the table prints the next-page command', async () => {
      const prefix = `page-${randomBytes(3).toString('hex')}`;
      const ids: string[] = [];
      for (let n = 0; n < 7; n++) ids.push(await start('op-quick', { n }, ['--idempotency-key', `${prefix}-${n}`]));

      const listed: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await cli(['list', '--json', '--workflow', 'op-quick', '--limit', '3', ...(cursor ? ['--cursor', cursor] : [])]);
        expect(page.code, page.stderr).toBe(0);
        const body = json<{ executions: any[]; nextCursor: string | null }>(page.stdout);
        expect(body.executions.every((e) => e.workflow === 'op-quick' && !('input' in e) && !('output' in e))).toBe(true);
        listed.push(...body.executions.map((e) => e.id));
        sizes.push(body.executions.length);
        cursor = body.nextCursor;
      } while (cursor !== null);
      expect(sizes).toEqual([3, 3, 1]);
      expect(listed).toEqual([...ids].reverse()); // newest first, none twice, none missed

      // The table ends with the command for the next page, the database included; running it prints that page.
      const first = await cli(['list', '--workflow', 'op-quick', '--limit', '3']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^ID\s+WORKFLOW\s+STATUS\s+STEPS\s+CREATED\s+FINISHED$/m);
      const hint = /^more: aries list (.+)$/m.exec(first.stdout);
      expect(hint, first.stdout).not.toBeNull();
      const args = hint![1]!.split(' ');
      expect(args.slice(0, 4)).toEqual(['--workflow', 'op-quick', '--limit', '3']);
      expect(args.slice(-2)).toEqual(place.connection);
      const second = await runCli(['list', ...args]);
      expect(second.code, second.stderr).toBe(0);
      for (const id of ids.slice(1, 4)) expect(second.stdout).toContain(id);
      expect(second.stdout).not.toContain(ids[6]);

      // --search finds one execution by its idempotency key, or by its id.
      for (const search of [`${prefix}-4`, ids[4]!]) {
        const found = await cli(['list', '--json', '--search', search]);
        expect(found.code, found.stderr).toBe(0);
        expect(json(found.stdout)).toEqual({ executions: [expect.objectContaining({ id: ids[4], idempotencyKey: `${prefix}-4` })], nextCursor: null });
      }
      const none = await cli(['list', '--search', `${prefix}-nope`]);
      expect(none.stdout).toBe('no executions\n');

      // --since and --until take a duration back from now or an ISO time.
      const recent = json((await cli(['list', '--json', '--workflow', 'op-quick', '--since', '1h'])).stdout);
      expect(recent.executions.map((e: any) => e.id)).toEqual(expect.arrayContaining(ids));
      const old = json((await cli(['list', '--json', '--workflow', 'op-quick', '--until', '1h'])).stdout);
      expect(old).toEqual({ executions: [], nextCursor: null });
      const future = json((await cli(['list', '--json', '--since', new Date(Date.now() + 3_600_000).toISOString()])).stdout);
      expect(future.executions).toEqual([]);
    });

    test('recover --all counts refusals without stopping, then recovers every FAILED execution with progress on stderr', async () => {
      const dir = newDir();
      const ids: string[] = [];
      for (let n = 1; n <= 3; n++) ids.push(await start('op-fixable', { dir, n }));
      for (const id of ids) await waitForStatus(id, 'FAILED');

      // Their failures are PERMANENT: asked for TRANSIENT ones, every execution is refused, and the run goes on.
      const refused = await cli(['recover', '--all', '--workflow', 'op-fixable', '--type', 'TRANSIENT', '--json']);
      expect(refused.code, refused.stderr).toBe(0);
      const summary = json(refused.stdout);
      expect(summary.total).toBe(3);
      expect(summary.recovered).toEqual([]);
      expect(summary.refused.map((r: any) => r.code)).toEqual(['NO_FAILURE_TO_RECOVER', 'NO_FAILURE_TO_RECOVER', 'NO_FAILURE_TO_RECOVER']);
      expect(summary.refused.map((r: any) => r.id).sort()).toEqual([...ids].sort());
      expect(refused.stderr).toMatch(/^found 3 FAILED execution\(s\) of workflow op-fixable$/m);
      for (const i of [1, 2, 3]) expect(refused.stderr).toContain(`recovering ${i}/3…\n`);

      writeFileSync(join(dir, 'fixed'), '');
      const recovered = await cli(['recover', '--all', '--workflow', 'op-fixable']);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.stderr).toBe('found 3 FAILED execution(s) of workflow op-fixable\nrecovering 1/3…\nrecovering 2/3…\nrecovering 3/3…\n');
      expect(recovered.stdout).toBe('recovered 3 of 3 FAILED execution(s); 0 refused\n');

      for (const [i, id] of ids.entries()) {
        const detail = await waitForStatus(id, 'COMPLETED');
        expect(detail.execution.output).toBe((i + 1) * 10);
      }
      const nothing = await cli(['recover', '--all', '--workflow', 'op-fixable']);
      expect(nothing.code, nothing.stderr).toBe(0);
      expect(nothing.stdout).toBe('no FAILED executions to recover\n');
    });

    test('retry of a finished execution is ILLEGAL_TRANSITION (engine.admin.retry), exit 1', async () => {
      const id = await start('op-quick', { n: 3 }, ['--wait', '--json']).then((out) => json(out).id as string);
      const retried = await cli(['retry', id]);
      expect(retried.code).toBe(1);
      expect(retried.stderr).toMatch(new RegExp(`^aries: ILLEGAL_TRANSITION: execution ${id} is COMPLETED: it is finished`));
    });

    test('serve --port 0 prints its URL; /api/health answers with the token and 401 without; SIGTERM exits 0', async () => {
      const refused = await runCli(['serve', '--port', '0', ...place.connection], { env: envWith() });
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^aries: the API needs a token: set ARIES_API_TOKEN/);

      const token = randomBytes(24).toString('base64url');
      const server = startCli(['serve', '--port', '0', ...place.connection], { env: envWith({ ARIES_API_TOKEN: token }) });
      const line = await server.waitFor(/^aries: serving /);
      const match = /^aries: serving the API and dashboard at (http:\/\/127\.0\.0\.1:\d+)\/ \((PGlite|PostgreSQL) at .+\)$/.exec(line);
      expect(match, line).not.toBeNull();
      const base = match![1]!;
      expect(match![2]).toBe(backend === 'pglite' ? 'PGlite' : 'PostgreSQL');

      const ok = await fetch(`${base}/api/health`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      // On PGlite the worker process holds the data dir, and the server's engine goes through it.
      expect(await ok.json()).toMatchObject({ ok: true, backend: backend === 'pglite' ? 'remote' : 'postgres', auth: true });
      expect((await fetch(`${base}/api/health`)).status).toBe(401);
      expect((await fetch(`${base}/api/health`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);

      server.signal('SIGTERM');
      const exit = await server.exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stderr).toMatch(/^aries: SIGTERM: stopping the server$/m);
      expect(hasStackTrace(exit.stderr)).toBe(false);
      await expect(fetch(`${base}/api/health`)).rejects.toThrow();
    });

    test('dev runs a worker and the API: the printed #token URL starts an execution that completes; SIGTERM exits 0', async () => {
      // PGlite: the default data dir .aries of the working directory; the server: the same database.
      const cwd = join(place.tmp, 'dev');
      mkdirSync(cwd);
      const args = ['dev', resolve(REPO_ROOT, FIXTURE), '--port', '0', ...(backend === 'pglite' ? [] : place.connection)];
      const dev = startCli(args, { cwd, env: envWith() });
      await dev.waitFor(/^aries: API token for this run: /);
      const match = /^aries: dashboard: (http:\/\/127\.0\.0\.1:\d+)\/#token=([\w-]+)$/m.exec(dev.stdout);
      expect(match, dev.stdout).not.toBeNull();
      const [, base, token] = match as unknown as [string, string, string];
      expect(token.length).toBe(32); // 24 random bytes, base64url
      expect(dev.stdout).toMatch(/^aries: worker \S+ running workflows .*op-quick@1/m);
      expect(dev.stdout).toContain(`API token for this run: ${token}`);
      if (backend === 'pglite') expect(dev.stdout).toMatch(/^aries: serving the API and dashboard at .* \(PGlite at .*\.aries\)$/m);

      const auth = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}/api/executions`)).status).toBe(401);
      const created = await fetch(`${base}/api/executions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ workflow: 'op-quick', input: { n: 12 } }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };

      const deadline = Date.now() + 30_000;
      let execution: any;
      for (;;) {
        const read = await fetch(`${base}/api/executions/${id}`, { headers: auth });
        expect(read.status).toBe(200);
        execution = ((await read.json()) as { execution: any }).execution;
        if (FINAL.includes(execution.status) || Date.now() > deadline) break;
        await sleep(100);
      }
      expect(execution).toMatchObject({ id, status: 'COMPLETED', output: 144 });

      dev.signal('SIGTERM');
      const exit = await dev.exited;
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stdout).toMatch(/^aries: worker \S+ stopped$/m);
      expect(hasStackTrace(exit.stderr)).toBe(false);
      if (backend === 'pglite') {
        expect(existsSync(join(cwd, '.aries'))).toBe(true);
        expect(existsSync(join(cwd, '.aries.lock'))).toBe(false);
      }
    });

    test.runIf(backend === 'pglite')('dev on a data dir a worker holds fails with DATA_DIR_LOCKED, exit 1', async () => {
      const result = await runCli(['dev', FIXTURE, '--port', '0', ...place.connection], { env: envWith() });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^aries: DATA_DIR_LOCKED: data dir ${place.dataDir} is held by process ${place.worker.child.pid} `));
    });
  });
}
