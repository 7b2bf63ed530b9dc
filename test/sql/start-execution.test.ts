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

describeBackends('aries.start_executions', (b) => {
  const startMany = (workflow: string, inputs: unknown[], keys: (string | null)[] | null) =>
    b.engine.db.query<{ ord: number; execution_id: string; created: boolean; status: string }>(
      `SELECT * FROM aries.start_executions(p_workflow => $1, p_version => NULL, p_inputs => $2::jsonb, p_idempotency_keys => $3::jsonb)`,
      [workflow, JSON.stringify(inputs), keys === null ? null : JSON.stringify(keys)],
    );

  test('one row per item in order; every new execution has its execution_started record with a valid checksum', async () => {
    await b.engine.db.query(`SELECT aries.register_workflow(p_name => 'batch-a', p_version => '1')`);
    const rows = await startMany('batch-a', [{ n: 1 }, { n: 2 }, { n: 3 }], null);
    expect(rows.map((r) => [r.ord, r.created, r.status])).toEqual([
      [1, true, 'PENDING'],
      [2, true, 'PENDING'],
      [3, true, 'PENDING'],
    ]);
    for (const [i, r] of rows.entries()) {
      const journal = (await b.engine.admin.readJournal(r.execution_id)).records;
      expect(journal.map((j) => [j.kind, j.checksumOk])).toEqual([['execution_started', true]]);
      expect(journal[0]!.payload).toMatchObject({ workflow: 'batch-a', version: '1', input: { n: i + 1 } });
    }
  });

  test('keys: one taken by start_execution answers with it; mixed with new and keyless items', async () => {
    const single = await sqlStart(b.engine.db, 'batch-b', 'bk-1', { n: 1 });
    const rows = await startMany('batch-b', [{ n: 1 }, { n: 2 }, { n: 3 }], ['bk-1', 'bk-2', null]);
    expect(rows.map((r) => r.created)).toEqual([false, true, true]);
    expect(rows[0]!.execution_id).toBe(single.execution_id);
    const err = await sqlError(startMany('batch-b', [{ n: 9 }], ['bk-2']));
    expect(err.code).toBe('AR007');
    expect(err.message).toContain(`item 1 of the batch: idempotency key "bk-2" already started execution ${rows[1]!.execution_id}`);
    const wrongWorkflow = await sqlError(startMany('batch-a', [{ n: 1 }], ['bk-1']));
    expect(wrongWorkflow.code).toBe('AR007');
  });

  test('refused as a whole: a key list of another length, a key that is not a string, a bad timeout', async () => {
    await b.engine.db.query(`SELECT aries.register_workflow(p_name => 'batch-c', p_version => '1')`);
    expect((await sqlError(startMany('batch-c', [1, 2], ['x']))).message).toContain('one idempotency key (or null) per input: 2 input(s)');
    expect((await sqlError(startMany('batch-c', [1, 2], ['x', 7 as unknown as string]))).message).toContain('item 2 of the batch');
    const timeout = await sqlError(
      b.engine.db.query(`SELECT * FROM aries.start_executions('batch-c', NULL, '[1]'::jsonb, NULL, p_timeout_ms => 0)`),
    );
    expect(timeout.code).toBe('AR011');
    const [n] = await b.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aries.executions WHERE workflow_name = 'batch-c'`);
    expect(n!.n).toBe(0);
  });
});
