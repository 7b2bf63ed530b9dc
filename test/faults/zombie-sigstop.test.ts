/**
 * A resumed zombie does not start a side effect it no longer owns. A worker process is stopped (SIGSTOP)
 * just as the intent of its next step commits: its write was held on the execution's row lock by the
 * test, the process stopped while waiting, the lock released, so the intent commits and its answer waits
 * in the socket. The stop outlasts the lease; another worker takes the execution over and completes it.
 * Then the zombie is resumed (SIGCONT): it reads the answer first, at once, before any timer runs. Its
 * confirmation of the lease is older than the lease by its own monotonic clock, so it renews before the
 * body, finds the lease taken, and abandons the run: no body of `second` began in its process.
 *
 * Server only: an embedded data dir belongs to one process (the in-process check is tested on both
 * backends in test/integration/lease-confirmation.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { serverEnabled } from '../helpers/backends.js';
import { events, killAll, ROOT } from '../helpers/crash-children.js';
import { createTestDatabase } from '../helpers/server.js';
import { ZOMBIE_EFFECTS_DDL, zombieWorkflow, type ZombieEffect } from '../fixtures/zombie-workflow.js';

const LEASE_MS = 1_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

(serverEnabled() ? describe : describe.skip)('a worker stopped past its lease right before a step body [postgres]', () => {
  let url = '';
  let drop: (() => Promise<void>) | undefined;
  let engine: Engine | undefined;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    const db = await createTestDatabase('zombie_sigstop');
    url = db.url;
    drop = db.drop;
    engine = await createEngine({ databaseUrl: url, onError: () => {} });
    await engine.db.exec(ZOMBIE_EFFECTS_DDL);
  });
  afterAll(async () => {
    for (const child of children) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGCONT');
    killAll(children);
    await engine?.close();
    await drop?.();
  });

  test('does not start the body after SIGCONT: it renews first, finds the lease taken over, and abandons the run', async () => {
    const e = engine!;
    const workflow = zombieWorkflow(e, 'worker-B');
    const handle = await e.start(workflow, null);

    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'test/fixtures/zombie-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, ZOMBIE_DATABASE_URL: url, ZOMBIE_LEASE_MS: String(LEASE_MS) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));

    const lock = new pg.Client({ connectionString: url });
    await lock.connect();
    try {
      await until('the body of first in the child', async () => events(stdout).some((ev) => ev.event === 'first'));
      // Hold the execution's row: the child's next write (first's completion and second's intent) waits on it.
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM aries.executions WHERE id = $1 FOR UPDATE', [handle.id]);
      child.stdin.write('go\n');
      await until('the child waiting on the row lock', async () => {
        const [row] = await e.db.query<{ n: number | string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%record_steps_durably%'`,
        );
        return Number(row!.n) > 0;
      });
      process.kill(child.pid!, 'SIGSTOP');
      await lock.query('COMMIT');
      // The intent of second commits while the child is stopped.
      await until('second started under the child', async () => {
        const [row] = await e.db.query<{ status: string }>(
          `SELECT status FROM aries.steps WHERE execution_id = $1 AND step_key = 'second'`,
          [handle.id],
        );
        return row?.status === 'RUNNING';
      });
      await until('the child lease to expire', async () => {
        const [row] = await e.db.query<{ expired: boolean }>(
          'SELECT lease_expires_at < aries.now() AS expired FROM aries.executions WHERE id = $1',
          [handle.id],
        );
        return row!.expired;
      });
      const workerB = e.worker({ workflows: [workflow], concurrency: 1, leaseMs: LEASE_MS, pollIntervalMs: 50, schedulerIntervalMs: 0, id: 'worker-B' });
      await workerB.start();
      try {
        expect(await handle.result({ timeoutMs: 20_000 })).toBe('done');
      } finally {
        await workerB.stop();
      }
      process.kill(child.pid!, 'SIGCONT');
      expect(await exited, `the zombie worker failed:\n${stderr}`).toBe(0);
    } finally {
      await lock.end().catch(() => {});
    }

    const stats = events(stdout).find((ev) => ev.event === 'stats')?.stats as Record<string, number> | undefined;
    expect(stats).toMatchObject({ claimed: 1, completed: 0, leaseLost: 1 });
    const effects = await e.db.query<ZombieEffect>(
      'SELECT step_key, attempt, pid, worker FROM zombie_effects WHERE execution_id = $1 ORDER BY id',
      [handle.id],
    );
    // first by the zombie, then everything else by worker B: the zombie began no body after it resumed.
    expect(effects.map((x) => [x.step_key, x.attempt, x.worker === 'worker-B' ? 'B' : 'zombie'])).toEqual([
      ['first', 1, 'zombie'],
      ['second', 2, 'B'],
      ['third', 1, 'B'],
    ]);
    expect(effects.filter((x) => x.pid === child.pid).map((x) => x.step_key)).toEqual(['first']);
  });
});
