import { expect, test } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { defineWorkflow, Worker } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

/** The engine's database, except that the first call `matches` fails as a dropped connection would. */
function failingOnce(db: Database, matches: (sql: string, params: readonly unknown[]) => boolean): Database {
  let failed = false;
  return {
    kind: db.kind,
    description: db.description,
    query: async <Row,>(sql: string, params?: readonly unknown[]) => {
      if (!failed && matches(sql, params ?? [])) {
        failed = true;
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      }
      return db.query<Row>(sql, params);
    },
    exec: (sql) => db.exec(sql),
    transaction: (f) => db.transaction(f),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: async () => {},
  };
}

describeBackends('a transient storage error during a write', (b) => {
  const stepWrite = (sql: string) => sql.includes('aries.record_steps_durably(');
  const writes = {
    // the end of the execution travels in the worker's group commit, as a request with "finish"
    'the final transition': (sql: string, params: readonly unknown[]) => stepWrite(sql) && String(params[0]).includes('"finish"'),
    'a step write': stepWrite,
  };
  for (const [what, matches] of Object.entries(writes)) {
    test(`on ${what}: the execution completes and no completed step runs again`, async () => {
      const runs: string[] = [];
      const wf = defineWorkflow(`transient-${what.replace(/ /g, '-')}`, async (ctx) => {
        await ctx.step('charge', () => runs.push('charge'));
        await ctx.step('ship', () => runs.push('ship'));
        return 'done';
      });
      const worker = new Worker(failingOnce(b.engine.db, matches), { workflows: [wf], pollIntervalMs: 50 });
      await worker.start();
      try {
        const h = await b.engine.start(wf, {});
        expect(await h.result({ timeoutMs: 20_000 })).toBe('done');
        // A write that fails before it reaches the database leaves nothing recorded, so at most the step
        // whose intent was being written runs again; a completed step never does.
        expect(runs.filter((r) => r === 'charge')).toHaveLength(1);
        expect(runs.filter((r) => r === 'ship').length).toBeLessThanOrEqual(2);
        expect(worker.stats.handedBack).toBe(1); // handed back once, then resumed from the journal
      } finally {
        await worker.stop();
      }
    });
  }
});
