import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import {
  defineWorkflow,
  ExecutionNotFoundError,
  IllegalTransitionError,
  InvalidInputError,
  NotJsonSerializableError,
  PermanentError,
  WaitTimeoutError,
  type WorkflowContext,
} from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { latch } from '../helpers/latch.js';
import { seededRandom, testSeeds } from '../helpers/seeded-random.js';
import { connectionReset, executionReaders, FAST, pause, stepStatus, untilStepStatus, workerStarter } from '../helpers/waits.js';

/**
 * Signals: a durable mailbox per execution. A signal sent before the wait is kept; each is consumed by
 * exactly one wait, oldest first per name, and the consumption is journaled (a replay gets the same
 * payload); an idempotency key makes re-sending harmless; unknown and finished executions are clear
 * errors. A wait's timeout throws WaitTimeoutError, which the workflow may catch; the loser of a race is
 * cancelled and leaves the mailbox alone. aries.send_signal runs in the sender's own transaction.
 */

const { execRow, untilStatus } = executionReaders<{ status: string; lease_owner: string | null }>('status, lease_owner');

interface SignalRow {
  id: string;
  name: string;
  payload: unknown;
  consumed_by: string | null;
  consumed_at: Date | null;
}

async function mailbox(db: Queryable, id: string): Promise<SignalRow[]> {
  return db.query<SignalRow>('SELECT id::text AS id, name, payload, consumed_by, consumed_at FROM aries.signals WHERE execution_id = $1 ORDER BY id', [id]);
}

/** A workflow that waits for one signal and returns its payload (the target of most client-side tests). */
const waitsOnce = (name: string, signal = 'go') => defineWorkflow(name, async (ctx) => ctx.waitForSignal(signal));

describeBackends('signals', (b) => {
  const worker = workerStarter(b);

  test('a signal sent before the execution ever ran is kept, and its wait takes it; the consumption names the wait', async () => {
    const wf = defineWorkflow('sig-mailbox-pending', async (ctx) => {
      await ctx.step('prepare', () => 1);
      return ctx.waitForSignal<{ by: string }>('approved');
    });
    const h = await b.engine.start(wf, {}); // no worker yet: PENDING
    const sent = await b.engine.signal(h.id, 'approved', { by: 'ana' });
    expect(sent.duplicate).toBe(false);
    expect(await mailbox(b.engine.db, h.id)).toMatchObject([{ id: sent.signalId, name: 'approved', payload: { by: 'ana' }, consumed_by: null }]);
    await worker([wf]);
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ by: 'ana' });
    const [row] = await mailbox(b.engine.db, h.id);
    expect(row).toMatchObject({ id: sent.signalId, consumed_by: 'signal:approved:1' });
    expect(row!.consumed_at).toBeInstanceOf(Date);
    expect(await stepStatus(b.engine.db, h.id, 'signal:approved:1')).toBe('COMPLETED');
  });

  test('a signal sent while the workflow runs a step before its wait is kept for that wait', async () => {
    const inStep = latch();
    const gate = latch();
    const wf = defineWorkflow('sig-mailbox-running', async (ctx) => {
      await ctx.step('prepare', async () => {
        inStep.open();
        await gate.promise;
      });
      return ctx.waitForSignal<string>('go');
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await inStep.promise;
    expect((await execRow(b.engine.db, h.id)).status).toBe('RUNNING');
    await b.engine.signal(h.id, 'go', 'early');
    gate.open();
    expect(await h.result({ timeoutMs: 10_000 })).toBe('early');
    expect((await mailbox(b.engine.db, h.id)).map((s) => s.consumed_by)).toEqual(['signal:go:1']);
  });

  test.each(testSeeds([7, 19, 101]))('signals are consumed in the order sent, per name, whatever the interleaving (seed %i)', async (seed) => {
    const rng = seededRandom(seed);
    const counts: Record<string, number> = { a: rng.int(2, 4), b: rng.int(1, 3), c: rng.int(1, 3) };
    const names = Object.keys(counts);
    const perName = (order: string[]) => {
      const n: Record<string, number> = {};
      return order.map((name) => ({ name, n: (n[name] = (n[name] ?? 0) + 1) }));
    };
    const pool = names.flatMap((name) => Array.from({ length: counts[name]! }, () => name));
    const sends = perName(rng.shuffle(pool)); // the n-th send of a name carries payload `${name}${n}`
    const waits = rng.shuffle(pool); // the workflow waits for the names in another order
    const sentBeforeStart = rng.int(0, sends.length);
    const wf = defineWorkflow(`sig-order-${seed}`, async (ctx, input: { waits: string[] }) => {
      const got: [string, string][] = [];
      for (const name of input.waits) got.push([name, await ctx.waitForSignal<string>(name)]);
      return got;
    });
    const h = await b.engine.start(wf, { waits });
    const ids = new Map<string, string>();
    const send = async (s: { name: string; n: number }) => ids.set(`${s.name}${s.n}`, (await b.engine.signal(h.id, s.name, `${s.name}${s.n}`)).signalId);
    for (const s of sends.slice(0, sentBeforeStart)) await send(s);
    await worker([wf]);
    for (const s of sends.slice(sentBeforeStart)) {
      await pause(rng.int(0, 30));
      await send(s);
    }
    const got = await h.result({ timeoutMs: 15_000 });
    const context = `seed ${seed}: sends ${JSON.stringify(sends)}, waits ${JSON.stringify(waits)}, ${sentBeforeStart} sent first`;
    for (const name of names) {
      expect(got.filter(([n]) => n === name).map(([, p]) => p), context).toEqual(Array.from({ length: counts[name]! }, (_, i) => `${name}${i + 1}`));
    }
    // The n-th signal of a name was taken by the n-th wait for it, and each by exactly one.
    const rows = await mailbox(b.engine.db, h.id);
    expect(rows).toHaveLength(sends.length);
    for (const row of rows) {
      const payload = row.payload as string;
      expect(row.id, context).toBe(ids.get(payload));
      expect(row.consumed_by, context).toBe(`signal:${row.name}:${payload.slice(row.name.length)}`);
    }
  });

  test('two waits for one name each take a different signal, exactly once, and a replay hands each the same one', async () => {
    const seenByUse: unknown[] = [];
    const wf = defineWorkflow('sig-two-waits', { retry: FAST }, async (ctx) => {
      const [first, second] = await Promise.all([ctx.waitForSignal<string>('ticket'), ctx.waitForSignal<string>('ticket')]);
      await ctx.step('use', ({ attempt }) => {
        seenByUse.push([first, second]);
        if (attempt === 1) throw connectionReset(); // the execution is replayed, both waits with it
        return attempt;
      });
      return [first, second];
    });
    const h = await b.engine.start(wf, {});
    for (const t of ['t1', 't2', 't3']) await b.engine.signal(h.id, 'ticket', t);
    await worker([wf]);
    const [first, second] = await h.result({ timeoutMs: 10_000 });
    expect([first, second].sort()).toEqual(['t1', 't2']);
    expect(seenByUse).toEqual([
      [first, second],
      [first, second],
    ]);
    const rows = await mailbox(b.engine.db, h.id);
    // The journal agrees with what each wait returned; the third signal is still in the mailbox.
    expect(rows.find((r) => r.consumed_by === 'signal:ticket:1')?.payload).toBe(first);
    expect(rows.find((r) => r.consumed_by === 'signal:ticket:2')?.payload).toBe(second);
    expect(rows.find((r) => r.payload === 't3')).toMatchObject({ consumed_by: null, consumed_at: null });
  });

  test('the same idempotency key twice stores one signal: the second send is a duplicate and delivers nothing', async () => {
    const wf = defineWorkflow('sig-idempotent', async (ctx) => {
      const first = await ctx.waitForSignal('pay');
      const second = await ctx.waitForSignal('pay', { timeoutMs: 300 }).catch((e: unknown) => {
        if (e instanceof WaitTimeoutError) return 'timed out';
        throw e;
      });
      return { first, second };
    });
    const h = await b.engine.start(wf, {});
    const one = await b.engine.signal(h.id, 'pay', { n: 1 }, { idempotencyKey: 'pay-1' });
    const again = await b.engine.signal(h.id, 'pay', { n: 2 }, { idempotencyKey: 'pay-1' });
    expect(one.duplicate).toBe(false);
    expect(again).toEqual({ signalId: one.signalId, duplicate: true });
    expect((await mailbox(b.engine.db, h.id)).map((s) => s.payload)).toEqual([{ n: 1 }]);
    await worker([wf]);
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ first: { n: 1 }, second: 'timed out' });
  });

  test('a signal to an unknown execution is EXECUTION_NOT_FOUND; to a finished one ILLEGAL_TRANSITION; a FAILED one keeps it', async () => {
    const unknown = randomUUID();
    const err = await b.engine.signal(unknown, 'go', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionNotFoundError);
    expect((err as ExecutionNotFoundError).code).toBe('EXECUTION_NOT_FOUND');

    const done = defineWorkflow('sig-finished-completed', async (ctx) => ctx.step('only', () => 1));
    const saga = defineWorkflow('sig-finished-compensated', async (ctx) => {
      await ctx.step('hold', () => 1, { compensate: () => undefined });
      await ctx.step('boom', () => {
        throw new PermanentError('no');
      });
    });
    const broken = defineWorkflow('sig-finished-failed', async (ctx) => {
      await ctx.step('boom', () => {
        throw new PermanentError('no');
      });
    });
    await worker([done, saga, broken]);
    const completed = await b.engine.start(done, {});
    await completed.result({ timeoutMs: 10_000 });
    const compensated = await b.engine.start(saga, {});
    await compensated.result({ timeoutMs: 10_000 }).catch(() => undefined);
    const failed = await b.engine.start(broken, {});
    await failed.result({ timeoutMs: 10_000 }).catch(() => undefined);
    const cancelled = await b.engine.start(waitsOnce('sig-finished-cancelled'), {});
    await b.engine.admin.cancel(cancelled.id, 'no longer needed');
    expect((await execRow(b.engine.db, compensated.id)).status).toBe('COMPENSATED');
    expect((await execRow(b.engine.db, failed.id)).status).toBe('FAILED');

    for (const h of [completed, compensated, cancelled]) {
      const refused = await b.engine.signal(h.id, 'go', 1).catch((e: unknown) => e);
      expect(refused, h.id).toBeInstanceOf(IllegalTransitionError);
      expect((refused as IllegalTransitionError).code).toBe('ILLEGAL_TRANSITION');
      expect(await mailbox(b.engine.db, h.id)).toEqual([]);
    }
    // FAILED is not final (it can be recovered): the signal is kept for the recovered run.
    const kept = await b.engine.signal(failed.id, 'go', 'for later');
    expect((await mailbox(b.engine.db, failed.id)).map((s) => [s.id, s.consumed_by])).toEqual([[kept.signalId, null]]);
    const [{ n }] = (await b.engine.db.query<{ n: number }>('SELECT count(*)::int AS n FROM aries.signals WHERE execution_id = $1', [unknown])) as [{ n: number }];
    expect(n).toBe(0);
  });

  test('a wait past its timeout throws WAIT_TIMEOUT, which the workflow catches; a later signal goes to the next wait', async () => {
    let escalations = 0;
    const wf = defineWorkflow('sig-timeout', async (ctx) => {
      let first: unknown;
      try {
        first = await ctx.waitForSignal('approval', { timeoutMs: 300 });
      } catch (e) {
        first = { timedOut: e instanceof WaitTimeoutError, code: (e as { code?: string }).code };
      }
      await ctx.step('escalate', () => ++escalations);
      const second = await ctx.waitForSignal('approval');
      return { first, second };
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const waiting = await untilStatus(b.engine.db, h.id, ['WAITING']);
    expect(waiting.lease_owner).toBeNull();
    await untilStepStatus(b.engine.db, h.id, 'escalate', 'COMPLETED');
    await untilStatus(b.engine.db, h.id, ['WAITING']);
    await b.engine.signal(h.id, 'approval', { by: 'boss' });
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ first: { timedOut: true, code: 'WAIT_TIMEOUT' }, second: { by: 'boss' } });
    expect(escalations).toBe(1);
    expect((await mailbox(b.engine.db, h.id)).map((s) => s.consumed_by)).toEqual(['signal:approval:2']);
    // The timeout ran on the database clock from the moment the wait began, and the escalation came no earlier.
    const [t] = await b.engine.db.query<{ planned_ms: number; not_early: boolean }>(
      `SELECT (extract(epoch FROM w.wake_at - w.created_at) * 1000)::float8 AS planned_ms,
              (SELECT s.started_at >= w.wake_at FROM aries.steps s WHERE s.execution_id = w.execution_id AND s.step_key = 'escalate') AS not_early
         FROM aries.waits w WHERE w.execution_id = $1 AND w.step_key = 'signal:approval:1'`,
      [h.id],
    );
    expect(t!.planned_ms).toBeGreaterThanOrEqual(300);
    expect(t!.planned_ms).toBeLessThan(400);
    expect(t!.not_early).toBe(true);
  });

  test('a race of a signal wait and a sleep won by the sleep cancels the wait, and the signal goes to the next wait for its name', async () => {
    let notes = 0;
    const wf = defineWorkflow('sig-race-sleep-wins', { retry: FAST }, async (ctx) => {
      const winner = await Promise.race([
        ctx.waitForSignal<string>('decision').then((v) => ({ signal: v })),
        ctx.sleep('deadline', 300).then(() => 'deadline'),
      ]);
      await ctx.step('note', () => (notes++, winner));
      const later = await ctx.waitForSignal<string>('decision');
      await ctx.step('final', ({ attempt }) => {
        if (attempt === 1) throw connectionReset(); // the race is replayed from the journal
        return attempt;
      });
      return { winner, later };
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await untilStepStatus(b.engine.db, h.id, 'note', 'COMPLETED');
    await untilStatus(b.engine.db, h.id, ['WAITING']);
    expect(await stepStatus(b.engine.db, h.id, 'signal:decision:1')).toBe('CANCELLED');
    expect(await stepStatus(b.engine.db, h.id, 'deadline')).toBe('COMPLETED');
    await b.engine.signal(h.id, 'decision', 'yes');
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ winner: 'deadline', later: 'yes' });
    expect(notes).toBe(1);
    expect((await mailbox(b.engine.db, h.id)).map((s) => [s.payload, s.consumed_by])).toEqual([['yes', 'signal:decision:2']]);
    expect(await stepStatus(b.engine.db, h.id, 'signal:decision:1')).toBe('CANCELLED');
  });

  test('a race won by the signal cancels the sleep, and the replay after it does not sleep', async () => {
    const wf = defineWorkflow('sig-race-signal-wins', { retry: FAST }, async (ctx) => {
      const winner = await Promise.race([
        ctx.waitForSignal<{ v: number }>('go').then((v) => ({ signal: v })),
        ctx.sleep('give-up', 5_000).then(() => 'gave up'),
      ]);
      await ctx.step('after', ({ attempt }) => {
        if (attempt === 1) throw connectionReset();
        return attempt;
      });
      return winner;
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await untilStatus(b.engine.db, h.id, ['WAITING', 'SLEEPING']);
    await b.engine.signal(h.id, 'go', { v: 1 });
    // Well before the 5 s sleep could have ended, on the first run and on the replay.
    expect(await h.result({ timeoutMs: 4_000 })).toEqual({ signal: { v: 1 } });
    expect(await stepStatus(b.engine.db, h.id, 'give-up')).toBe('CANCELLED');
    expect(await stepStatus(b.engine.db, h.id, 'signal:go:1')).toBe('COMPLETED');
  });

  test("aries.send_signal in the application's transaction: rolled back, no signal and no wake; committed, delivered", async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS sig_payments (id text PRIMARY KEY, execution_id uuid NOT NULL)');
    const wf = waitsOnce('sig-sql-outbox', 'paid');
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    await untilStatus(b.engine.db, h.id, ['WAITING']);
    const pay = (tx: Queryable, id: string) =>
      tx
        .query('INSERT INTO sig_payments (id, execution_id) VALUES ($1, $2)', [id, h.id])
        .then(() =>
          tx.query<{ signal_id: string; duplicate: boolean }>(
            'SELECT signal_id::text AS signal_id, duplicate FROM aries.send_signal(p_execution_id => $1, p_name => $2, p_payload => $3::jsonb)',
            [h.id, 'paid', JSON.stringify({ payment: id })],
          ),
        );
    await expect(
      b.engine.db.transaction(async (tx) => {
        await pay(tx, 'p-rolled-back');
        throw new Error('the application changed its mind');
      }),
    ).rejects.toThrow('the application changed its mind');
    expect(await mailbox(b.engine.db, h.id)).toEqual([]);
    expect(await execRow(b.engine.db, h.id)).toEqual({ status: 'WAITING', lease_owner: null });
    const [sent] = await b.engine.db.transaction((tx) => pay(tx, 'p-committed'));
    expect(sent!.duplicate).toBe(false);
    expect(await h.result({ timeoutMs: 10_000 })).toEqual({ payment: 'p-committed' });
    expect((await mailbox(b.engine.db, h.id)).map((s) => [s.id, s.consumed_by])).toEqual([[sent!.signal_id, 'signal:paid:1']]);
    expect(await b.engine.db.query('SELECT id FROM sig_payments WHERE execution_id = $1', [h.id])).toEqual([{ id: 'p-committed' }]);
  });

  test("a signal sent from a transactional step exists only if the step's transaction commits", async () => {
    await b.engine.db.exec('CREATE TABLE IF NOT EXISTS sig_shipments (execution_id uuid NOT NULL, attempt int NOT NULL)');
    const receiver = defineWorkflow('sig-tx-receiver', async (ctx) => {
      const first = await ctx.waitForSignal('shipped');
      const second = await ctx.waitForSignal('shipped', { timeoutMs: 300 }).catch((e: unknown) => (e instanceof WaitTimeoutError ? null : Promise.reject(e)));
      return { first, second };
    });
    const sender = defineWorkflow('sig-tx-sender', { retry: FAST }, async (ctx, input: { to: string }) =>
      ctx.transaction('ship', async (tx) => {
        await tx.query('INSERT INTO sig_shipments VALUES ($1, $2)', [tx.executionId, tx.attempt]);
        await tx.query(`SELECT aries.send_signal(p_execution_id => $1, p_name => 'shipped', p_payload => $2::jsonb)`, [
          input.to,
          JSON.stringify({ attempt: tx.attempt }),
        ]);
        if (tx.attempt === 1) throw connectionReset(); // rolls back the insert and the signal; retried
        return tx.attempt;
      }),
    );
    await worker([receiver, sender]);
    const r = await b.engine.start(receiver, {});
    await untilStatus(b.engine.db, r.id, ['WAITING']);
    const s = await b.engine.start(sender, { to: r.id });
    expect(await s.result({ timeoutMs: 10_000 })).toBe(2);
    expect(await r.result({ timeoutMs: 10_000 })).toEqual({ first: { attempt: 2 }, second: null });
    expect((await mailbox(b.engine.db, r.id)).map((x) => x.payload)).toEqual([{ attempt: 2 }]);
    expect(await b.engine.db.query('SELECT attempt FROM sig_shipments WHERE execution_id = $1', [s.id])).toEqual([{ attempt: 2 }]);
  });

  test('signalWithStart starts the execution once per idempotency key and delivers every signal; a signal key dedupes', async () => {
    const wf = defineWorkflow('sig-with-start', async (ctx, input: { user: string }) => {
      const a = await ctx.waitForSignal<string>('msg');
      const c = await ctx.waitForSignal<string>('msg');
      return { user: input.user, got: [a, c] };
    });
    const first = await b.engine.signalWithStart(wf, { user: 'u1' }, { idempotencyKey: 'sws-1', signal: { name: 'msg', payload: 'hello' } });
    expect(first.created).toBe(true);
    // Started and signalled together: the signal is in the mailbox before any worker ran the execution.
    expect((await execRow(b.engine.db, first.handle.id)).status).toBe('PENDING');
    expect((await mailbox(b.engine.db, first.handle.id)).map((s) => [s.id, s.payload])).toEqual([[first.signalId, 'hello']]);
    const again = await b.engine.signalWithStart(
      wf,
      { user: 'u1' },
      { idempotencyKey: 'sws-1', signal: { name: 'msg', payload: 'again', idempotencyKey: 'm-2' } },
    );
    expect(again.created).toBe(false);
    expect(again.handle.id).toBe(first.handle.id);
    expect(again.signalId).not.toBe(first.signalId);
    const dup = await b.engine.signalWithStart(
      wf,
      { user: 'u1' },
      { idempotencyKey: 'sws-1', signal: { name: 'msg', payload: 'dropped', idempotencyKey: 'm-2' } },
    );
    expect(dup).toMatchObject({ created: false, signalId: again.signalId });
    expect((await mailbox(b.engine.db, first.handle.id)).map((s) => s.payload)).toEqual(['hello', 'again']);
    await worker([wf]);
    expect(await first.handle.result({ timeoutMs: 10_000 })).toEqual({ user: 'u1', got: ['hello', 'again'] });
    const [{ n }] = (await b.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.executions WHERE idempotency_key = 'sws-1'`)) as [
      { n: number },
    ];
    expect(n).toBe(1);
  });

  test('concurrent signalWithStart calls under one new key make one execution and deliver both signals', async () => {
    const wf = defineWorkflow('sig-with-start-race', async (ctx) => [await ctx.waitForSignal<string>('msg'), await ctx.waitForSignal<string>('msg')]);
    const calls = await Promise.all(
      ['x', 'y'].map((p) => b.engine.signalWithStart(wf, {}, { idempotencyKey: 'sws-race', signal: { name: 'msg', payload: p } })),
    );
    expect(calls.map((c) => c.created).sort()).toEqual([false, true]);
    expect(calls[0]!.handle.id).toBe(calls[1]!.handle.id);
    expect((await mailbox(b.engine.db, calls[0]!.handle.id)).map((s) => s.id).sort()).toEqual(calls.map((c) => c.signalId).sort());
    await worker([wf]);
    expect(((await calls[0]!.handle.result({ timeoutMs: 10_000 })) as string[]).sort()).toEqual(['x', 'y']);
  });

  test('a signal name that is not a non-empty string or a payload that is not JSON is refused, and nothing is stored', async () => {
    const wf = waitsOnce('sig-bad-input');
    const h = await b.engine.start(wf, {});
    const cases: [unknown, unknown, new (...args: never[]) => Error][] = [
      ['', 1, InvalidInputError],
      [42, 1, InvalidInputError],
      [null, 1, InvalidInputError],
      ['go', { at: new Date() }, NotJsonSerializableError],
      ['go', { n: 10n }, NotJsonSerializableError],
      ['go', { f: () => 1 }, NotJsonSerializableError],
      ['go', [1, Number.NaN], NotJsonSerializableError],
    ];
    for (const [name, payload, kind] of cases) {
      const err = await b.engine.signal(h.id, name as string, payload).catch((e: unknown) => e);
      expect(err, `signal(${String(name)}, …)`).toBeInstanceOf(kind);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(b.engine.signal(h.id, 'go', cyclic)).rejects.toBeInstanceOf(NotJsonSerializableError);
    expect(await mailbox(b.engine.db, h.id)).toEqual([]);
    // signalWithStart with a bad signal starts nothing either.
    await expect(b.engine.signalWithStart(wf, {}, { idempotencyKey: 'sws-bad', signal: { name: '' } })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      b.engine.signalWithStart(wf, {}, { idempotencyKey: 'sws-bad', signal: { name: 'go', payload: { at: new Date() } } }),
    ).rejects.toBeInstanceOf(NotJsonSerializableError);
    expect(await b.engine.db.query(`SELECT id FROM aries.executions WHERE idempotency_key = 'sws-bad'`)).toEqual([]);
  });

  const BAD_WAITS: [string, (ctx: WorkflowContext) => Promise<unknown>, RegExp][] = [
    ['an empty signal name', (ctx) => ctx.waitForSignal(''), /name/i],
    ['a negative timeout', (ctx) => ctx.waitForSignal('go', { timeoutMs: -5 }), /-5|negative/],
    ['a non-finite timeout', (ctx) => ctx.waitForSignal('go', { timeoutMs: Number.NaN }), /NaN|finite/],
    ['a key a step already used', (ctx) => ctx.waitForSignal('go', { key: 'prepare' }), /DuplicateStepKeyError: .*"prepare"/],
  ];

  test.each(BAD_WAITS)('a signal wait with %s fails the execution with an error naming it, and stores no wait', async (label, bad, names) => {
    const wf = defineWorkflow(`sig-bad-wait-${label.replace(/\W+/g, '-')}`, { retry: FAST }, async (ctx) => {
      await ctx.step('prepare', () => 1);
      return bad(ctx);
    });
    await worker([wf]);
    const h = await b.engine.start(wf, {});
    const err = await h.result({ timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(names);
    expect((await execRow(b.engine.db, h.id)).status).toBe('FAILED');
    expect(await b.engine.db.query('SELECT step_key FROM aries.steps WHERE execution_id = $1 AND seq >= 0', [h.id])).toEqual([{ step_key: 'prepare' }]);
    expect(await b.engine.db.query('SELECT step_key FROM aries.waits WHERE execution_id = $1', [h.id])).toEqual([]);
  });
});
