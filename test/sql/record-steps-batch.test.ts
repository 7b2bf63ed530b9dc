import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { expireLease, sqlClaim, sqlStartClaimed } from '../helpers/sql.js';

interface Completion {
  seq: number;
  key: string;
  attempt: number;
  checkpoint: boolean;
  output?: unknown;
}

interface Request {
  execution_id: string;
  token: number;
  completed?: Completion[];
  start_seq?: number;
  start_key?: string;
  finish?: { output?: unknown };
}

interface ResultRow {
  execution_id: string;
  attempt: number | null;
  error_code: string | null;
  error_message: string | null;
}

async function batch(db: Queryable, requests: Request[]): Promise<Map<string, ResultRow>> {
  const rows = await db.query<ResultRow>('SELECT * FROM aries.record_steps_batch(p_requests => $1::jsonb)', [
    JSON.stringify(requests),
  ]);
  expect(rows).toHaveLength(requests.length);
  return new Map(rows.map((r) => [r.execution_id, r]));
}

const done = (seq: number, output: unknown = seq, attempt = 1): Completion => ({
  seq,
  key: `s${seq}`,
  attempt,
  checkpoint: true,
  output,
});

/** Starts and claims `n` executions, each of its own workflow, and journals the intent of their step s0. */
async function running(db: Queryable, label: string, n: number) {
  const leases = [];
  for (let i = 0; i < n; i++) leases.push(await sqlStartClaimed(db, `${label}-${i}`));
  await batch(
    db,
    leases.map((l) => ({ execution_id: l.id, token: l.token, start_seq: 0, start_key: 's0' })),
  );
  return leases;
}

/** What an execution has stored: its journal records, steps, checkpoints and counters. */
async function stored(db: Queryable, id: string) {
  const [journal, steps, checkpoints, [execution]] = await Promise.all([
    db.query<{ lsn: string; prev_lsn: string | null; kind: string; step_key: string | null; checksum_ok: boolean }>(
      'SELECT lsn, prev_lsn, kind, step_key, checksum_ok FROM aries.read_journal(p_execution_id => $1)',
      [id],
    ),
    db.query<{ step_key: string; status: string; attempt: number; output_lsn: string | null }>(
      'SELECT step_key, status, attempt, output_lsn FROM aries.steps WHERE execution_id = $1 ORDER BY seq',
      [id],
    ),
    db.query<{ lsn: string; state_data: unknown; step_progress: unknown; checksum_ok: boolean }>(
      `SELECT lsn, state_data, step_progress,
              checksum = md5(execution_id::text || ':' || lsn::text || ':' || state_data::text) AS checksum_ok
         FROM aries.checkpoints WHERE execution_id = $1 ORDER BY lsn`,
      [id],
    ),
    db.query<{ last_lsn: string; step_count: number }>('SELECT last_lsn, step_count FROM aries.executions WHERE id = $1', [
      id,
    ]),
  ]);
  return { journal, steps, checkpoints, execution: execution! };
}

describeBackends('aries.record_steps_batch', (b) => {
  const db = () => b.engine.db;

  test('record_steps_batch refuses a request whose lease was taken over and applies the others', async () => {
    const [a, stale, c] = await running(db(), 'batch-a', 3);
    await expireLease(db(), stale!.id);
    await sqlClaim(db(), 'w2', ['batch-a-1@1']);
    const before = await stored(db(), stale!.id);

    const result = await batch(
      db(),
      [a!, stale!, c!].map((l) => ({ execution_id: l.id, token: l.token, completed: [done(0)], start_seq: 1, start_key: 's1' })),
    );

    expect(result.get(stale!.id)).toMatchObject({ attempt: null, error_code: 'AR002' });
    expect(result.get(stale!.id)!.error_message).toContain(`fencing token ${stale!.token} is not current`);
    expect(await stored(db(), stale!.id)).toEqual(before);
    for (const l of [a!, c!]) {
      expect(result.get(l.id)).toEqual({ execution_id: l.id, attempt: 1, error_code: null, error_message: null });
      const { journal, steps, execution } = await stored(db(), l.id);
      expect(journal.map((r) => `${r.kind} ${r.step_key ?? ''}`.trim())).toEqual([
        'execution_started',
        'step_started s0',
        'step_completed s0',
        'step_started s1',
      ]);
      expect(steps.map((s) => [s.step_key, s.status, s.attempt])).toEqual([
        ['s0', 'COMPLETED', 1],
        ['s1', 'RUNNING', 1],
      ]);
      expect(execution.step_count).toBe(1);
    }
  });

  test('record_steps_batch reports a missing execution (AR001) and applies the others', async () => {
    const [a] = await running(db(), 'batch-b', 1);
    const missing = '00000000-0000-4000-8000-000000000000';
    const result = await batch(db(), [
      { execution_id: missing, token: 1, completed: [done(0)] },
      { execution_id: a!.id, token: a!.token, completed: [done(0)] },
    ]);
    expect(result.get(missing)).toMatchObject({ error_code: 'AR001', error_message: `execution ${missing} not found` });
    expect(result.get(a!.id)!.error_code).toBeNull();
  });

  test('record_steps_batch repeated with the same completions records them once', async () => {
    const leases = await running(db(), 'batch-c', 3);
    const requests = leases.map((l) => ({ execution_id: l.id, token: l.token, completed: [done(0, { n: 1 })] }));
    await batch(db(), requests);
    const first = await Promise.all(leases.map((l) => stored(db(), l.id)));

    const again = await batch(db(), requests);

    for (const [i, l] of leases.entries()) {
      expect(again.get(l.id)).toEqual({ execution_id: l.id, attempt: null, error_code: null, error_message: null });
      expect(await stored(db(), l.id)).toEqual(first[i]);
      expect(first[i]!.journal.filter((r) => r.kind === 'step_completed')).toHaveLength(1);
      expect(first[i]!.checkpoints).toHaveLength(1);
    }
  });

  test('record_steps_batch counts a new attempt when a started step is started again', async () => {
    const [a] = await running(db(), 'batch-d', 1);
    const result = await batch(db(), [{ execution_id: a!.id, token: a!.token, start_seq: 0, start_key: 's0' }]);
    expect(result.get(a!.id)!.attempt).toBe(2);
    const { steps } = await stored(db(), a!.id);
    expect(steps.map((s) => [s.step_key, s.status, s.attempt])).toEqual([['s0', 'RUNNING', 2]]);
  });

  test('record_steps_batch refuses AR005 and AR006 per request without affecting the others', async () => {
    const [otherAttempt, reusedKey, otherKey, startedDone, fine] = await running(db(), 'batch-e', 5);
    await batch(
      db(),
      [otherAttempt!, reusedKey!, otherKey!, startedDone!].map((l) => ({
        execution_id: l.id,
        token: l.token,
        completed: [done(0)],
      })),
    );
    const before = await Promise.all([otherAttempt!, reusedKey!, otherKey!, startedDone!].map((l) => stored(db(), l.id)));

    const result = await batch(db(), [
      // s0 was completed by attempt 1.
      { execution_id: otherAttempt!.id, token: otherAttempt!.token, completed: [done(0, 'late', 2)] },
      // s0 is recorded at position 0.
      { execution_id: reusedKey!.id, token: reusedKey!.token, completed: [{ ...done(1), key: 's0' }] },
      // Position 0 holds s0.
      { execution_id: otherKey!.id, token: otherKey!.token, completed: [{ ...done(0), key: 'other' }] },
      // s0 is completed: it cannot start again.
      { execution_id: startedDone!.id, token: startedDone!.token, start_seq: 0, start_key: 's0' },
      { execution_id: fine!.id, token: fine!.token, completed: [done(0)], start_seq: 1, start_key: 's1' },
    ]);

    expect(result.get(otherAttempt!.id)).toMatchObject({ error_code: 'AR005' });
    expect(result.get(otherAttempt!.id)!.error_message).toContain('already completed (attempt 1)');
    expect(result.get(reusedKey!.id)).toMatchObject({ error_code: 'AR005' });
    expect(result.get(reusedKey!.id)!.error_message).toContain('at positions 0 and 1');
    expect(result.get(otherKey!.id)).toMatchObject({ error_code: 'AR006' });
    expect(result.get(otherKey!.id)!.error_message).toContain('different step at position 0 than "other"');
    expect(result.get(startedDone!.id)).toMatchObject({ error_code: 'AR005' });
    expect(result.get(fine!.id)).toMatchObject({ attempt: 1, error_code: null });
    const after = await Promise.all([otherAttempt!, reusedKey!, otherKey!, startedDone!].map((l) => stored(db(), l.id)));
    expect(after).toEqual(before);
    expect((await stored(db(), fine!.id)).execution.step_count).toBe(1);
  });

  test('record_steps_batch judges the completions of one request in order, as if applied one by one', async () => {
    const [twice, clash, startedDone] = await running(db(), 'batch-f', 3);
    const result = await batch(db(), [
      // The second s1 finds the first one recorded, at another position.
      { execution_id: twice!.id, token: twice!.token, completed: [done(0), done(1), { ...done(2), key: 's1' }] },
      // The second completion at position 1 finds the first one's key there.
      { execution_id: clash!.id, token: clash!.token, completed: [done(0), done(1), { ...done(1), key: 'x' }] },
      // The repeated s0 is skipped; s1, completed just before, cannot start.
      {
        execution_id: startedDone!.id,
        token: startedDone!.token,
        completed: [done(0), done(0), done(1)],
        start_seq: 1,
        start_key: 's1',
      },
    ]);
    expect(result.get(twice!.id)!.error_code).toBe('AR005');
    expect(result.get(twice!.id)!.error_message).toContain('at positions 1 and 2');
    expect(result.get(clash!.id)!.error_code).toBe('AR006');
    expect(result.get(startedDone!.id)!.error_code).toBe('AR005');
    expect(result.get(startedDone!.id)!.error_message).toContain('step "s1"');
    for (const l of [twice!, clash!, startedDone!]) {
      const { journal } = await stored(db(), l.id);
      expect(journal.map((r) => r.kind)).toEqual(['execution_started', 'step_started']);
    }
  });

  test('record_steps_batch chains the records of each execution across a batch with several completions per request', async () => {
    const leases = await running(db(), 'batch-g', 3);
    const result = await batch(
      db(),
      leases.map((l, i) => ({
        execution_id: l.id,
        token: l.token,
        // The second execution's s1 returned nothing: its record stores SQL NULL.
        completed: [done(0, { i }), i === 1 ? { seq: 1, key: 's1', attempt: 1, checkpoint: false } : done(1, [i]), done(2, null)],
        start_seq: 3,
        start_key: 's3',
      })),
    );

    const written = new Map<string, number[]>();
    for (const [i, l] of leases.entries()) {
      expect(result.get(l.id)).toEqual({ execution_id: l.id, attempt: 1, error_code: null, error_message: null });
      const { journal, steps, checkpoints, execution } = await stored(db(), l.id);
      expect(journal.map((r) => `${r.kind} ${r.step_key ?? ''}`.trim())).toEqual([
        'execution_started',
        'step_started s0',
        'step_completed s0',
        'step_completed s1',
        'step_completed s2',
        'step_started s3',
      ]);
      expect(journal.every((r) => r.checksum_ok)).toBe(true);
      journal.forEach((r, k) => expect(r.prev_lsn).toBe(k === 0 ? null : journal[k - 1]!.lsn));
      expect(execution.last_lsn).toBe(journal.at(-1)!.lsn);
      expect(execution.step_count).toBe(3);
      const completed = journal.filter((r) => r.kind === 'step_completed');
      expect(steps.map((s) => [s.step_key, s.status, s.output_lsn])).toEqual([
        ['s0', 'COMPLETED', completed[0]!.lsn],
        ['s1', 'COMPLETED', completed[1]!.lsn],
        ['s2', 'COMPLETED', completed[2]!.lsn],
        ['s3', 'RUNNING', null],
      ]);
      expect(checkpoints.every((c) => c.checksum_ok)).toBe(true);
      expect(checkpoints.map((c) => [c.lsn, c.state_data, c.step_progress])).toEqual([
        [completed[0]!.lsn, { completed_steps: 1, last_seq: 0, last_step_key: 's0' }, { completed: 1 }],
        ...(i === 1 ? [] : [[completed[1]!.lsn, { completed_steps: 2, last_seq: 1, last_step_key: 's1' }, { completed: 2 }]]),
        [completed[2]!.lsn, { completed_steps: 3, last_seq: 2, last_step_key: 's2' }, { completed: 3 }],
      ]);
      written.set(l.id, journal.slice(2).map((r) => Number(r.lsn)));
    }
    // The batch's records took their LSNs in execution id order.
    const inIdOrder = [...leases].sort((x, y) => (x.id < y.id ? -1 : 1)).flatMap((l) => written.get(l.id)!);
    expect(inIdOrder).toEqual([...inIdOrder].sort((x, y) => x - y));
    const outputs = await db().query<{ payload: unknown; payload_is_null: boolean }>(
      `SELECT payload, payload_is_null FROM aries.read_journal(p_execution_id => $1) WHERE kind = 'step_completed'`,
      [leases[1]!.id],
    );
    expect(outputs.map((o) => o.payload_is_null)).toEqual([false, true, false]);
    expect(outputs[2]!.payload).toBeNull(); // JSON null, stored as such
  });

  test('record_steps_batch applies two requests for one execution one after the other', async () => {
    const [a] = await running(db(), 'batch-h', 1);
    const rows = await db().query<ResultRow>('SELECT * FROM aries.record_steps_batch(p_requests => $1::jsonb)', [
      JSON.stringify([
        { execution_id: a!.id, token: a!.token, completed: [done(0)], start_seq: 1, start_key: 's1' },
        { execution_id: a!.id, token: a!.token, completed: [done(1)], start_seq: 2, start_key: 's2' },
      ]),
    ]);
    expect(rows.map((r) => [r.attempt, r.error_code])).toEqual([
      [1, null],
      [1, null],
    ]);
    const { journal, execution } = await stored(db(), a!.id);
    expect(journal.map((r) => `${r.kind} ${r.step_key ?? ''}`.trim())).toEqual([
      'execution_started',
      'step_started s0',
      'step_completed s0',
      'step_started s1',
      'step_completed s1',
      'step_started s2',
    ]);
    expect(execution.step_count).toBe(2);
  });

  test('record_steps_batch fails a malformed request alone, with the constraint it violates', async () => {
    const [bad, fine] = await running(db(), 'batch-i', 2);
    const before = await stored(db(), bad!.id);
    const result = await batch(db(), [
      { execution_id: bad!.id, token: bad!.token, completed: [done(0), { ...done(1), key: '' }] },
      { execution_id: fine!.id, token: fine!.token, completed: [done(0)] },
    ]);
    expect(result.get(bad!.id)).toMatchObject({ attempt: null, error_code: '23514' });
    expect(await stored(db(), bad!.id)).toEqual(before);
    expect(result.get(fine!.id)!.error_code).toBeNull();
    expect((await stored(db(), fine!.id)).execution.step_count).toBe(1);
  });
  test('record_steps_batch ends executions that finish, with their last completions, beside the others\' step writes; a lost lease refuses only its own end', async () => {
    const [a, noOutput, stale, other] = await running(db(), 'batch-finish', 4);
    await expireLease(db(), stale!.id);
    await sqlClaim(db(), 'w2', ['batch-finish-2@1']);
    const staleBefore = await stored(db(), stale!.id);

    const result = await batch(db(), [
      { execution_id: a!.id, token: a!.token, completed: [done(0, { n: 1 })], finish: { output: { answer: 42 } } },
      { execution_id: noOutput!.id, token: noOutput!.token, completed: [done(0)], finish: {} },
      { execution_id: stale!.id, token: stale!.token, completed: [done(0)], finish: { output: 'late' } },
      { execution_id: other!.id, token: other!.token, completed: [done(0)], start_seq: 1, start_key: 's1' },
    ]);

    expect(result.get(stale!.id)).toMatchObject({ error_code: 'AR002' });
    expect(await stored(db(), stale!.id)).toEqual(staleBefore);
    for (const l of [a!, noOutput!, other!]) expect(result.get(l.id)!.error_code).toBeNull();
    const rows = await db().query<{ id: string; status: string; output: unknown; lease_owner: string | null; finished: boolean }>(
      `SELECT id, status, output, lease_owner, finished_at IS NOT NULL AS finished FROM aries.executions WHERE id = ANY ($1::uuid[])`,
      [[a!.id, noOutput!.id, other!.id]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(a!.id)).toMatchObject({ status: 'COMPLETED', output: { answer: 42 }, lease_owner: null, finished: true });
    expect(byId.get(noOutput!.id)).toMatchObject({ status: 'COMPLETED', output: null, finished: true });
    expect(byId.get(other!.id)).toMatchObject({ status: 'RUNNING', finished: false });
    const { journal, steps, execution } = await stored(db(), a!.id);
    expect(journal.map((r) => `${r.kind} ${r.step_key ?? ''}`.trim())).toEqual([
      'execution_started',
      'step_started s0',
      'step_completed s0',
      'execution_completed',
    ]);
    // one chain, every checksum good, and the execution row names the last record
    journal.forEach((r, i) => {
      expect(r.checksum_ok).toBe(true);
      if (i > 0) expect(r.prev_lsn).toBe(journal[i - 1]!.lsn);
    });
    expect(execution.last_lsn).toBe(journal.at(-1)!.lsn);
    expect(execution.step_count).toBe(1);
    expect(steps.map((s) => [s.step_key, s.status])).toEqual([['s0', 'COMPLETED']]);
    const [end] = await db().query<{ payload: unknown }>(
      `SELECT payload FROM aries.journal WHERE execution_id = $1 AND kind = 'execution_completed'`,
      [a!.id],
    );
    expect(end!.payload).toEqual({ answer: 42 });
  });

  test('record_steps_batch repeated for a finish whose answer was lost succeeds again and writes nothing more', async () => {
    const [a] = await running(db(), 'batch-refinish', 1);
    const request = { execution_id: a!.id, token: a!.token, completed: [done(0)], finish: { output: 7 } };
    expect((await batch(db(), [request])).get(a!.id)!.error_code).toBeNull();
    const after = await stored(db(), a!.id);
    expect((await batch(db(), [request])).get(a!.id)).toMatchObject({ error_code: null, error_message: null });
    expect(await stored(db(), a!.id)).toEqual(after);
    // another token is still refused: only the worker that ended it may repeat it
    expect((await batch(db(), [{ ...request, token: a!.token + 1 }])).get(a!.id)).toMatchObject({ error_code: 'AR002' });
  });
});
