import { expect, test } from 'vitest';
import { createEngine, defineWorkflow } from '../../src/index.js';
import type { PgDatabase } from '../../src/db/pg-database.js';
import { serverEnabled } from '../helpers/backends.js';
import { createTestDatabase } from '../helpers/server.js';

// The LISTEN connection dropping (a server restart, a proxy timeout) must not leave workers on polling
// alone: the adapter reconnects and listens again.
test.skipIf(!serverEnabled())('a worker listens again after its LISTEN connection is terminated', async () => {
  const db = await createTestDatabase('relisten');
  const engine = await createEngine({ databaseUrl: db.url, onError: () => {} });
  try {
    const wf = defineWorkflow('relisten', async (ctx) => ctx.step('one', () => 1));
    const worker = engine.worker({ workflows: [wf], pollIntervalMs: 60_000 }); // polling cannot rescue it
    await worker.start();
    const pgdb = engine.db as PgDatabase;
    expect(pgdb.isListening).toBe(true);
    const listenerPid = async () =>
      (
        await engine.db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'aries-listener'`,
        )
      ).map((r) => r.pid);
    const [before] = await listenerPid();
    await engine.db.query('SELECT pg_terminate_backend($1)', [before]);
    const deadline = Date.now() + 15_000;
    let after: number[] = [];
    while (Date.now() < deadline) {
      after = await listenerPid();
      if (after.length === 1 && after[0] !== before && pgdb.isListening) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
    // The new connection carries the wake-ups: with a one-minute poll, only NOTIFY can start this in time.
    const h = await engine.start(wf, {});
    expect(await h.result({ timeoutMs: 10_000 })).toBe(1);
    await worker.stop();
  } finally {
    await engine.close();
    await db.drop();
  }
});
