import { afterEach, expect, test } from 'vitest';
import { defineWorkflow, WaitTimeoutError, type Worker, type Workflow } from '../../src/index.js';
import type { ExecutionDetail } from '../../src/sdk/engine-admin.js';
import { describeBackends } from '../helpers/backends.js';

/**
 * What engine.admin.getExecution tells an operator about waits, on both backends: each step's kind and
 * end (a CANCELLED or FAILED one has its real duration), what an open or settled wait waits for (a
 * sleep's wake time, a signal wait's name, since when and its timeout, a child's id and status), the
 * execution's parent and children both ways, and its mailbox (each signal with the wait that consumed it,
 * payloads previewed above the limit).
 */
const HOUR = 3_600_000;

describeBackends('observing waits', (b) => {
  const started: Worker[] = [];
  async function worker(workflows: Workflow<any, any>[]) {
    const w = b.engine.worker({ workflows, pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    started.push(w);
    return w;
  }
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.stop()));
  });

  async function until(what: string, check: (d: ExecutionDetail) => boolean, id: string, options: { truncateAboveBytes?: number } = {}) {
    const end = Date.now() + 15_000;
    for (;;) {
      const d = (await b.engine.admin.getExecution(id, options))!;
      if (check(d)) return d;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; execution is ${d.execution.status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const step = (d: ExecutionDetail, key: string) => {
    const s = d.steps.find((x) => x.key === key);
    if (!s) throw new Error(`no step "${key}" in ${d.steps.map((x) => x.key).join(', ')}`);
    return s;
  };

  test('a parent and its child: kinds, what each wait waits for, parent and children both ways, the mailbox', async () => {
    const charge = defineWorkflow('obs-charge', async (ctx, input: { amount: number }) => {
      await ctx.waitForSignal('go');
      return ctx.step('charge', () => ({ charged: input.amount }));
    });
    const order = defineWorkflow('obs-order', async (ctx) => {
      await ctx.step('prepare', () => 'ready');
      await ctx.sleep('cool-off', 30);
      const receipt = await ctx.child('charge', charge, { amount: 42 }, { timeoutMs: HOUR });
      const approval = await ctx.waitForSignal<{ by: string }>('approved', { timeoutMs: HOUR });
      return { receipt, approval };
    });
    await worker([order, charge]);
    const h = await b.engine.start(order, {});

    // The parent waits for its child, which waits for a signal.
    let parent = await until('the child wait', (d) => d.steps.some((s) => s.key === 'charge' && s.wait?.childStatus === 'WAITING'), h.id);
    expect(parent.execution.status).toBe('WAITING');
    expect(parent.execution.parent).toBeNull();
    expect(parent.steps.map((s) => [s.key, s.kind, s.status])).toEqual([
      ['prepare', 'step', 'COMPLETED'],
      ['cool-off', 'sleep', 'COMPLETED'],
      ['charge', 'child', 'WAITING'],
    ]);
    expect(step(parent, 'prepare').wait).toBeNull();
    const nap = step(parent, 'cool-off');
    expect(nap.wait).toMatchObject({ kind: 'sleep', timeoutAt: null, signal: null, childId: null });
    expect(nap.wait!.until!.getTime() - nap.wait!.since.getTime()).toBeGreaterThanOrEqual(30);
    expect(nap.wait!.settledAt!.getTime()).toBeGreaterThanOrEqual(nap.wait!.until!.getTime());
    expect(nap.endedAt).toEqual(nap.completedAt);
    const childWait = step(parent, 'charge');
    expect(childWait.endedAt).toBeNull();
    expect(childWait.wait).toMatchObject({ kind: 'child', until: null, signal: null, settledAt: null });
    expect(childWait.wait!.timeoutAt!.getTime() - childWait.wait!.since.getTime()).toBeGreaterThanOrEqual(HOUR - 1_000);
    const childId = childWait.wait!.childId!;
    expect(parent.children).toEqual([
      { id: childId, workflow: 'obs-charge', status: 'WAITING', stepKey: 'charge', createdAt: expect.any(Date), finishedAt: null },
    ]);

    let child = (await b.engine.admin.getExecution(childId))!;
    expect(child.execution.parent).toEqual({ id: h.id, stepKey: 'charge', close: 'cancel' });
    expect(child.children).toEqual([]);
    const go = step(child, 'signal:go:1');
    expect(go).toMatchObject({ kind: 'signal', status: 'WAITING', endedAt: null });
    expect(go.wait).toMatchObject({ kind: 'signal', signal: 'go', until: null, timeoutAt: null, childId: null, settledAt: null });
    expect(child.signals).toEqual([]);

    // A signal nobody waits for stays in the parent's mailbox; the child goes on and is SUB_COMMITTED.
    await b.engine.signal(h.id, 'note', { text: 'call before shipping' }, { idempotencyKey: 'note-1' });
    await b.engine.signal(childId, 'go');
    parent = await until('the signal wait', (d) => d.steps.some((s) => s.key === 'signal:approved:1'), h.id);
    expect(parent.children[0]!.status).toBe('SUB_COMMITTED');
    expect(step(parent, 'charge')).toMatchObject({ status: 'COMPLETED', output: { charged: 42 } });
    expect(step(parent, 'charge').wait).toMatchObject({ childStatus: 'SUB_COMMITTED', settledAt: expect.any(Date) });
    const approvedWait = step(parent, 'signal:approved:1');
    expect(approvedWait.wait).toMatchObject({ kind: 'signal', signal: 'approved', settledAt: null });
    expect(approvedWait.wait!.timeoutAt!.getTime() - approvedWait.wait!.since.getTime()).toBeGreaterThanOrEqual(HOUR - 1_000);
    expect(parent.signals).toEqual([
      {
        id: expect.any(String),
        name: 'note',
        payload: { text: 'call before shipping' },
        idempotencyKey: 'note-1',
        sentAt: expect.any(Date),
        consumedBy: null,
        consumedAt: null,
      },
    ]);

    // The approval arrives: consumed by the wait, journaled as its output; the child commits with its parent.
    await b.engine.signal(h.id, 'approved', { by: 'ana' });
    expect(await h.result({ timeoutMs: 15_000 })).toEqual({ receipt: { charged: 42 }, approval: { by: 'ana' } });
    parent = (await b.engine.admin.getExecution(h.id))!;
    expect(parent.signals.map((s) => [s.name, s.consumedBy])).toEqual([
      ['note', null],
      ['approved', 'signal:approved:1'],
    ]);
    expect(parent.signals[1]!.consumedAt!.getTime()).toBeGreaterThanOrEqual(parent.signals[1]!.sentAt.getTime());
    expect(step(parent, 'signal:approved:1')).toMatchObject({ status: 'COMPLETED', output: { by: 'ana' } });
    expect(parent.children[0]).toMatchObject({ id: childId, status: 'COMPLETED', finishedAt: expect.any(Date) });
    child = (await b.engine.admin.getExecution(childId))!;
    expect(child.signals.map((s) => [s.name, s.consumedBy])).toEqual([['go', 'signal:go:1']]);
    expect(step(child, 'charge').kind).toBe('step');
  });

  test('a cancelled sleep and a timed-out signal wait end with their real durations', async () => {
    const sleeper = defineWorkflow('obs-sleeper', async (ctx) => {
      await ctx.sleep('long-nap', HOUR);
    });
    const impatient = defineWorkflow('obs-impatient', async (ctx) => {
      try {
        return await ctx.waitForSignal('reply', { timeoutMs: 120 });
      } catch (err) {
        if (err instanceof WaitTimeoutError) return 'no reply';
        throw err;
      }
    });
    await worker([sleeper, impatient]);
    const s = await b.engine.start(sleeper, {});
    const i = await b.engine.start(impatient, {});
    const asleep = await until('the sleep', (d) => d.execution.status === 'SLEEPING', s.id);
    const nap = step(asleep, 'long-nap');
    expect(nap.wait!.until!.getTime() - nap.wait!.since.getTime()).toBeGreaterThanOrEqual(HOUR - 1_000);
    await new Promise((r) => setTimeout(r, 50));
    await b.engine.admin.cancel(s.id, 'not needed any more');

    const cancelled = (await b.engine.admin.getExecution(s.id))!;
    expect(cancelled.execution.status).toBe('CANCELLED');
    const stopped = step(cancelled, 'long-nap');
    expect(stopped.status).toBe('CANCELLED');
    expect(stopped.completedAt).toBeNull();
    expect(stopped.endedAt!.getTime() - stopped.startedAt.getTime()).toBeGreaterThanOrEqual(40);
    expect(stopped.wait!.settledAt).toEqual(stopped.endedAt);

    expect(await i.result({ timeoutMs: 15_000 })).toBe('no reply');
    const timedOut = step((await b.engine.admin.getExecution(i.id))!, 'signal:reply:1');
    expect(timedOut.status).toBe('FAILED');
    expect(timedOut.error?.code).toBe('WAIT_TIMEOUT');
    expect(timedOut.endedAt!.getTime() - timedOut.startedAt.getTime()).toBeGreaterThanOrEqual(120);
    expect(timedOut.wait!.settledAt!.getTime()).toBeGreaterThanOrEqual(timedOut.wait!.timeoutAt!.getTime());
  });

  test('signal payloads above the limit come back as a preview, and whole without one', async () => {
    const waiter = defineWorkflow('obs-mailbox', async (ctx) => ctx.waitForSignal('never-sent'));
    await worker([waiter]);
    const h = await b.engine.start(waiter, {});
    await until('the wait', (d) => d.execution.status === 'WAITING', h.id);
    const big = { text: 'x'.repeat(40_000) };
    await b.engine.signal(h.id, 'attachment', big);
    await b.engine.signal(h.id, 'small', 7);
    const previewed = (await b.engine.admin.getExecution(h.id, { truncateAboveBytes: 16_384 }))!;
    expect(previewed.signals.map((s) => s.name)).toEqual(['attachment', 'small']);
    expect(previewed.signals[0]!.payload).toMatchObject({ $truncated: true, bytes: JSON.stringify(big).length + 1 });
    expect(previewed.signals[1]!.payload).toBe(7);
    const whole = (await b.engine.admin.getExecution(h.id))!;
    expect(whole.signals[0]!.payload).toEqual(big);
    await b.engine.admin.cancel(h.id);
  });
});
