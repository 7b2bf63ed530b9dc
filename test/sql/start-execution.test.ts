import { expect, test } from 'vitest';
import { describeBackends } from '../helpers/backends.js';
import { sqlError, sqlStart } from '../helpers/sql.js';

describeBackends('aries.start_execution', (b) => {
  test('start_execution creates a PENDING execution with an execution_started journal record', async () => {
    const row = await sqlStart(b.engine.db, 'start-a', null, { n: 1 });
    expect(row.created).toBe(true);
    expect(row.status).toBe('PENDING');
    const journal = (await b.engine.admin.readJournal(row.execution_id)).records;
    expect(journal.map((r) => r.kind)).toEqual(['execution_started']);
    expect(journal[0]!.checksumOk).toBe(true);
  });

  test('start_execution returns the existing execution for a reused idempotency key', async () => {
    const first = await sqlStart(b.engine.db, 'start-b', 'same-key');
    const second = await sqlStart(b.engine.db, 'start-b', 'same-key');
    expect(second.execution_id).toBe(first.execution_id);
    expect(second.created).toBe(false);
    const [count] = await b.engine.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM aries.executions WHERE idempotency_key = 'same-key'`,
    );
    expect(count!.n).toBe(1);
  });

  test('start_execution refuses an idempotency key already used by another workflow', async () => {
    await sqlStart(b.engine.db, 'start-c', 'shared-key');
    const err = await sqlError(sqlStart(b.engine.db, 'start-d', 'shared-key'));
    expect(err.code).toBe('AR007');
    expect(err.message).toContain('start-c');
  });

  test('start_execution refuses a reused idempotency key with a different input (AR007 naming key and execution), and takes an equal one', async () => {
    const first = await sqlStart(b.engine.db, 'start-f', 'input-key', { a: 1, b: [1, 2] });
    // jsonb equality: key order and number spelling do not make an input different
    const equal = await b.engine.db.query<{ execution_id: string; created: boolean }>(
      `SELECT * FROM aries.start_execution(p_workflow => 'start-f', p_version => NULL, p_input => '{"b":[1,2.0],"a":1}'::jsonb, p_idempotency_key => 'input-key')`,
    );
    expect(equal[0]).toMatchObject({ execution_id: first.execution_id, created: false });
    const err = await sqlError(sqlStart(b.engine.db, 'start-f', 'input-key', { a: 2, b: [1, 2] }));
    expect(err.code).toBe('AR007');
    expect(err.message).toBe(`idempotency key "input-key" already started execution ${first.execution_id} with a different input`);
    const [count] = await b.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.executions WHERE workflow_name = 'start-f'`);
    expect(count!.n).toBe(1);
    // signal_with_start signals the execution under the key whatever input it would have started it with
    const [sws] = await b.engine.db.query<{ execution_id: string; created: boolean }>(
      `SELECT * FROM aries.signal_with_start(p_workflow => 'start-f', p_version => NULL, p_input => '{"other":true}'::jsonb,
                                             p_idempotency_key => 'input-key', p_signal_name => 'go')`,
    );
    expect(sws).toMatchObject({ execution_id: first.execution_id, created: false });
  });

  test('start_execution refuses an unknown workflow with AR004', async () => {
    const err = await sqlError(
      b.engine.db.query(`SELECT * FROM aries.start_execution(p_workflow => 'never-registered', p_version => NULL, p_input => '{}')`),
    );
    expect(err.code).toBe('AR004');
    expect(err.message).toContain('never-registered');
  });

  test('start_execution refuses an unknown version of a known workflow', async () => {
    await sqlStart(b.engine.db, 'start-e');
    const err = await sqlError(
      b.engine.db.query(`SELECT * FROM aries.start_execution(p_workflow => 'start-e', p_version => '9', p_input => '{}')`),
    );
    expect(err.code).toBe('AR004');
    expect(err.message).toContain('version "9"');
  });
});
