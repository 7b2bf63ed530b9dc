/**
 * The built CLI's `aries purge`, `aries purges` and `aries roles` as real processes, on both backends
 * (an embedded data dir the CLI opens itself, and a database of the PostgreSQL server): a purge prints
 * and records the audit record, a busy execution is refused in one line, and roles prints SQL that
 * names the roles given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type EngineOptions } from '../../src/index.js';
import { BACKENDS, openTestDatabase, serverEnabled } from '../helpers/backends.js';
import { hasStackTrace, killAllCliProcesses, runCli } from '../fixtures/cli-process.js';

afterEach(killAllCliProcesses);

/** Each CLI process opens the database itself (an embedded data dir takes seconds on a busy machine). */
const CLI_TEST_TIMEOUT_MS = 180_000;

for (const backend of BACKENDS) {
  const block = backend === 'postgres' && !serverEnabled() ? describe.skip : describe;

  block(`aries purge [${backend}]`, () => {
    let tmp: string;
    let connection: EngineOptions;
    let args: string[];
    let cleanup: () => Promise<void> = async () => {};
    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'aries-cli-purge-'));
      if (backend === 'pglite') {
        connection = { dataDir: join(tmp, 'data') };
        args = ['--data-dir', join(tmp, 'data')];
      } else {
        const db = await openTestDatabase('postgres', 'cli_purge');
        connection = db.connection;
        cleanup = db.cleanup;
        args = ['--database-url', connection.databaseUrl!];
      }
    });
    afterAll(async () => {
      await cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    /** Starts executions of a workflow no worker runs and cancels the first: [cancelled, pending]. */
    async function twoExecutions(): Promise<[string, string]> {
      const engine = await createEngine({ ...connection, onError: () => {} });
      try {
        await engine.db.query(`SELECT aries.register_workflow(p_name => 'cli-purge', p_version => '1')`);
        const a = await engine.start('cli-purge', { secret: 'hunter2' });
        const b = await engine.start('cli-purge', {});
        await engine.admin.cancel(a.id, 'stop');
        return [a.id, b.id];
      } finally {
        await engine.close();
      }
    }

    test('aries purge deletes a cancelled execution, prints the audit record, and aries purges lists it; a PENDING one is refused in one line', async () => {
      const [cancelled, pending] = await twoExecutions();
      const purged = await runCli(['purge', cancelled, '--reason', 'leaked password', '--by', 'ops-oncall', '--json', ...args]);
      expect(purged.code, purged.stderr).toBe(0);
      const record = JSON.parse(purged.stdout);
      expect(record).toMatchObject({
        executionId: cancelled,
        workflow: 'cli-purge',
        status: 'CANCELLED',
        purgedBy: 'ops-oncall',
        reason: 'leaked password',
        removed: { executions: 1 },
      });

      const shown = await runCli(['status', cancelled, ...args]);
      expect(shown.code).toBe(1);
      expect(shown.stderr).toMatch(/EXECUTION_NOT_FOUND/);

      const listed = await runCli(['purges', '--json', ...args]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout).map((p: { executionId: string }) => p.executionId)).toEqual([cancelled]);
      const table = await runCli(['purges', ...args]);
      expect(table.stdout).toMatch(/^PURGED AT\s+EXECUTION\s+WORKFLOW\s+STATUS\s+BY\s+ROWS\s+REASON/);
      expect(table.stdout).toContain('leaked password');

      const refused = await runCli(['purge', pending, ...args]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe(`aries: EXECUTION_ACTIVE: execution ${pending} is PENDING and cannot be purged: cancel it first\n`);
      expect(hasStackTrace(refused.stderr)).toBe(false);
    }, CLI_TEST_TIMEOUT_MS);

    test('aries purge without --by records the operating-system user and prints what it removed', async () => {
      const [cancelled] = await twoExecutions();
      const purged = await runCli(['purge', cancelled, ...args]);
      expect(purged.code, purged.stderr).toBe(0);
      expect(purged.stdout).toMatch(new RegExp(`^purged execution ${cancelled}\\n`));
      expect(purged.stdout).toMatch(/removed +1 execution\(s\), 0 step\(s\), \d+ journal record\(s\)/);
      const [record] = JSON.parse((await runCli(['purges', '--execution', cancelled, '--json', ...args])).stdout);
      const { userInfo } = await import('node:os');
      expect(record.purgedBy).toBe(userInfo().username);
    }, CLI_TEST_TIMEOUT_MS);
  });
}

describe('aries roles', () => {
  test('prints the SQL of the three roles under the names given', async () => {
    const result = await runCli(['roles', '--owner', 'app_owner', '--runtime', 'app_worker', '--readonly', 'app_dash']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('CREATE SCHEMA IF NOT EXISTS aries AUTHORIZATION app_owner;');
    expect(result.stdout).toContain('GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA aries TO app_worker;');
    expect(result.stdout).toContain('GRANT SELECT ON ALL TABLES IN SCHEMA aries TO app_dash;');
    expect(result.stdout).not.toMatch(/GRANT[^;]*DELETE/);
  });

  test('refuses a role name that would need quoting, with exit 2', async () => {
    const result = await runCli(['roles', '--runtime', 'Robert"; DROP']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^aries: --runtime: a role name is 1 to 63 lower-case letters/);
  });
});
