import { randomUUID } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import { defineWorkflow, type Worker, type Workflow } from '../../src/index.js';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { sqlClaim, sqlError, sqlStart } from '../helpers/sql.js';

/**
 * The waits' SQL, called directly. With the clock pinned (set_config('aries.now', …, true) in the
 * claim's transaction), a SLEEPING or WAITING execution is not claimed a millisecond before it is due
 * and is at its due time; a signal wait without a timeout is due only when its signal commits.
 * aries.send_signal refuses unknown (AR001) and finished (AR003) executions, dedupes by idempotency
 * key, and exists only if its caller's transaction commits; signal_with_start is one atomic call.
 */

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something; `what` (or what it returns, read at the end) says what was awaited. */
async function waitFor<T>(what: string | (() => string), probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`gave up after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await pause(10);
  }
}

async function status(db: Queryable, id: string) {
  const [row] = await db.query<{ status: string; lease_owner: string | null }>('SELECT status, lease_owner FROM aries.executions WHERE id = $1', [id]);
  return row;
}

const untilStatus = (db: Queryable, id: string, wanted: string) => {
  let last = '(not read)';
  return waitFor(
    () => `execution ${id} to be ${wanted} (it is ${last})`,
    async () => {
      last = (await status(db, id))?.status ?? 'missing';
      return last === wanted ? true : undefined;
    },
  );
};

async function sendSignal(db: Queryable, id: string, name: string, payload: unknown = null, key: string | null = null) {
  const [row] = await db.query<{ signal_id: string; duplicate: boolean }>(
    `SELECT signal_id::text AS signal_id, duplicate
       FROM aries.send_signal(p_execution_id => $1, p_name => $2, p_payload => $3::jsonb, p_idempotency_key => $4)`,
    [id, name, JSON.stringify(payload), key],
  );
  return row!;
}

async function signalCount(db: Queryable, id: string): Promise<number> {
  const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM aries.signals WHERE execution_id = $1', [id]);
  return row!.n;
}

describeBackends('the waits SQL functions', (b) => {
  const started: Worker[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.stop()));
  });

  /** Runs `wf` on a worker until the execution reaches `wanted`, then stops the worker: the rest is SQL. */
  async function runUntil(wf: Workflow<any, any>, wanted: string): Promise<string> {
    const w = b.engine.worker({ workflows: [wf], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    started.push(w);
    const h = await b.engine.start(wf, {});
    await untilStatus(b.engine.db, h.id, wanted);
    await w.stop();
    return h.id;
  }

  /** Claims with aries.now() pinned to the wait's wake time plus `offset` (an interval), in one transaction. */
  const claimAt = (id: string, key: string, workflowKey: string, offset: string) =>
    b.engine.db.transaction(async (tx) => {
      await tx.query(
        `SELECT set_config('aries.now', (SELECT (wake_at + $3::interval)::text FROM aries.waits WHERE execution_id = $1 AND step_key = $2), true)`,
        [id, key, offset],
      );
      return sqlClaim(tx, 'w2', [workflowKey]);
    });

  test('a SLEEPING execution is not claimed a millisecond before its wake time, nor woken by a signal, and is claimed at it', async () => {
    const wf = defineWorkflow('sqlw-sleep', async (ctx) => {
      await ctx.sleep('nap', 60_000);
      return 'woke';
    });
    const id = await runUntil(wf, 'SLEEPING');
    expect(await status(b.engine.db, id)).toEqual({ status: 'SLEEPING', lease_owner: null });
    const [w] = await b.engine.db.query<{ kind: string; planned_ms: number }>(
      `SELECT kind, (extract(epoch FROM wake_at - created_at) * 1000)::float8 AS planned_ms FROM aries.waits WHERE execution_id = $1 AND step_key = 'nap'`,
      [id],
    );
    expect(w!.kind).toBe('sleep');
    expect(w!.planned_ms).toBeGreaterThanOrEqual(60_000);
    expect(w!.planned_ms).toBeLessThan(61_000);
    expect(await claimAt(id, 'nap', 'sqlw-sleep@1', '-1 millisecond')).toHaveLength(0);
    // A signal it does not wait for is kept, and does not make it due.
    await sendSignal(b.engine.db, id, 'poke', { n: 1 });
    expect(await sqlClaim(b.engine.db, 'w2', ['sqlw-sleep@1'])).toHaveLength(0);
    expect(await claimAt(id, 'nap', 'sqlw-sleep@1', '-1 millisecond')).toHaveLength(0);
    const claimed = await claimAt(id, 'nap', 'sqlw-sleep@1', '0 seconds');
    expect(claimed.map((c) => c.id)).toEqual([id]);
    expect(await status(b.engine.db, id)).toEqual({ status: 'RUNNING', lease_owner: 'w2' });
  });

  test("a signal wait's timeout is due at its wake time, not a millisecond before", async () => {
    const wf = defineWorkflow('sqlw-signal-timeout', async (ctx) => ctx.waitForSignal('go', { timeoutMs: 60_000 }));
    const id = await runUntil(wf, 'WAITING');
    expect(await status(b.engine.db, id)).toEqual({ status: 'WAITING', lease_owner: null });
    expect(await claimAt(id, 'signal:go:1', 'sqlw-signal-timeout@1', '-1 millisecond')).toHaveLength(0);
    expect((await claimAt(id, 'signal:go:1', 'sqlw-signal-timeout@1', '0 seconds')).map((c) => c.id)).toEqual([id]);
  });

  test('a signal wait without a timeout is never due by time; a rolled-back or other-name signal does not wake it; a committed one does', async () => {
    const wf = defineWorkflow('sqlw-signal-forever', async (ctx) => ctx.waitForSignal('go'));
    const id = await runUntil(wf, 'WAITING');
    const claimInTenYears = () =>
      b.engine.db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('aries.now', (now() + interval '10 years')::text, true)`);
        return sqlClaim(tx, 'w2', ['sqlw-signal-forever@1']);
      });
    expect(await claimInTenYears()).toHaveLength(0);
    await expect(
      b.engine.db.transaction(async (tx) => {
        await sendSignal(tx, id, 'go', 'rolled back');
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await signalCount(b.engine.db, id)).toBe(0);
    expect(await sqlClaim(b.engine.db, 'w2', ['sqlw-signal-forever@1'])).toHaveLength(0);
    await sendSignal(b.engine.db, id, 'other', 'not this one');
    expect(await sqlClaim(b.engine.db, 'w2', ['sqlw-signal-forever@1'])).toHaveLength(0);
    await sendSignal(b.engine.db, id, 'go', 'this one');
    expect((await sqlClaim(b.engine.db, 'w2', ['sqlw-signal-forever@1'])).map((c) => c.id)).toEqual([id]);
  });

  test('send_signal: AR001 for an unknown execution, AR003 for a finished one, and nothing is stored', async () => {
    const unknown = randomUUID();
    expect(await sqlError(sendSignal(b.engine.db, unknown, 'go'))).toMatchObject({ code: 'AR001' });
    const cancelled = await sqlStart(b.engine.db, 'sqlw-finished');
    await b.engine.admin.cancel(cancelled.execution_id, 'gone');
    expect(await sqlError(sendSignal(b.engine.db, cancelled.execution_id, 'go'))).toMatchObject({ code: 'AR003' });
    const done = defineWorkflow('sqlw-completed', async (ctx) => ctx.step('only', () => 1));
    const w = b.engine.worker({ workflows: [done], pollIntervalMs: 20, schedulerIntervalMs: 0 });
    await w.start();
    started.push(w);
    const h = await b.engine.start(done, {});
    await h.result({ timeoutMs: 10_000 });
    expect(await sqlError(sendSignal(b.engine.db, h.id, 'go'))).toMatchObject({ code: 'AR003' });
    for (const id of [unknown, cancelled.execution_id, h.id]) expect(await signalCount(b.engine.db, id)).toBe(0);
    // An empty name is refused too.
    const open = await sqlStart(b.engine.db, 'sqlw-finished');
    await sqlError(sendSignal(b.engine.db, open.execution_id, ''));
    expect(await signalCount(b.engine.db, open.execution_id)).toBe(0);
  });

  test('send_signal dedupes by idempotency key: the same key returns the first signal as a duplicate; no key never dedupes', async () => {
    const { execution_id: id } = await sqlStart(b.engine.db, 'sqlw-idem');
    const first = await sendSignal(b.engine.db, id, 'go', { n: 1 }, 'k1');
    expect(first.duplicate).toBe(false);
    expect(await sendSignal(b.engine.db, id, 'go', { n: 2 }, 'k1')).toEqual({ signal_id: first.signal_id, duplicate: true });
    const other = await sendSignal(b.engine.db, id, 'go', { n: 3 }, 'k2');
    expect(other.duplicate).toBe(false);
    expect(other.signal_id).not.toBe(first.signal_id);
    const [x, y] = [await sendSignal(b.engine.db, id, 'go', { n: 4 }), await sendSignal(b.engine.db, id, 'go', { n: 4 })];
    expect([x.duplicate, y.duplicate]).toEqual([false, false]);
    expect(x.signal_id).not.toBe(y.signal_id);
    const rows = await b.engine.db.query<{ payload: unknown; idempotency_key: string | null }>(
      'SELECT payload, idempotency_key FROM aries.signals WHERE execution_id = $1 ORDER BY id',
      [id],
    );
    expect(rows).toEqual([
      { payload: { n: 1 }, idempotency_key: 'k1' },
      { payload: { n: 3 }, idempotency_key: 'k2' },
      { payload: { n: 4 }, idempotency_key: null },
      { payload: { n: 4 }, idempotency_key: null },
    ]);
  });

  test('signal_with_start: creates the execution and its signal together, or signals the existing one; atomic when it fails', async () => {
    await b.engine.db.query(`SELECT aries.register_workflow(p_name => 'sqlw-sws', p_version => '1')`);
    const call = (db: Queryable, signalName: string, payload: unknown, signalKey: string | null = null, key = 'sws-k') =>
      db.query<{ execution_id: string; created: boolean; signal_id: string }>(
        `SELECT execution_id, created, signal_id::text AS signal_id
           FROM aries.signal_with_start(p_workflow => 'sqlw-sws', p_version => NULL, p_input => '{"a":1}'::jsonb,
                                        p_idempotency_key => $1, p_signal_name => $2, p_payload => $3::jsonb,
                                        p_signal_idempotency_key => $4, p_timeout_ms => 60000)`,
        [key, signalName, JSON.stringify(payload), signalKey],
      );
    const [first] = await call(b.engine.db, 'msg', 'hello');
    expect(first!.created).toBe(true);
    const [exec] = await b.engine.db.query<{ status: string; input: unknown; deadline_ms: number }>(
      `SELECT status, input, (extract(epoch FROM deadline_at - created_at) * 1000)::float8 AS deadline_ms FROM aries.executions WHERE id = $1`,
      [first!.execution_id],
    );
    expect(exec).toEqual({ status: 'PENDING', input: { a: 1 }, deadline_ms: 60_000 });
    const [second] = await call(b.engine.db, 'msg', 'again', 'm-2');
    expect(second).toMatchObject({ execution_id: first!.execution_id, created: false });
    expect(second!.signal_id).not.toBe(first!.signal_id);
    const [dup] = await call(b.engine.db, 'msg', 'dropped', 'm-2');
    expect(dup).toMatchObject({ execution_id: first!.execution_id, created: false, signal_id: second!.signal_id });
    expect(await signalCount(b.engine.db, first!.execution_id)).toBe(2);

    // A bad signal under a new key starts nothing; a call in a transaction that rolls back leaves nothing.
    await sqlError(call(b.engine.db, '', 'x', null, 'sws-bad'));
    await expect(
      b.engine.db.transaction(async (tx) => {
        await call(tx, 'msg', 'x', null, 'sws-rolled-back');
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await b.engine.db.query(`SELECT id FROM aries.executions WHERE idempotency_key IN ('sws-bad', 'sws-rolled-back')`)).toEqual([]);
  });

  test("start_execution's p_timeout_ms sets the deadline on the database clock; none without it; a non-positive one is refused", async () => {
    await b.engine.db.query(`SELECT aries.register_workflow(p_name => 'sqlw-deadline', p_version => '1')`);
    const pinned = '2031-05-06 07:08:09.123+00';
    const start = (timeout: number | null) =>
      b.engine.db.transaction(async (tx) => {
        await tx.query(`SELECT set_config('aries.now', $1, true)`, [pinned]);
        const [row] = await tx.query<{ execution_id: string }>(
          `SELECT execution_id FROM aries.start_execution(p_workflow => 'sqlw-deadline', p_version => NULL, p_input => '{}'::jsonb,
                                                          p_idempotency_key => NULL, p_timeout_ms => $1)`,
          [timeout],
        );
        const [d] = await tx.query<{ exact: boolean | null; deadline_at: Date | null }>(
          `SELECT deadline_at = $2::timestamptz + $3::bigint * interval '1 millisecond' AS exact, deadline_at FROM aries.executions WHERE id = $1`,
          [row!.execution_id, pinned, timeout ?? 0],
        );
        return d!;
      });
    expect((await start(1_500)).exact).toBe(true);
    expect((await start(null)).deadline_at).toBeNull();
    await sqlError(start(0));
    await sqlError(start(-5));
  });
});
