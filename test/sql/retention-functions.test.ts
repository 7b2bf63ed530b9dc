import { expect, test } from 'vitest';
import { describeBackends } from '../helpers/backends.js';
import { exists, makeExecution, purge, rowsOf } from '../helpers/retention.js';
import { sqlError, sqlStart } from '../helpers/sql.js';

const DAY = 86_400_000;

describeBackends('aries.purge_finished', (b) => {
  const db = () => b.engine.db;
  const setPolicy = (workflow: string | null, finishedMs: number | null, keysMs: number | null = null) =>
    db().query('SELECT aries.set_retention_policy(p_workflow => $1, p_finished_ms => $2, p_idempotency_keys_ms => $3)', [
      workflow,
      finishedMs,
      keysMs,
    ]);
  const clear = async () => {
    await db().exec('DELETE FROM aries.retention_policies');
    // Nothing left over from an earlier test is eligible afterwards: each test starts from an empty slate.
    while ((await purgeAll()) > 0);
  };
  const purgeAll = async () => {
    await setPolicy(null, 1);
    const r = await purge(db(), 100_000, 1000 * DAY);
    await db().exec('DELETE FROM aries.retention_policies');
    return r.executions;
  };

  test('purge_finished without any policy deletes nothing (executions are kept for ever)', async () => {
    await clear();
    const id = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 3650 * DAY });
    expect(await purge(db())).toEqual({ executions: 0, keys_kept: 0, keys_expired: 0 });
    expect(await exists(db(), id)).toBe(true);
  });

  test('purge_finished deletes only COMPLETED, COMPENSATED and CANCELLED executions older than the default policy', async () => {
    await clear();
    await setPolicy(null, 7 * DAY);
    const old = await Promise.all(
      (['COMPLETED', 'COMPENSATED', 'CANCELLED'] as const).map((status) => makeExecution(db(), { status, finishedAgoMs: 8 * DAY })),
    );
    const young = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 6 * DAY });
    const failed = await makeExecution(db(), { status: 'FAILED' });
    const running = await makeExecution(db(), { status: 'RUNNING' });
    const waiting = await makeExecution(db(), { status: 'WAITING' });
    expect(await purge(db())).toEqual({ executions: 3, keys_kept: 0, keys_expired: 0 });
    for (const id of old) expect(await exists(db(), id)).toBe(false);
    for (const id of [young, failed, running, waiting]) expect(await exists(db(), id)).toBe(true);
    // The same, two days later on the database clock: the young one is old enough now; FAILED never is.
    expect((await purge(db(), 1000, 2 * DAY)).executions).toBe(1);
    expect(await exists(db(), young)).toBe(false);
    expect(await exists(db(), failed)).toBe(true);
  });

  test('purge_finished deletes every row that hangs off a purged execution: journal, steps, waits, checkpoints, failures, signals', async () => {
    await clear();
    await setPolicy(null, DAY);
    const ids = await Promise.all([1, 2, 3].map(() => makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 2 * DAY })));
    const before = await rowsOf(db(), ids);
    for (const n of Object.values(before)) expect(n).toBeGreaterThanOrEqual(3);
    await purge(db());
    expect(await rowsOf(db(), ids)).toEqual({ executions: 0, steps: 0, waits: 0, journal: 0, checkpoints: 0, failures: 0, signals: 0 });
  });

  test("a workflow's own policy replaces the default for it, longer or shorter", async () => {
    await clear();
    await setPolicy(null, 10 * DAY);
    await setPolicy('short-lived', DAY);
    await setPolicy('long-lived', 100 * DAY);
    const short = await makeExecution(db(), { workflow: 'short-lived', status: 'COMPLETED', finishedAgoMs: 2 * DAY });
    const long = await makeExecution(db(), { workflow: 'long-lived', status: 'COMPLETED', finishedAgoMs: 20 * DAY });
    const other = await makeExecution(db(), { workflow: 'defaulted', status: 'COMPLETED', finishedAgoMs: 20 * DAY });
    const otherYoung = await makeExecution(db(), { workflow: 'defaulted', status: 'COMPLETED', finishedAgoMs: 2 * DAY });
    expect((await purge(db())).executions).toBe(2);
    expect(await exists(db(), short)).toBe(false);
    expect(await exists(db(), other)).toBe(false);
    expect(await exists(db(), long)).toBe(true);
    expect(await exists(db(), otherYoung)).toBe(true);
    // A workflow whose policy keeps finished executions for ever (finished_ms NULL) is not purged by the default.
    await setPolicy('long-lived', null);
    expect((await purge(db(), 1000, 1000 * DAY)).executions).toBe(1);
    expect(await exists(db(), long)).toBe(true);
  });

  test("purge_finished deletes at most p_batch executions per call, a workflow's oldest first", async () => {
    await clear();
    await setPolicy(null, DAY);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push(await makeExecution(db(), { workflow: 'batched', status: 'COMPLETED', finishedAgoMs: (30 + i) * DAY }));
    // ids[i] finished 30 + i days ago: the first pass takes the ten oldest.
    const counts: number[] = [(await purge(db(), 10)).executions];
    expect((await rowsOf(db(), ids.slice(15))).executions).toBe(0);
    expect((await rowsOf(db(), ids.slice(0, 15))).executions).toBe(15);
    for (let r = await purge(db(), 10); ; r = await purge(db(), 10)) {
      counts.push(r.executions);
      if (r.executions === 0) break;
    }
    expect(counts).toEqual([10, 10, 5, 0]);
    expect((await rowsOf(db(), ids)).executions).toBe(0);
  });

  test('children: one whose parent still exists is kept (SUB_COMMITTED too); a finished tree goes whole; a tree with a FAILED child is kept', async () => {
    await clear();
    await setPolicy(null, DAY);
    const waitingParent = await makeExecution(db(), { status: 'WAITING' });
    const subCommitted = await makeExecution(db(), { status: 'SUB_COMMITTED', parentId: waitingParent });
    const doneChild = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 5 * DAY, parentId: waitingParent });
    const doneParent = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 5 * DAY });
    const child = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 5 * DAY, parentId: doneParent });
    const grandchild = await makeExecution(db(), { status: 'CANCELLED', finishedAgoMs: 5 * DAY, parentId: child });
    const keptParent = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 5 * DAY });
    const failedChild = await makeExecution(db(), { status: 'FAILED', parentId: keptParent });
    expect((await purge(db())).executions).toBe(3);
    for (const id of [doneParent, child, grandchild]) expect(await exists(db(), id)).toBe(false);
    for (const id of [waitingParent, subCommitted, doneChild, keptParent, failedChild]) expect(await exists(db(), id)).toBe(true);
    expect((await rowsOf(db(), [doneParent, child, grandchild])).journal).toBe(0);
  });

  test('trees kept for an unfinished child do not take the room of younger executions in a batch', async () => {
    await clear();
    await setPolicy(null, DAY);
    const parents: string[] = [];
    for (let i = 0; i < 3; i++) {
      const parent = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: (50 + i) * DAY });
      await makeExecution(db(), { status: 'FAILED', parentId: parent });
      parents.push(parent);
    }
    const younger = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 2 * DAY });
    expect((await purge(db(), 2)).executions).toBe(1);
    expect(await exists(db(), younger)).toBe(false);
    for (const p of parents) expect(await exists(db(), p)).toBe(true);
  });

  test('an idempotency key outlives its purged execution while its workflow keeps keys longer, and is deleted once expired', async () => {
    await clear();
    await setPolicy('keyed', DAY, 30 * DAY);
    const started = await sqlStart(db(), 'keyed', 'order-7');
    await db().query(`UPDATE aries.executions SET status = 'RUNNING', lease_owner = 'w', lease_expires_at = now() + interval '1 hour' WHERE id = $1`, [
      started.execution_id,
    ]);
    await db().query(
      `UPDATE aries.executions SET status = 'COMPLETED', lease_owner = NULL, lease_expires_at = NULL, output = '1',
              finished_at = now() - interval '2 days' WHERE id = $1`,
      [started.execution_id],
    );
    const unkeyed = await makeExecution(db(), { workflow: 'keyed', status: 'COMPLETED', finishedAgoMs: 2 * DAY });
    expect(await purge(db())).toEqual({ executions: 2, keys_kept: 1, keys_expired: 0 });
    expect(await exists(db(), unkeyed)).toBe(false);

    const again = await sqlStart(db(), 'keyed', 'order-7');
    expect(again).toEqual({ execution_id: started.execution_id, created: false, status: 'COMPLETED', debounced: false });
    const [n] = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.executions WHERE idempotency_key = 'order-7'`);
    expect(n!.n).toBe(0);
    const conflict = await sqlError(sqlStart(db(), 'another-workflow', 'order-7'));
    expect(conflict.code).toBe('AR007');
    expect(conflict.message).toContain('keyed');

    // 30 days after it finished the key is no longer honoured, and a purge deletes it.
    expect(await purge(db(), 1000, 27 * DAY)).toEqual({ executions: 0, keys_kept: 0, keys_expired: 0 });
    expect(await purge(db(), 1000, 29 * DAY)).toEqual({ executions: 0, keys_kept: 0, keys_expired: 1 });
    const fresh = await sqlStart(db(), 'keyed', 'order-7');
    expect(fresh.created).toBe(true);
    expect(fresh.execution_id).not.toBe(started.execution_id);
  });

  test('a key whose retention is not longer than the body goes with it', async () => {
    await clear();
    await setPolicy('same-length', DAY, DAY);
    const id = await makeExecution(db(), { workflow: 'same-length', status: 'COMPLETED', finishedAgoMs: 2 * DAY, key: 'gone-with-body' });
    expect(await purge(db())).toEqual({ executions: 1, keys_kept: 0, keys_expired: 0 });
    const again = await sqlStart(db(), 'same-length', 'gone-with-body');
    expect(again.created).toBe(true);
    expect(again.execution_id).not.toBe(id);
  });

  test("an operator's policy is not overwritten by a definition's registration; a definition's is replaced or removed by the next", async () => {
    await clear();
    const register = (workflow: string, finishedMs: number | null, keysMs: number | null = null) =>
      db().query('SELECT aries.register_retention_policy(p_workflow => $1, p_finished_ms => $2, p_idempotency_keys_ms => $3)', [
        workflow,
        finishedMs,
        keysMs,
      ]);
    const policy = async (workflow: string) =>
      (
        await db().query<{ finished_ms: number | null; idempotency_keys_ms: number | null; source: string }>(
          'SELECT finished_ms::float8 AS finished_ms, idempotency_keys_ms::float8 AS idempotency_keys_ms, source FROM aries.retention_policies WHERE workflow_name = $1',
          [workflow],
        )
      )[0];
    await register('defined', 30 * DAY, 365 * DAY);
    expect(await policy('defined')).toEqual({ finished_ms: 30 * DAY, idempotency_keys_ms: 365 * DAY, source: 'definition' });
    await register('defined', 10 * DAY);
    expect(await policy('defined')).toEqual({ finished_ms: 10 * DAY, idempotency_keys_ms: null, source: 'definition' });
    await setPolicy('defined', DAY);
    await register('defined', 30 * DAY, 365 * DAY);
    expect(await policy('defined')).toEqual({ finished_ms: DAY, idempotency_keys_ms: null, source: 'operator' });
    await register('defined', null, null);
    expect((await policy('defined'))?.source).toBe('operator');
    await register('undefined-later', 5 * DAY);
    await register('undefined-later', null, null);
    expect(await policy('undefined-later')).toBeUndefined();
  });

  test('bad input is refused with AR011: a batch below 1, a duration that is not positive, the reserved name', async () => {
    expect((await sqlError(db().query('SELECT * FROM aries.purge_finished(p_batch => 0)'))).code).toBe('AR011');
    expect((await sqlError(setPolicy(null, 0))).code).toBe('AR011');
    const keys = await sqlError(setPolicy('x', DAY, -5));
    expect(keys.code).toBe('AR011');
    expect(keys.message).toContain('idempotencyKeysMs');
    expect((await sqlError(setPolicy('*', DAY))).code).toBe('AR011');
  });

  test('the journal still refuses a direct DELETE, UPDATE or TRUNCATE (AR008), also of many rows at once', async () => {
    await clear();
    const a = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: DAY });
    const c = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: DAY });
    for (const sql of [
      `DELETE FROM aries.journal WHERE execution_id = '${a}'`,
      `DELETE FROM aries.journal WHERE execution_id IN ('${a}', '${c}')`,
      `UPDATE aries.journal SET payload = '"forged"' WHERE execution_id = '${a}'`,
      'TRUNCATE aries.journal',
    ]) {
      const err = await sqlError(db().query(sql));
      expect(err.code, sql).toBe('AR008');
    }
    expect((await rowsOf(db(), [a, c])).journal).toBe(2);
    // Deleting the execution row itself still takes its journal with it.
    await db().query('DELETE FROM aries.executions WHERE id = $1', [a]);
    expect((await rowsOf(db(), [a])).journal).toBe(0);
  });

  test('a purge skips an execution another transaction holds, and takes it on a later pass', async () => {
    if (b.name !== 'postgres') return; // one connection in PGlite: no second transaction to hold a row
    await clear();
    await setPolicy(null, DAY);
    const held = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 3 * DAY });
    const free = await makeExecution(db(), { status: 'COMPLETED', finishedAgoMs: 2 * DAY });
    const during = await db().transaction(async (tx) => {
      await tx.query('SELECT 1 FROM aries.executions WHERE id = $1 FOR UPDATE', [held]);
      return purge(db());
    });
    expect(during.executions).toBe(1);
    expect(await exists(db(), free)).toBe(false);
    expect(await exists(db(), held)).toBe(true);
    expect((await purge(db())).executions).toBe(1);
    expect(await exists(db(), held)).toBe(false);
  });

  test('a start under a key that a purge moves to the kept keys meanwhile returns the purged execution, not a new one', async () => {
    if (b.name !== 'postgres') return; // needs a second connection to race the purge's transaction
    await clear();
    await setPolicy('raced', DAY, 30 * DAY);
    const id = await makeExecution(db(), { workflow: 'raced', status: 'COMPLETED', finishedAgoMs: 2 * DAY, key: 'raced-key' });
    let start: Promise<{ execution_id: string; created: boolean; status: string }> | undefined;
    await db().transaction(async (tx) => {
      const [r] = await tx.query<{ executions: number; keys_kept: number }>('SELECT * FROM aries.purge_finished(p_batch => 10)');
      expect(r).toMatchObject({ executions: 1, keys_kept: 1 });
      // This start's insert waits on the row the purge deleted under the key, until the purge commits.
      start = sqlStart(db(), 'raced', 'raced-key');
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    expect(await start).toEqual({ execution_id: id, created: false, status: 'COMPLETED', debounced: false });
    const [n] = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.executions WHERE idempotency_key = 'raced-key'`);
    expect(n!.n).toBe(0);
  });
});
