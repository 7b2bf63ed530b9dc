import { expect, test } from 'vitest';
import { createEngine, defineWorkflow, EngineClosedError, ExecutionFailedError, InvalidInputError, PermanentError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

/**
 * engine.admin's two folded reads: readJournal is the whole journal or a page of it with the LSN to go on
 * after, and listFailures pages the failures of every execution or of one.
 */
describeBackends('engine.admin', (b) => {
  const steps = defineWorkflow('admin-steps', async (ctx, input: { n: number }) => {
    for (let i = 0; i < input.n; i++) await ctx.step(`s${i}`, () => i);
    return input.n;
  });
  const failing = defineWorkflow('admin-failing', async (ctx) => {
    await ctx.step('boom', () => {
      throw new PermanentError('no');
    });
  });

  test('readJournal: the pages of a journal, read one after another, are the whole journal', async () => {
    const w = b.engine.worker({ workflows: [steps], pollIntervalMs: 20 });
    await w.start();
    try {
      const h = await b.engine.start(steps, { n: 7 });
      await h.result({ timeoutMs: 20_000 });
      const whole = await b.engine.admin.readJournal(h.id);
      expect(whole.nextAfterLsn).toBeNull();
      expect(whole.records.length).toBeGreaterThan(7);
      expect(whole.records.every((r) => r.checksumOk && r.executionLastLsn === whole.records.at(-1)!.lsn)).toBe(true);

      const paged: number[] = [];
      let afterLsn: number | null = null;
      for (let pages = 0; ; pages++) {
        expect(pages).toBeLessThan(whole.records.length);
        const page = await b.engine.admin.readJournal(h.id, { afterLsn, limit: 3 });
        expect(page.records.length).toBeLessThanOrEqual(3);
        paged.push(...page.records.map((r) => r.lsn));
        if (page.nextAfterLsn === null) break;
        expect(page.nextAfterLsn).toBe(page.records.at(-1)!.lsn);
        afterLsn = page.nextAfterLsn;
      }
      expect(paged).toEqual(whole.records.map((r) => r.lsn));

      // A page that ends exactly at the journal's end says so without another read.
      const exact = await b.engine.admin.readJournal(h.id, { limit: whole.records.length });
      expect(exact.nextAfterLsn).toBeNull();
      await expect(b.engine.admin.readJournal(h.id, { limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
      expect(await b.engine.admin.readJournal('not-a-uuid')).toEqual({ records: [], nextAfterLsn: null });
    } finally {
      await w.stop();
    }
  });

  test("listFailures: one execution's failures, or every execution's, by pages, each with its workflow", async () => {
    const w = b.engine.worker({ workflows: [failing], pollIntervalMs: 20 });
    await w.start();
    try {
      const handles = await Promise.all([1, 2, 3].map((i) => b.engine.start(failing, {}, { idempotencyKey: `admin-failing-${i}` })));
      for (const h of handles) await expect(h.result({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(ExecutionFailedError);
      const [first] = handles;
      const one = await b.engine.admin.listFailures({ executionId: first!.id });
      expect(one.failures.length).toBeGreaterThan(0);
      expect(one.failures.every((f) => f.executionId === first!.id && f.workflow === 'admin-failing')).toBe(true);

      const seen = new Set<string>();
      let cursor: string | undefined;
      do {
        const page = await b.engine.admin.listFailures({ workflow: 'admin-failing', limit: 1, cursor });
        expect(page.failures.length).toBeLessThanOrEqual(1);
        for (const f of page.failures) seen.add(f.executionId);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect([...seen].sort()).toEqual(handles.map((h) => h.id).sort());
      expect(await b.engine.admin.listFailures({ executionId: 'not-a-uuid' })).toEqual({ failures: [], nextCursor: null });
    } finally {
      await w.stop();
    }
  });

  test("a failed step ends at its step_failed record, before the next step starts; a compensated step says when its compensation completed", async () => {
    const caught = defineWorkflow('admin-caught', async (ctx) => {
      try {
        await ctx.step('bad', async () => {
          await new Promise((r) => setTimeout(r, 30));
          throw new PermanentError('caught by the workflow');
        });
      } catch {
        // the workflow goes on
      }
      await ctx.step('next', () => 'went on');
      await ctx.step('undone', () => 'booked', { compensate: () => undefined });
      await ctx.step('last', () => {
        throw new PermanentError('the saga ends here');
      });
    });
    const w = b.engine.worker({ workflows: [caught], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    try {
      const h = await b.engine.start(caught, {});
      await expect(h.result({ timeoutMs: 20_000 })).rejects.toThrow();
      const detail = (await b.engine.admin.getExecution(h.id))!;
      expect(detail.execution.status).toBe('COMPENSATED');
      const { records } = await b.engine.admin.readJournal(h.id);
      const recordAt = (kind: string, key: string) => records.filter((r) => r.kind === kind && r.stepKey === key).at(-1)!.createdAt;
      const step = (key: string) => detail.steps.find((s) => s.key === key)!;
      expect(step('bad').status).toBe('FAILED');
      expect(step('bad').endedAt).toEqual(recordAt('step_failed', 'bad'));
      expect(step('bad').endedAt!.getTime()).toBeGreaterThan(step('bad').startedAt.getTime());
      expect(step('bad').endedAt!.getTime()).toBeLessThanOrEqual(step('next').startedAt.getTime());
      expect(step('last').endedAt).toEqual(recordAt('step_failed', 'last'));
      expect(step('undone')).toMatchObject({ compensationStatus: 'COMPLETED', compensatedAt: recordAt('compensation_completed', 'undone') });
      expect(step('next')).toMatchObject({ compensationStatus: null, compensatedAt: null });
    } finally {
      await w.stop();
    }
  });

  test('the admin refuses to work once its engine is closed', async () => {
    const engine = await createEngine({ ...b.connection, onError: () => {} });
    await engine.close();
    await expect(engine.admin.listExecutions()).rejects.toBeInstanceOf(EngineClosedError);
  });
});
