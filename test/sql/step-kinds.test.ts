/**
 * Step kinds (sql/migrations/0005_step_kinds.sql): a steps row keeps the kind its intent carried, a
 * re-start of an unfinished key as another kind is refused, read_step_records returns every row of a range
 * with its kind, and step_frontier is the highest position held.
 */
import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { sqlClaim, sqlError, sqlStartClaimed } from '../helpers/sql.js';

interface Lease {
  id: string;
  token: number;
}

async function start(db: Queryable, lease: Lease, seq: number, key: string, kind?: string): Promise<number> {
  const [row] = await db.query<{ attempt: number }>(
    `SELECT aries.record_steps(p_execution_id => $1, p_token => $2, p_completed => NULL, p_start_seq => $3,
                               p_start_key => $4${kind === undefined ? '' : ', p_start_kind => $5'}) AS attempt`,
    kind === undefined ? [lease.id, lease.token, seq, key] : [lease.id, lease.token, seq, key, kind],
  );
  return row!.attempt;
}

async function complete(db: Queryable, lease: Lease, seq: number, key: string, attempt = 1, kind?: string): Promise<void> {
  await db.query(
    `SELECT aries.record_steps(p_execution_id => $1, p_token => $2, p_completed => $3::jsonb
                               ${kind === undefined ? '' : ', p_start_kind => $4'})`,
    [lease.id, lease.token, JSON.stringify([{ seq, key, attempt, checkpoint: false, output: { seq } }]), ...(kind ? [kind] : [])],
  );
}

async function stepRows(db: Queryable, id: string) {
  return db.query<{ step_key: string; seq: number; kind: string; status: string; attempt: number }>(
    'SELECT step_key, seq, kind, status, attempt FROM aries.steps WHERE execution_id = $1 ORDER BY step_key',
    [id],
  );
}

async function reclaim(db: Queryable, workflow: string): Promise<number> {
  const [claimed] = await sqlClaim(db, 'w1', [`${workflow}@1`], 1);
  return Number(claimed!.lease_token);
}

async function frontier(db: Queryable, id: string): Promise<number> {
  const [row] = await db.query<{ f: number }>('SELECT aries.step_frontier(p_execution_id => $1) AS f', [id]);
  return row!.f;
}

const kindMessage = (id: string, key: string, was: string, now: string) =>
  `execution ${id} recorded step "${key}" as a ${was}, but the workflow code now runs it as a ${now}; ` +
  'the workflow code no longer matches its journal';

describeBackends('step kinds', (b) => {
  test('a started step is stored with the kind its intent carries, and as a step when it carries none', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'kind-stored');
    await start(db, lease, 0, 'plain');
    await start(db, lease, 1, 'tx', 'transaction');
    await db.query(`SELECT * FROM aries.record_steps_batch(p_requests => $1::jsonb)`, [
      JSON.stringify([{ execution_id: lease.id, token: lease.token, start_seq: 2, start_key: 'batched', start_kind: 'transaction' }]),
    ]);
    expect((await stepRows(db, lease.id)).map((r) => [r.step_key, r.kind])).toEqual([
      ['batched', 'transaction'],
      ['plain', 'step'],
      ['tx', 'transaction'],
    ]);
  });

  test('a completion whose intent is missing takes the kind of its request, or is a step', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'kind-no-intent');
    await complete(db, lease, 0, 'tx', 1, 'transaction');
    await complete(db, lease, 1, 'plain');
    expect((await stepRows(db, lease.id)).map((r) => [r.step_key, r.kind, r.status])).toEqual([
      ['plain', 'step', 'COMPLETED'],
      ['tx', 'transaction', 'COMPLETED'],
    ]);
  });

  test('a kind outside step, transaction and the waits (sleep, signal, child) is refused by steps_kind_check', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'kind-unknown');
    const err = await sqlError(start(db, lease, 0, 's0', 'nap'));
    expect(err.code).toBe('23514');
    expect(err.message).toContain('steps_kind_check');
  });

  test('re-starting a running step as another kind is refused with AR006 naming the execution, the key and both kinds', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'kind-restart');
    await start(db, lease, 0, 'k');
    const err = await sqlError(start(db, lease, 0, 'k', 'transaction'));
    expect(err.code).toBe('AR006');
    expect(err.message).toBe(kindMessage(lease.id, 'k', 'step', 'transaction'));
    // The same kind starts the next attempt, as before.
    expect(await start(db, lease, 0, 'k', 'step')).toBe(2);
    expect(await stepRows(db, lease.id)).toMatchObject([{ kind: 'step', status: 'RUNNING', attempt: 2 }]);
  });

  test('a kind change refuses only its own request in a batch', async () => {
    const db = b.engine.db;
    const changed = await sqlStartClaimed(db, 'kind-batch-a');
    const same = await sqlStartClaimed(db, 'kind-batch-b');
    await start(db, changed, 0, 's0', 'transaction');
    await start(db, same, 0, 's0', 'transaction');
    const rows = await db.query<{ execution_id: string; attempt: number | null; error_code: string | null; error_message: string | null }>(
      'SELECT * FROM aries.record_steps_batch(p_requests => $1::jsonb)',
      [
        JSON.stringify([
          { execution_id: changed.id, token: changed.token, start_seq: 0, start_key: 's0' },
          { execution_id: same.id, token: same.token, start_seq: 0, start_key: 's0', start_kind: 'transaction' },
        ]),
      ],
    );
    const byId = new Map(rows.map((r) => [r.execution_id, r]));
    expect(byId.get(changed.id)).toMatchObject({
      attempt: null,
      error_code: 'AR006',
      error_message: kindMessage(changed.id, 's0', 'transaction', 'step'),
    });
    expect(byId.get(same.id)).toMatchObject({ attempt: 2, error_code: null });
    expect(await stepRows(db, changed.id)).toMatchObject([{ kind: 'transaction', attempt: 1 }]);
    const [journal] = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM aries.journal WHERE execution_id = $1 AND kind = 'step_started'`,
      [changed.id],
    );
    expect(Number(journal!.n)).toBe(1);
  });

  test('re-starting a retrying, failed or rolled-back step as another kind is refused with AR006', async () => {
    const db = b.engine.db;
    // RETRYING: its retry is due at once and claimed again.
    const retrying = await sqlStartClaimed(db, 'kind-retrying');
    await start(db, retrying, 0, 'r', 'transaction');
    await db.query(
      `SELECT aries.retry_step(p_execution_id => $1, p_token => $2, p_seq => 0, p_step_key => 'r', p_attempt => 1,
                               p_error => '{"message":"boom"}'::jsonb, p_delay_ms => 0, p_source => 'step')`,
      [retrying.id, retrying.token],
    );
    retrying.token = await reclaim(db, 'kind-retrying');
    let err = await sqlError(start(db, retrying, 0, 'r', 'step'));
    expect(err.code).toBe('AR006');
    expect(err.message).toBe(kindMessage(retrying.id, 'r', 'transaction', 'step'));

    // FAILED: the workflow saw its error.
    const failed = await sqlStartClaimed(db, 'kind-failed');
    await start(db, failed, 0, 'f');
    await db.query(
      `SELECT aries.fail_step(p_execution_id => $1, p_token => $2, p_seq => 0, p_step_key => 'f', p_attempt => 1,
                              p_error => '{"message":"boom"}'::jsonb)`,
      [failed.id, failed.token],
    );
    err = await sqlError(start(db, failed, 0, 'f', 'transaction'));
    expect(err.code).toBe('AR006');
    expect(err.message).toBe(kindMessage(failed.id, 'f', 'step', 'transaction'));

    // ROLLED_BACK: voided by a rollback, parked by recovery, resumed.
    const rolled = await sqlStartClaimed(db, 'kind-rolled');
    await complete(db, rolled, 0, 'v', 1, 'transaction');
    await db.query(
      `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => '{"message":"boom"}'::jsonb,
                                   p_failure_type => 'PERMANENT', p_source => 'step')`,
      [rolled.id, rolled.token],
    );
    await db.query('SELECT aries.recover_from_failure(p_execution_id => $1)', [rolled.id]);
    rolled.token = await reclaim(db, 'kind-rolled');
    expect(await stepRows(db, rolled.id)).toMatchObject([{ step_key: 'v', kind: 'transaction', status: 'ROLLED_BACK' }]);
    err = await sqlError(start(db, rolled, 0, 'v', 'step'));
    expect(err.code).toBe('AR006');
    expect(err.message).toBe(kindMessage(rolled.id, 'v', 'transaction', 'step'));
    expect(await start(db, rolled, 0, 'v', 'transaction')).toBe(2);
  });
});

describeBackends('aries.read_step_records and aries.step_frontier', (b) => {
  interface RecordRow {
    seq: number;
    step_key: string;
    kind: string;
    status: string;
    attempt: number;
    output: unknown;
    output_is_null: boolean | null;
    record_ok: boolean;
    error: { message: string } | null;
  }
  const records = (db: Queryable, id: string, from = 0, to = 100) =>
    db.query<RecordRow>(
      `SELECT seq, step_key, kind, status, attempt, output, output_is_null, record_ok, error
         FROM aries.read_step_records(p_execution_id => $1, p_from_seq => $2, p_to_seq => $3)`,
      [id, from, to],
    );

  test('read_step_records returns the steps of every status in the range by position, each with its kind', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'records-all');
    await start(db, lease, 0, 'done');
    await complete(db, lease, 0, 'done');
    await start(db, lease, 1, 'failed', 'transaction');
    await db.query(
      `SELECT aries.fail_step(p_execution_id => $1, p_token => $2, p_seq => 1, p_step_key => 'failed', p_attempt => 1,
                              p_error => '{"message":"no"}'::jsonb)`,
      [lease.id, lease.token],
    );
    await start(db, lease, 2, 'running', 'transaction');
    expect(await records(db, lease.id)).toEqual([
      { seq: 0, step_key: 'done', kind: 'step', status: 'COMPLETED', attempt: 1, output: { seq: 0 }, output_is_null: false, record_ok: true, error: null },
      { seq: 1, step_key: 'failed', kind: 'transaction', status: 'FAILED', attempt: 1, output: null, output_is_null: null, record_ok: false, error: { message: 'no' } },
      { seq: 2, step_key: 'running', kind: 'transaction', status: 'RUNNING', attempt: 1, output: null, output_is_null: null, record_ok: false, error: null },
    ]);
    expect((await records(db, lease.id, 1, 2)).map((r) => r.step_key)).toEqual(['failed']);

    await db.query(
      `SELECT aries.retry_step(p_execution_id => $1, p_token => $2, p_seq => 2, p_step_key => 'running', p_attempt => 1,
                               p_error => '{"message":"later"}'::jsonb, p_delay_ms => 60000, p_source => 'step')`,
      [lease.id, lease.token],
    );
    expect((await records(db, lease.id, 2, 3))[0]).toMatchObject({ kind: 'transaction', status: 'RETRYING', output_is_null: null });
  });

  test('read_step_records returns rolled-back steps with their kind, and none once recovery parks them', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'records-rolled');
    await complete(db, lease, 0, 'a');
    await start(db, lease, 1, 'b', 'transaction');
    await db.query(
      `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => '{"message":"boom"}'::jsonb,
                                   p_failure_type => 'PERMANENT', p_source => 'step')`,
      [lease.id, lease.token],
    );
    expect((await records(db, lease.id)).map((r) => [r.seq, r.step_key, r.kind, r.status, r.output_is_null])).toEqual([
      [0, 'a', 'step', 'ROLLED_BACK', null],
      [1, 'b', 'transaction', 'ROLLED_BACK', null],
    ]);
    expect(await frontier(db, lease.id)).toBe(1);
    await db.query('SELECT aries.recover_from_failure(p_execution_id => $1)', [lease.id]);
    expect(await records(db, lease.id)).toEqual([]);
    expect((await records(db, lease.id, -10, 0)).map((r) => [r.step_key, r.status])).toEqual([
      ['b', 'ROLLED_BACK'],
      ['a', 'ROLLED_BACK'],
    ]);
    // Parked rows hold no position.
    expect(await frontier(db, lease.id)).toBe(-1);
  });

  test('step_frontier is -1 for an execution without steps, then the highest position any step holds', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'frontier');
    expect(await frontier(db, lease.id)).toBe(-1);
    await start(db, lease, 0, 'a');
    expect(await frontier(db, lease.id)).toBe(0);
    await complete(db, lease, 0, 'a');
    await start(db, lease, 1, 'b');
    expect(await frontier(db, lease.id)).toBe(1); // a RUNNING step counts
    expect(await frontier(db, '00000000-0000-0000-0000-000000000000')).toBe(-1);
  });

  test('step_frontier is one probe of the (execution_id, seq) index', async () => {
    const db = b.engine.db;
    const lease = await sqlStartClaimed(db, 'frontier-plan');
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT s.seq FROM aries.steps s WHERE s.execution_id = $1 AND s.seq >= 0 ORDER BY s.seq DESC LIMIT 1`,
      [lease.id],
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index (Only )?Scan Backward using steps_execution_id_seq_key/);
  });
});
