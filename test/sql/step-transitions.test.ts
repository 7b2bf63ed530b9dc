import { expect, test } from 'vitest';
import { describeBackends } from '../helpers/backends.js';
import { expireLease, sqlClaim, sqlError, sqlStartClaimed } from '../helpers/sql.js';

const begin = 'SELECT aries.begin_step(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4) AS attempt';
const complete =
  'SELECT aries.complete_step(p_execution_id => $1, p_token => $2, p_seq => $3, p_step_key => $4, p_attempt => $5, p_output => $6::jsonb, p_checkpoint => $7) AS lsn';

describeBackends('step transitions', (b) => {
  const db = () => b.engine.db;

  test('begin_step journals the intent and counts attempts when the same step starts again', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-a');
    const [first] = await db().query<{ attempt: number }>(begin, [id, token, 0, 'charge']);
    const [again] = await db().query<{ attempt: number }>(begin, [id, token, 0, 'charge']);
    expect(first!.attempt).toBe(1);
    expect(again!.attempt).toBe(2);
    const kinds = (await b.engine.admin.readJournal(id)).records.map((r) => r.kind);
    expect(kinds).toEqual(['execution_started', 'step_started', 'step_started']);
  });

  test('complete_step records the output once, and repeating the same completion writes nothing', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-b');
    await db().query(begin, [id, token, 0, 'reserve']);
    const [a] = await db().query<{ lsn: number }>(complete, [id, token, 0, 'reserve', 1, '{"ok":true}', true]);
    const [b2] = await db().query<{ lsn: number }>(complete, [id, token, 0, 'reserve', 1, '{"ok":true}', true]);
    expect(Number(b2!.lsn)).toBe(Number(a!.lsn));
    const journal = (await b.engine.admin.readJournal(id)).records;
    expect(journal.filter((r) => r.kind === 'step_completed')).toHaveLength(1);
    const [cp] = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM aries.checkpoints WHERE execution_id = $1', [id]);
    expect(cp!.n).toBe(1);
  });

  test('complete_step refuses a worker whose lease was taken over (stale fencing token)', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-c');
    await db().query(begin, [id, token, 0, 'reserve']);
    await expireLease(db(), id);
    const [taken] = await sqlClaim(db(), 'w2', ['steps-c@1']);
    expect(Number(taken!.lease_token)).toBe(token + 1);
    const err = await sqlError(db().query(complete, [id, token, 0, 'reserve', 1, '{}', false]));
    expect(err.code).toBe('AR002');
    const journal = (await b.engine.admin.readJournal(id)).records;
    expect(journal.some((r) => r.kind === 'step_completed')).toBe(false);
  });

  test('begin_step refuses a step key already used at another position (AR005)', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-d');
    await db().query(begin, [id, token, 0, 'same']);
    await db().query(complete, [id, token, 0, 'same', 1, '1', false]);
    const err = await sqlError(db().query(begin, [id, token, 1, 'same']));
    expect(err.code).toBe('AR005');
    expect(err.message).toContain('"same"');
  });

  test('begin_step refuses a different step at a recorded position (AR006)', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-e');
    await db().query(begin, [id, token, 0, 'first']);
    const err = await sqlError(db().query(begin, [id, token, 0, 'other']));
    expect(err.code).toBe('AR006');
  });

  test('the database refuses a second row for the same step key even without the functions', async () => {
    const { id } = await sqlStartClaimed(db(), 'steps-f');
    const insert = `INSERT INTO aries.steps (execution_id, step_key, seq, status) VALUES ($1, 'k', $2, 'RUNNING')`;
    await db().query(insert, [id, 0]);
    const err = await sqlError(db().query(insert, [id, 1]));
    expect(err.code).toBe('23505');
  });

  test('complete_execution is idempotent under the same token and then refuses further steps', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-g');
    const finish = 'SELECT aries.complete_execution(p_execution_id => $1, p_token => $2, p_output => $3::jsonb)';
    await db().query(finish, [id, token, '{"done":1}']);
    await db().query(finish, [id, token, '{"done":1}']);
    const { execution } = (await b.engine.admin.getExecution(id))!;
    expect(execution.status).toBe('COMPLETED');
    expect(execution.output).toEqual({ done: 1 });
    expect(execution.leaseOwner).toBeNull();
    const err = await sqlError(db().query(begin, [id, token, 0, 'late']));
    expect(err.code).toBe('AR002');
  });

  test('fail_execution records a failure with its type, source, strategy and step', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-h');
    await db().query(
      `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => $3::jsonb, p_failure_type => 'PERMANENT',
                                   p_source => 'step', p_step_key => 'pay', p_attempt => 1)`,
      [id, token, JSON.stringify({ name: 'CardDeclined', message: 'declined', stack: 'at pay' })],
    );
    const [f] = await db().query<Record<string, unknown>>('SELECT * FROM aries.failures WHERE execution_id = $1', [id]);
    expect(f).toMatchObject({
      failure_type: 'PERMANENT',
      failure_message: 'declined',
      recovery_strategy: 'rollback',
      recovered: false,
      source: 'step',
      step_key: 'pay',
      attempt: 1,
      error_class: 'CardDeclined',
      stack: 'at pay',
    });
    expect((await b.engine.admin.getExecution(id))!.execution.status).toBe('FAILED');
  });

  test('release_execution hands an execution back to the queue, runnable at once', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'steps-i');
    await db().query('SELECT aries.release_execution(p_execution_id => $1, p_token => $2)', [id, token]);
    const again = await sqlClaim(db(), 'w2', ['steps-i@1']);
    expect(again.map((c) => c.id)).toEqual([id]);
  });
});

describeBackends('schema invariants', (b) => {
  const db = () => b.engine.db;

  test('the transition guard refuses an illegal status change made with plain SQL (AR003)', async () => {
    const { id, token } = await sqlStartClaimed(db(), 'inv-a');
    await db().query('SELECT aries.complete_execution(p_execution_id => $1, p_token => $2, p_output => NULL)', [id, token]);
    const err = await sqlError(db().query(`UPDATE aries.executions SET status = 'RUNNING' WHERE id = $1`, [id]));
    expect(err.code).toBe('AR003');
    expect(err.message).toContain('COMPLETED to RUNNING');
  });

  test('a status outside the state machine is refused by its foreign key', async () => {
    const { id } = await sqlStartClaimed(db(), 'inv-b');
    const err = await sqlError(db().query(`UPDATE aries.executions SET status = 'DONE' WHERE id = $1`, [id]));
    expect(['23503', 'AR003']).toContain(err.code);
  });

  test('a RUNNING execution without a lease owner is refused by a CHECK', async () => {
    const { id } = await sqlStartClaimed(db(), 'inv-c');
    const err = await sqlError(db().query('UPDATE aries.executions SET lease_owner = NULL WHERE id = $1', [id]));
    expect(err.code).toBe('23514');
  });

  test('a step of an execution that does not exist is refused by its foreign key', async () => {
    const err = await sqlError(
      db().query(`INSERT INTO aries.steps (execution_id, step_key, seq, status) VALUES (gen_random_uuid(), 'x', 0, 'RUNNING')`),
    );
    expect(err.code).toBe('23503');
  });

  test('journal records cannot be updated or deleted, except with their execution', async () => {
    const { id } = await sqlStartClaimed(db(), 'inv-d');
    const err = await sqlError(db().query(`UPDATE aries.journal SET payload = '{}' WHERE execution_id = $1`, [id]));
    expect(err.code).toBe('AR008');
    const del = await sqlError(db().query(`DELETE FROM aries.journal WHERE execution_id = $1`, [id]));
    expect(del.code).toBe('AR008');
  });

  test("deleting an execution removes its steps, journal, checkpoints and failures with it", async () => {
    const { id, token } = await sqlStartClaimed(db(), 'inv-e');
    await db().query('SELECT aries.begin_step(p_execution_id => $1, p_token => $2, p_seq => 0, p_step_key => $3)', [id, token, 'k']);
    await db().query('DELETE FROM aries.executions WHERE id = $1', [id]);
    const [left] = await db().query<{ n: number }>(
      `SELECT (SELECT count(*) FROM aries.steps WHERE execution_id = $1) + (SELECT count(*) FROM aries.journal WHERE execution_id = $1) AS n`,
      [id],
    );
    expect(Number(left!.n)).toBe(0);
  });
});
