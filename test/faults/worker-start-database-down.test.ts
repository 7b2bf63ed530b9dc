/**
 * A worker started while PostgreSQL is down waits for it instead of exiting: `aries worker` against a
 * throwaway server that is stopped says, once per attempt, that the database is not reachable yet, and
 * comes up when the server starts, then runs an execution. A database that does not exist is a wrong
 * setting, not an outage: that fails at once. PostgreSQL-server only (the embedded backend has no server
 * to wait for); on a throwaway server of this file's own, never the machine's.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { childEnv, runCli, startCli, type CliProcess } from '../fixtures/cli-process.js';
import { createThrowawayPostgres, throwawayPostgresUnavailable, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';

const unavailable = throwawayPostgresUnavailable();
const ci = process.env.CI === 'true' || process.env.CI === '1';
if (unavailable && !ci) console.warn(`\n!! worker-start-database-down is SKIPPED: ${unavailable}\n`);

describe.skipIf(unavailable !== undefined && !ci)('a worker started while the database is down [postgres]', () => {
  let pg: ThrowawayPostgres;
  let worker: CliProcess | undefined;
  let engine: Engine | undefined;
  beforeAll(async () => {
    pg = await createThrowawayPostgres();
    await pg.start();
    const first = await createEngine({ databaseUrl: pg.url('postgres'), onError: () => {} });
    await first.close(); // migrated: the worker meets a database with its schema once it is back
  });
  afterAll(async () => {
    worker?.kill();
    await engine?.close();
    await pg?.remove();
  });

  test('waits with backoff, saying so, then runs an execution once the server is up', async () => {
    await pg.crash();
    worker = startCli(['worker', 'test/fixtures/cli-workflows.ts', '--database-url', pg.url('postgres')], { env: childEnv() });
    for (let i = 0; i < 400 && !/not reachable yet \(attempt 2/.test(worker.stderr); i++) await new Promise((r) => setTimeout(r, 50));
    expect(worker.stderr).toMatch(/aries: the database is not reachable yet \(attempt 1: cannot connect to PostgreSQL at .*\); trying again in 250 ms/);
    expect(worker.running).toBe(true);
    await pg.start();
    await worker.waitFor(/^aries worker \S+ running workflows/, 60_000);
    engine = await createEngine({ databaseUrl: pg.url('postgres'), onError: () => {} });
    const handle = await engine.start('cli-double', 21);
    expect(await handle.result({ timeoutMs: 30_000 })).toBe(42);
  });

  test('a database that does not exist fails at once, without waiting', async () => {
    const started = Date.now();
    const result = await runCli(['worker', 'test/fixtures/cli-workflows.ts', '--database-url', pg.url('no_such_database')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^aries: DATABASE_UNREACHABLE: .*does not exist/m);
    expect(result.stderr).not.toMatch(/not reachable yet/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
