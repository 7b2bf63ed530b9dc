/**
 * The pg_cron route: an operator who prefers pg_cron pauses the built-in 'aries.auto-recover' schedule
 * and has pg_cron run aries.auto_recover_failures() instead. On a throwaway server with pg_cron preloaded
 * (Debian's postgresql-15-cron), Aries migrated into it: a TRANSIENT failure left unrecovered is recovered
 * by pg_cron's job within its minute (pg_cron 1.4 has minute granularity), with no worker's scheduler
 * running. Without the package (or a throwaway server) the test is skipped with the reason; with CI=true
 * it fails.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { createEngine, defineWorkflow } from '../../src/index.js';
import { createThrowawayPostgres, PG_BIN, throwawayPostgresUnavailable } from '../helpers/throwaway-postgres.js';

const PG_CRON = join(PG_BIN, '..', 'lib', 'pg_cron.so');
const DATABASE = 'aries_cron';

const unavailable =
  throwawayPostgresUnavailable() ??
  (existsSync(PG_CRON) ? undefined : `pg_cron is not installed (${PG_CRON} missing): apt-get install -y postgresql-15-cron`);

if (unavailable && process.env.CI !== 'true') console.warn(`skipping the pg_cron test: ${unavailable}`);

test.skipIf(unavailable !== undefined && process.env.CI !== 'true')(
  'pg_cron running aries.auto_recover_failures() every minute recovers a TRANSIENT failure the paused built-in schedule left',
  { timeout: 180_000 },
  async () => {
    if (unavailable) throw new Error(`the pg_cron test cannot run: ${unavailable}`);
    const server = await createThrowawayPostgres({
      extraConf: ["shared_preload_libraries = 'pg_cron'", `cron.database_name = '${DATABASE}'`, 'cron.use_background_workers = on'],
    });
    try {
      await server.start();
      const admin = new pg.Client({ connectionString: server.url() });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${DATABASE}`);
      await admin.end();

      const engine = await createEngine({ databaseUrl: server.url(DATABASE), onError: () => {} });
      try {
        await engine.db.query('CREATE EXTENSION pg_cron');
        await engine.admin.pauseSchedule('aries.auto-recover');
        let down = true;
        const flaky = defineWorkflow('cron-flaky', { retry: { maxAttempts: 1 } }, async (ctx) =>
          ctx.step('call', () => {
            if (down) throw new Error('service unavailable');
            return 'up';
          }),
        );
        const first = engine.worker({ workflows: [flaky], pollIntervalMs: 20, schedulerIntervalMs: 0 });
        await first.start();
        const handle = await engine.start(flaky, {});
        await expect(handle.result()).rejects.toThrow(/service unavailable/);
        await first.stop();
        down = false;
        // A TRANSIENT error whose retries ran out: what the sweep recovers (an operator's verdict is not).
        const [failure] = await engine.db.query<{ retries_exhausted: boolean; recovered: boolean }>(
          'SELECT retries_exhausted, recovered FROM aries.failures WHERE execution_id = $1',
          [handle.id],
        );
        expect(failure).toEqual({ retries_exhausted: true, recovered: false });

        await engine.db.query(`SELECT cron.schedule('aries-recover', '* * * * *', 'SELECT aries.auto_recover_failures()')`);
        const deadline = Date.now() + 75_000;
        while ((await engine.admin.readExecution(handle.id))!.status === 'FAILED') {
          if (Date.now() > deadline) throw new Error('pg_cron did not recover the execution within 75 s');
          await new Promise((r) => setTimeout(r, 500));
        }
        const [recovered] = await engine.db.query<{ recovered: boolean; recovered_by: string }>(
          'SELECT recovered, recovered_by FROM aries.failures WHERE execution_id = $1',
          [handle.id],
        );
        expect(recovered).toEqual({ recovered: true, recovered_by: 'sweep' });
        const runs = await engine.db.query<{ status: string }>(
          `SELECT d.status FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'aries-recover'`,
        );
        expect(runs.map((r) => r.status)).toContain('succeeded');
        // The built-in schedule stayed paused: it recorded no slot.
        expect((await engine.admin.getSchedule('aries.auto-recover')).slots).toEqual([]);

        const second = engine.worker({ workflows: [flaky], pollIntervalMs: 20, schedulerIntervalMs: 0 });
        await second.start();
        expect(await handle.result({ timeoutMs: 15_000 })).toBe('up');
        await second.stop();
      } finally {
        await engine.close();
      }
    } finally {
      await server.remove();
    }
  },
);
