import { expect, test } from 'vitest';
import { defineWorkflow, type Workflow } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { waitForStepCompleted } from '../helpers/sql.js';

/**
 * Replay from the journal, driven in-process: an execution is left RUNNING under an expired lease (as if
 * its worker died between steps), then a worker resumes it.
 */
describeBackends('replay from the journal', (b) => {
  async function runUntil(wf: Workflow<any, any>, stopAfterStep: string) {
    // A first worker runs the execution until `stopAfterStep` completes, then "dies": it is stopped with
    // its lease left in place and the lease is expired by hand.
    let reached!: () => void;
    const atStep = new Promise<void>((r) => (reached = r));
    const hold = new Promise<void>(() => {});
    const probe = defineWorkflow(wf.name, { version: wf.version, checkpoint: wf.checkpoint, retry: wf.retry }, async (ctx, input) => {
      const proxy = Object.create(ctx) as typeof ctx;
      proxy.step = async (key, fn, opts) => {
        const out = await ctx.step(key, fn, opts);
        if (key === stopAfterStep) {
          // The completion normally travels with the next step's intent; the flush timer writes it alone
          // when none comes: the worker "dies" once the step committed.
          await waitForStepCompleted(b.engine.db, ctx.executionId, key);
          reached();
          await hold; // never resumes: this worker is "dead" from here on
        }
        return out;
      };
      return wf.fn(proxy, input);
    });
    const w = b.engine.worker({ workflows: [probe], pollIntervalMs: 50, shutdownTimeoutMs: 10 });
    await w.start();
    const h = await b.engine.start(wf, { n: 1 });
    await atStep;
    await w.stop(); // gives up waiting; the execution stays RUNNING under its lease
    await b.engine.db.query(`UPDATE aries.executions SET lease_expires_at = now() - interval '1 s' WHERE id = $1`, [h.id]);
    return h;
  }

  test('a resumed execution returns recorded outputs and never re-runs a completed step', async () => {
    const runs: string[] = [];
    const wf = defineWorkflow('replay-a', async (ctx) => {
      const a = await ctx.step('a', () => (runs.push('a'), { v: Math.random() }));
      const bb = await ctx.step('b', () => (runs.push('b'), a.v));
      const c = await ctx.step('c', () => (runs.push('c'), 3));
      return { same: a.v === bb, c };
    });
    const h = await runUntil(wf, 'b');
    expect(runs).toEqual(['a', 'b']);
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w2.start();
    expect(await h.result({ timeoutMs: 20_000 })).toEqual({ same: true, c: 3 });
    expect(runs).toEqual(['a', 'b', 'c']);
    expect(w2.stats).toMatchObject({ stepsReplayed: 2, stepsRun: 1, completed: 1 });
    const execution = (await b.engine.admin.getExecution(h.id))!.execution;
    expect(execution.claimCount).toBe(2);
    await w2.stop();
  });

  test('a different step where a recorded one was raises a NondeterminismError before it runs, and keeps the journal', async () => {
    const v1 = defineWorkflow('replay-b', async (ctx) => {
      await ctx.step('reserve', () => 1);
      await ctx.step('charge', () => 2);
    });
    const h = await runUntil(v1, 'reserve');
    let validated = false;
    const changed = defineWorkflow('replay-b', async (ctx) => {
      await ctx.step('validate', () => ((validated = true), 0)); // inserted before "reserve": a new deploy of the same version
      await ctx.step('reserve', () => 1);
    });
    const w2 = b.engine.worker({ workflows: [changed], pollIntervalMs: 50 });
    await w2.start();
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('NondeterminismError');
    // Caught before the new step runs: the recorded "reserve" can no longer be reached before it.
    expect((err as Error).message).toContain('now runs step "validate", which its journal never recorded');
    expect((err as Error).message).toContain('recorded steps it no longer reaches remain ("reserve")');
    expect(validated).toBe(false);
    const kinds = (await b.engine.admin.readJournal(h.id)).records.map((r) => `${r.kind}:${r.stepKey ?? ''}`);
    expect(kinds).toContain('step_completed:reserve');
    await w2.stop();
  });

  test('a journal record altered in place is detected by its checksum and never replayed', async () => {
    const seen: unknown[] = [];
    const wf = defineWorkflow('replay-c', async (ctx) => {
      const amount = await ctx.step('quote', () => 100);
      seen.push(amount);
      await ctx.step('pay', () => amount);
    });
    const h = await runUntil(wf, 'quote');
    await b.engine.db.exec('ALTER TABLE aries.journal DISABLE TRIGGER journal_append_only, DISABLE TRIGGER journal_deleted_with_execution');
    await b.engine.db.query(
      `UPDATE aries.journal SET payload = '1000000' WHERE execution_id = $1 AND kind = 'step_completed' AND step_key = 'quote'`,
      [h.id],
    );
    await b.engine.db.exec('ALTER TABLE aries.journal ENABLE TRIGGER journal_append_only, ENABLE TRIGGER journal_deleted_with_execution');
    seen.length = 0;
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w2.start();
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/JournalCorruptError: journal record \d+ \(step_completed of step "quote"\).*does not match its checksum/);
    expect(seen).toEqual([]); // the corrupt output never reached the workflow
    const [f] = await b.engine.db.query<{ source: string }>('SELECT source FROM aries.failures WHERE execution_id = $1', [h.id]);
    expect(f!.source).toBe('data');
    await w2.stop();
  });

  test('a journal record removed from the chain after the last checkpoint is detected', async () => {
    // Checkpoints only where marked (none here): recovery reads the whole journal, and verifies its chain.
    const wf = defineWorkflow('replay-d', { checkpoint: 'marked' }, async (ctx) => {
      await ctx.step('one', () => 1);
      await ctx.step('two', () => 2);
    });
    const h = await runUntil(wf, 'one');
    await b.engine.db.exec('ALTER TABLE aries.journal DISABLE TRIGGER journal_append_only, DISABLE TRIGGER journal_deleted_with_execution');
    await b.engine.db.query(`DELETE FROM aries.journal WHERE execution_id = $1 AND kind = 'step_started'`, [h.id]);
    await b.engine.db.exec('ALTER TABLE aries.journal ENABLE TRIGGER journal_append_only, ENABLE TRIGGER journal_deleted_with_execution');
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w2.start();
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('a record is missing or was moved');
    await w2.stop();
  });

  test('a journal whose last records were removed is detected against the execution', async () => {
    const marked = defineWorkflow('replay-g', { checkpoint: 'marked' }, async (ctx) => {
      await ctx.step('one', () => 1);
      await ctx.step('two', () => 2);
      await ctx.step('three', () => 3);
    });
    const h = await runUntil(marked, 'two');
    await b.engine.db.exec('ALTER TABLE aries.journal DISABLE TRIGGER journal_append_only, DISABLE TRIGGER journal_deleted_with_execution');
    await b.engine.db.query(
      `DELETE FROM aries.journal WHERE execution_id = $1 AND lsn = (SELECT max(lsn) FROM aries.journal WHERE execution_id = $1)`,
      [h.id],
    );
    await b.engine.db.exec('ALTER TABLE aries.journal ENABLE TRIGGER journal_append_only, ENABLE TRIGGER journal_deleted_with_execution');
    const w2 = b.engine.worker({ workflows: [marked], pollIntervalMs: 50 });
    await w2.start();
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('records at its end are missing');
    await w2.stop();
  });

  test('a step output record removed before the last checkpoint is found missing when replay needs it', async () => {
    const wf = defineWorkflow('replay-f', async (ctx) => {
      await ctx.step('one', () => 1);
      await ctx.step('two', () => 2);
      await ctx.step('three', () => 3);
    });
    const h = await runUntil(wf, 'two');
    await b.engine.db.exec('ALTER TABLE aries.journal DISABLE TRIGGER journal_append_only, DISABLE TRIGGER journal_deleted_with_execution');
    await b.engine.db.query(
      `DELETE FROM aries.journal WHERE execution_id = $1 AND lsn = (SELECT max(lsn) FROM aries.journal WHERE execution_id = $1)`,
      [h.id],
    );
    await b.engine.db.exec('ALTER TABLE aries.journal ENABLE TRIGGER journal_append_only, ENABLE TRIGGER journal_deleted_with_execution');
    const w2 = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w2.start();
    const err = await h.result({ timeoutMs: 20_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/journal record \d+ \(step_completed of step "two"\).*is missing; it will not be replayed/);
    await w2.stop();
  });

  test('a record copied from another execution does not verify there', async () => {
    const wf = defineWorkflow('replay-e', async (ctx) => ctx.step('x', () => 'mine'));
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 50 });
    await w.start();
    const [h1, h2] = [await b.engine.start(wf, {}), await b.engine.start(wf, {})];
    await Promise.all([h1.result(), h2.result()]);
    await w.stop();
    const [checks] = await b.engine.db.query<{ ok: boolean }>(
      `SELECT j.checksum = aries.journal_checksum($2, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload) AS ok
         FROM aries.journal j WHERE j.execution_id = $1 AND j.kind = 'step_completed'`,
      [h1.id, h2.id],
    );
    expect(checks!.ok).toBe(false);
  });
});
