import { expect, test } from 'vitest';
import {
  defineWorkflow,
  ExecutionNotFoundError,
  ExecutionPurgedError,
  IdempotencyConflictError,
  InvalidDefinitionError,
  InvalidInputError,
} from '../../src/index.js';
import { purgeFinished } from '../../src/db/retention.js';
import { describeBackends } from '../helpers/backends.js';
import { exists, makeExecution, rowsOf } from '../helpers/retention.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';

const DAY = 86_400_000;

/** Retention end to end: definitions register their policies, the database clock decides, kept keys answer starts. */
describeBackends('retention', (b) => {
  const report = defineWorkflow('report', { retention: { finishedMs: 30 * DAY, idempotencyKeysMs: 365 * DAY } }, async (ctx, input: { n: number }) => {
    const a = await ctx.step('gather', () => input.n);
    const c = await ctx.step('render', () => a * 2);
    return { pages: c };
  });
  const other = defineWorkflow('report-other', async () => 1);

  /** One purge pass with the database clock aheadMs ahead, in its own transaction. */
  const purgeAhead = (aheadMs: number) =>
    b.engine.db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('aries.now', (now() + $1 * interval '1 millisecond')::text, true)`, [aheadMs]);
      return purgeFinished(tx, 1_000);
    });

  test("a workflow's retention option is registered with it; its executions go once old enough on the database clock; a start under a kept key returns the old id", async () => {
    const w = b.engine.worker({ workflows: [report], pollIntervalMs: 20 });
    await w.start();
    try {
      const { workflows } = await b.engine.admin.getRetention();
      expect(workflows.find((p) => p.workflow === 'report')).toMatchObject({
        finishedMs: 30 * DAY,
        idempotencyKeysMs: 365 * DAY,
        source: 'definition',
      });
      const handles = await Promise.all([1, 2, 3].map((n) => b.engine.start(report, { n }, { idempotencyKey: `report-${n}` })));
      for (const [i, h] of handles.entries()) expect(await h.result({ timeoutMs: 20_000 })).toEqual({ pages: (i + 1) * 2 });
      const ids = handles.map((h) => h.id);

      expect(await purgeAhead(29 * DAY)).toEqual({ executions: 0, keysKept: 0, keysExpired: 0 });
      expect(await purgeAhead(31 * DAY)).toEqual({ executions: 3, keysKept: 3, keysExpired: 0 });
      expect(await rowsOf(b.engine.db, ids)).toEqual({ executions: 0, steps: 0, waits: 0, journal: 0, checkpoints: 0, failures: 0, signals: 0 });
      expect(await b.engine.admin.readExecution(ids[0]!)).toBeUndefined();

      const again = await b.engine.start(report, { n: 1 }, { idempotencyKey: 'report-1' });
      expect(again.id).toBe(ids[0]);
      expect(again.created).toBe(false);
      const err = await again.result({ timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExecutionPurgedError);
      expect(err).toBeInstanceOf(ExecutionNotFoundError);
      expect((err as ExecutionPurgedError).code).toBe('EXECUTION_NOT_FOUND');
      expect((err as ExecutionPurgedError).finalStatus).toBe('COMPLETED');
      expect((err as Error).message).toMatch(/purged by retention/);
      await expect(b.engine.start(other, {}, { idempotencyKey: 'report-2' })).rejects.toBeInstanceOf(IdempotencyConflictError);
      // A year after they finished, the keys expire too: the next purge deletes them and the key is free.
      expect(await purgeAhead(366 * DAY)).toEqual({ executions: 0, keysKept: 0, keysExpired: 3 });
    } finally {
      await w.stop();
    }
  });

  test("an operator's policy outlives a redeploy of the definition; the default covers workflows without their own", async () => {
    await b.engine.admin.setRetention({ finishedMs: DAY }, 'report');
    const w = b.engine.worker({ workflows: [report], pollIntervalMs: 20 });
    await w.start(); // registers the definition's 30 days again
    await w.stop();
    await b.engine.admin.setRetention({ finishedMs: 7 * DAY });
    const policies = await b.engine.admin.getRetention();
    expect(policies.default).toMatchObject({ workflow: null, finishedMs: 7 * DAY, idempotencyKeysMs: null, source: 'operator' });
    expect(policies.workflows.find((p) => p.workflow === 'report')).toMatchObject({ finishedMs: DAY, idempotencyKeysMs: null, source: 'operator' });

    const defaulted = await makeExecution(b.engine.db, { workflow: 'report-other', status: 'COMPLETED', finishedAgoMs: 8 * DAY });
    const young = await makeExecution(b.engine.db, { workflow: 'report-other', status: 'COMPLETED', finishedAgoMs: 6 * DAY });
    const reportOld = await makeExecution(b.engine.db, { workflow: 'report', status: 'COMPLETED', finishedAgoMs: 2 * DAY });
    const r = await b.engine.admin.purgeFinished({ batchSize: 100 });
    expect(r.executions).toBeGreaterThanOrEqual(2);
    expect(await exists(b.engine.db, defaulted)).toBe(false);
    expect(await exists(b.engine.db, reportOld)).toBe(false);
    expect(await exists(b.engine.db, young)).toBe(true);

    expect(await b.engine.admin.clearRetention('report')).toBe(true);
    expect(await b.engine.admin.clearRetention()).toBe(true);
    expect(await b.engine.admin.clearRetention()).toBe(false);
    expect(await b.engine.admin.getRetention()).toEqual({ default: null, workflows: [] });
  });

  test('bad retention input is refused before anything is stored', async () => {
    await expect(b.engine.admin.setRetention({ finishedMs: -1 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(b.engine.admin.setRetention({ finishedMs: 1.5 })).rejects.toThrow(/finishedMs/);
    await expect(b.engine.admin.setRetention({ keepMs: 5 } as never)).rejects.toThrow(/no option "keepMs"/);
    await expect(b.engine.admin.setRetention({ finishedMs: DAY }, '')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(b.engine.admin.purgeFinished({ batchSize: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    expect(() => defineWorkflow('bad-retention', { retention: { idempotencyKeysMs: 0 } }, async () => 1)).toThrow(InvalidDefinitionError);
    expect((await b.engine.admin.getRetention()).default).toBeNull();
  });

  for (const seed of testSeeds([11, 29])) {
    test(`purges running beside a worker's new executions lose nothing of theirs (seed ${seed})`, async () => {
      const random = seededRandom(seed);
      const stream = defineWorkflow('retention-stream', async (ctx, input: { i: number }) => {
        let total = 0;
        for (let s = 0; s < 4; s++) {
          total += await ctx.step(`s${s}`, async () => {
            await new Promise((resolve) => setTimeout(resolve, random.int(0, 5)));
            return input.i + s;
          });
        }
        return total;
      });
      await b.engine.admin.setRetention({ finishedMs: DAY });
      const old: string[] = [];
      for (let i = 0; i < 60; i++) {
        old.push(await makeExecution(b.engine.db, { workflow: 'retention-stream', status: 'COMPLETED', finishedAgoMs: (2 + i) * DAY }));
      }
      const w = b.engine.worker({ workflows: [stream], concurrency: 4, pollIntervalMs: 20 });
      await w.start();
      let purging = true;
      let purged = 0;
      const purger = (async () => {
        while (purging) {
          purged += (await b.engine.admin.purgeFinished({ batchSize: random.int(1, 7) })).executions;
          await new Promise((resolve) => setTimeout(resolve, random.int(0, 10)));
        }
      })();
      try {
        const handles = [];
        for (let i = 0; i < 24; i++) {
          handles.push(await b.engine.start(stream, { i }));
          await new Promise((resolve) => setTimeout(resolve, random.int(0, 15)));
        }
        const results = await Promise.all(handles.map((h) => h.result({ timeoutMs: 30_000 })));
        expect(results).toEqual(handles.map((_, i) => 4 * i + 6));
        for (const h of handles) {
          const detail = await b.engine.admin.getExecution(h.id);
          expect(detail?.execution.status).toBe('COMPLETED');
          expect(detail?.steps.map((s) => s.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
          const journal = await b.engine.admin.readJournal(h.id);
          expect(journal.records.every((r) => r.checksumOk)).toBe(true);
          expect(journal.records.at(-1)?.kind).toBe('execution_completed');
        }
      } finally {
        purging = false;
        await purger;
        await w.stop();
      }
      // What the passes during the run left (a pass may have found none eligible between two batches).
      for (let n = -1; n !== 0; purged += n) n = (await b.engine.admin.purgeFinished({ batchSize: 50 })).executions;
      expect((await rowsOf(b.engine.db, old)).executions).toBe(0);
      expect(purged).toBeGreaterThan(0);
      await b.engine.admin.clearRetention();
    });
  }
});
