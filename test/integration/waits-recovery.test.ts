import { expect, test } from 'vitest';
import { defineWorkflow, PermanentError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { workerStarter } from '../helpers/waits.js';

/**
 * Waits and recovery: a PERMANENT failure rolls the execution back to its last valid checkpoint, voiding
 * the waits settled after it; `recover` runs it again, and the voided waits begin again as their next
 * attempt — a sleep sleeps again, a signal wait takes again the signal its voided attempt had consumed
 * (its consumption was voided with it), a child wait finds the same child — and the journal still verifies.
 */
describeBackends('waits after a rollback and recover', (b) => {
  const worker = workerStarter(b, { concurrency: 4, pollIntervalMs: 50 });

  test('a voided sleep, signal wait and child wait begin again on recover, and the signal is taken again exactly once', async () => {
    let failNext = true;
    let childRuns = 0;
    const child = defineWorkflow('wr-child', async (ctx, n: number) => ctx.step('work', () => (childRuns++, n + 1)));
    const wf = defineWorkflow('wr-parent', { checkpoint: 'marked' }, async (ctx) => {
      const a = await ctx.step('a', () => 'a', { checkpoint: true });
      await ctx.sleep('nap', 50);
      const approval = await ctx.waitForSignal<{ by: string }>('approve');
      const kid = await ctx.child('kid', child, 1);
      await ctx.step('b', () => {
        if (failNext) {
          failNext = false;
          throw new PermanentError('not yet');
        }
        return 'b';
      });
      return { a, approval, kid };
    });
    const w = await worker([wf, child]);
    const h = await b.engine.start(wf, {});
    await b.engine.signal(h.id, 'approve', { by: 'ana' });
    await expect(h.result({ timeoutMs: 15_000 })).rejects.toMatchObject({ code: 'EXECUTION_FAILED' });
    const steps = async () =>
      Object.fromEntries(
        (
          await b.engine.db.query<{ step_key: string; status: string; attempt: number }>(
            'SELECT step_key, status, attempt FROM aries.steps WHERE execution_id = $1',
            [h.id],
          )
        ).map((s) => [s.step_key, `${s.status}/${s.attempt}`]),
      );
    // Rolled back to the checkpoint at "a": what was settled after it is voided.
    expect(await steps()).toMatchObject({ a: 'COMPLETED/1', nap: 'ROLLED_BACK/1', 'signal:approve:1': 'ROLLED_BACK/1', kid: 'ROLLED_BACK/1' });

    await b.engine.admin.recover(h.id);
    expect(await h.result({ timeoutMs: 15_000 })).toEqual({ a: 'a', approval: { by: 'ana' }, kid: 2 });
    expect(await steps()).toMatchObject({ a: 'COMPLETED/1', nap: 'COMPLETED/2', 'signal:approve:1': 'COMPLETED/2', kid: 'COMPLETED/2', b: 'COMPLETED/2' });
    const signals = await b.engine.db.query<{ consumed_by: string | null }>('SELECT consumed_by FROM aries.signals WHERE execution_id = $1', [h.id]);
    expect(signals).toEqual([{ consumed_by: 'signal:approve:1' }]);
    // One child, run once: the voided wait found it again.
    const children = await b.engine.db.query('SELECT id FROM aries.executions WHERE parent_id = $1', [h.id]);
    expect(children).toHaveLength(1);
    expect(childRuns).toBe(1);
    const journal = await b.engine.db.query<{ checksum_ok: boolean }>('SELECT checksum_ok FROM aries.read_journal(p_execution_id => $1)', [h.id]);
    expect(journal.every((r) => r.checksum_ok)).toBe(true);
    await w.stop();
  });
});
