/**
 * A worker process SIGKILLed while firing a schedule (crash point after-schedule-claim: the due schedule
 * is locked in its firing transaction, its slots not yet recorded): the transaction dies with it, nothing
 * is started, and the next worker process fires the same slots, each exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';
import { createEngine, type EngineOptions } from '../../src/index.js';
import { ROOT } from '../helpers/crash-children.js';
import { BACKENDS, openTestDatabase, serverEnabled } from '../helpers/backends.js';
import { scheduledTick } from '../fixtures/schedule-worker.js';

const SCRIPT = resolve(ROOT, 'test/fixtures/schedule-worker.ts');

function runWorker(env: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

for (const backend of BACKENDS) {
  test.skipIf(backend === 'postgres' && !serverEnabled())(
    `[${backend}] a worker killed inside its firing transaction fires nothing; the next worker starts each slot exactly once`,
    { timeout: 120_000 },
    async () => {
      const dir = backend === 'pglite' ? mkdtempSync(join(tmpdir(), 'aries-sched-kill-')) : undefined;
      const server = backend === 'postgres' ? await openTestDatabase('postgres', 'schedule-sigkill') : undefined;
      const connection: EngineOptions = dir ? { dataDir: dir } : server!.connection;
      const env: Record<string, string> = dir ? { SCHEDULE_WORKER_DATA_DIR: dir } : { SCHEDULE_WORKER_DATABASE_URL: String(server!.connection.databaseUrl) };
      try {
        // Workers were down for ten seconds: ten per-second slots due, all on time (misfire 'all', 10 min).
        let engine = await createEngine({ ...connection, onError: () => {} });
        await engine.schedule('killed-firing', { cron: '* * * * * *', workflow: scheduledTick, input: { n: 1 }, misfire: 'all', maxLatenessMs: 600_000 });
        const [row] = await engine.db.query<{ from: Date }>(
          `UPDATE aries.schedules SET next_fire_at = date_trunc('second', now()) - interval '10 seconds'
            WHERE name = 'killed-firing' RETURNING next_fire_at AS "from"`,
        );
        const from = new Date(row!.from);
        await engine.close();

        const killed = await runWorker({ ...env, ARIES_CRASH_AT: 'after-schedule-claim:killed-firing' });
        expect(killed.signal).toBe('SIGKILL');
        expect(killed.stderr).toContain('crash point after-schedule-claim:killed-firing reached');

        engine = await createEngine({ ...connection, onError: () => {} });
        const keysNow = () =>
          engine.db.query<{ k: string }>(`SELECT idempotency_key AS k FROM aries.executions WHERE idempotency_key LIKE 'aries:schedule:killed-firing:%' ORDER BY 1`);
        expect(await keysNow()).toEqual([]);
        expect((await engine.admin.getSchedule('killed-firing')).nextFireAt).toEqual(from);
        await engine.close();

        const next = await runWorker({ ...env, SCHEDULE_WORKER_RUN_MS: '1500' });
        expect(next.stdout).toContain('"stopped"');

        engine = await createEngine({ ...connection, onError: () => {} });
        const keys = (await keysNow()).map((r) => r.k);
        const times = keys.map((k) => Date.parse(k.slice('aries:schedule:killed-firing:'.length)));
        expect(times[0]).toBe(from.getTime()); // the slots the killed worker claimed, started by the next
        expect(keys.length).toBeGreaterThanOrEqual(10);
        for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(1_000);
        const { slots } = await engine.admin.getSchedule('killed-firing', { limit: 1_000 });
        expect(slots.every((s) => s.status === 'started')).toBe(true);
        expect(slots).toHaveLength(keys.length);
        await engine.close();
      } finally {
        if (dir) rmSync(dir, { recursive: true, force: true });
        await server?.cleanup();
      }
    },
  );
}
