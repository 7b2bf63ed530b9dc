import { expect, test } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { describeBackends } from '../helpers/backends.js';
import { expireLease, sqlClaim, sqlError, sqlStartClaimed } from '../helpers/sql.js';

/** Starts a step (intent) and returns its attempt. */
async function begin(db: Queryable, id: string, token: number, seq: number, key: string): Promise<number> {
  const [r] = await db.query<{ a: number }>('SELECT aries.begin_step($1, $2, $3, $4) AS a', [id, token, seq, key]);
  return r!.a;
}

async function complete(db: Queryable, id: string, token: number, seq: number, key: string, attempt = 1) {
  await db.query(`SELECT aries.complete_step($1, $2, $3, $4, $5, '{"ok":true}'::jsonb, true)`, [id, token, seq, key, attempt]);
}

async function status(db: Queryable, id: string) {
  const [r] = await db.query<{ status: string; available_at: Date; lease_owner: string | null }>(
    'SELECT status, available_at, lease_owner FROM aries.executions WHERE id = $1',
    [id],
  );
  return r!;
}

const ERROR = JSON.stringify({ name: 'Error', message: 'flaky' });

describeBackends('failure-model SQL functions', (b) => {
  test('retry_step makes the execution a durable timer: it is not claimed before its retry is due, and is after', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-timer');
    await begin(db, id, token, 0, 'a');
    await db.query(`SELECT aries.retry_step($1, $2, 0, 'a', 1, $3::jsonb, 60000, 'step')`, [id, token, ERROR]);
    const s = await status(db, id);
    expect(s).toMatchObject({ status: 'PENDING', lease_owner: null });
    expect(new Date(s.available_at).getTime()).toBeGreaterThan(Date.now() + 50_000);
    // The database clock decides: pinned a millisecond before the timer, nothing is claimed; at it, the execution is.
    const claimAt = (offset: string) =>
      db.transaction(async (tx) => {
        await tx.query(
          `SELECT set_config('aries.now', (SELECT (available_at + $2::interval)::text FROM aries.executions WHERE id = $1), true)`,
          [id, offset],
        );
        return sqlClaim(tx, 'w2', ['rf-timer@1']);
      });
    expect(await claimAt('-1 millisecond')).toHaveLength(0);
    const claimed = await claimAt('0 seconds');
    expect(claimed.map((c) => c.id)).toEqual([id]);
    // The claim that runs the retry marks the TRANSIENT failure recovered.
    const [f] = await db.query<{ recovered: boolean; recovered_by: string; recovery_strategy: string }>(
      `SELECT recovered, recovered_by, recovery_strategy FROM aries.failures WHERE execution_id = $1 AND failure_type = 'TRANSIENT' AND source = 'step'`,
      [id],
    );
    expect(f).toEqual({ recovered: true, recovered_by: 'worker', recovery_strategy: 'retry' });
    // The retried step starts with the next attempt.
    expect(await begin(db, id, Number(claimed[0]!.lease_token), 0, 'a')).toBe(2);
  });

  test('retry_step refuses a stale fencing token and a step that is not running that attempt', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-stale');
    await begin(db, id, token, 0, 'a');
    expect((await sqlError(db.query(`SELECT aries.retry_step($1, $2, 0, 'a', 7, $3::jsonb, 10, 'step')`, [id, token, ERROR])))).toMatchObject({ code: 'AR005' });
    expect((await sqlError(db.query(`SELECT aries.retry_step($1, $2, 0, 'a', 1, $3::jsonb, 10, 'step')`, [id, token + 1, ERROR])))).toMatchObject({ code: 'AR002' });
  });

  test('a claim of an expired lease records the node fault it recovers from', async () => {
    const db = b.engine.db;
    const { id } = await sqlStartClaimed(db, 'rf-node');
    await expireLease(db, id);
    await sqlClaim(db, 'w2', ['rf-node@1']);
    const rows = await db.query<Record<string, unknown>>(`SELECT * FROM aries.failures WHERE execution_id = $1`, [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: 'node', failure_type: 'TRANSIENT', recovery_strategy: 'retry', recovered: true });
    expect(String(rows[0]!.failure_message)).toMatch(/worker w1 stopped renewing its lease .* resumed by worker w2/);
  });

  test('fail_execution rolls back to the last valid checkpoint: later steps are ROLLED_BACK and the failure names the checkpoint', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-rollback');
    await begin(db, id, token, 0, 'a');
    await complete(db, id, token, 0, 'a');
    const [cp] = await db.query<{ checkpoint_id: string }>('SELECT checkpoint_id FROM aries.checkpoints WHERE execution_id = $1', [id]);
    await begin(db, id, token, 1, 'b');
    await db.query(
      `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => $3::jsonb, p_failure_type => 'PERMANENT', p_source => 'step', p_step_key => 'b', p_attempt => 1)`,
      [id, token, ERROR],
    );
    const steps = await db.query<{ step_key: string; status: string }>('SELECT step_key, status FROM aries.steps WHERE execution_id = $1 ORDER BY seq', [id]);
    expect(steps).toEqual([{ step_key: 'a', status: 'COMPLETED' }, { step_key: 'b', status: 'ROLLED_BACK' }]);
    const [f] = await db.query<{ checkpoint_id: string; recovery_strategy: string; recovered: boolean }>(
      'SELECT checkpoint_id, recovery_strategy, recovered FROM aries.failures WHERE execution_id = $1',
      [id],
    );
    expect(f).toEqual({ checkpoint_id: cp!.checkpoint_id, recovery_strategy: 'rollback', recovered: false });
    const kinds = await db.query<{ kind: string }>('SELECT kind FROM aries.journal WHERE execution_id = $1 ORDER BY lsn', [id]);
    expect(kinds.map((k) => k.kind).slice(-2)).toEqual(['execution_rolled_back', 'execution_failed']);
  });

  test('recover_from_failure resumes a FAILED execution from its checkpoint, once; AR009 when nothing is left to recover', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-recover');
    await begin(db, id, token, 0, 'a');
    await complete(db, id, token, 0, 'a');
    await begin(db, id, token, 1, 'b');
    await db.query(`SELECT aries.fail_execution($1, $2, $3::jsonb, 'PERMANENT', 'step', 'b', 1)`, [id, token, ERROR]);
    const [failure] = await db.query<{ checkpoint_id: string }>('SELECT checkpoint_id FROM aries.failures WHERE execution_id = $1', [id]);
    const [r] = await db.query<{ checkpoint: string | null }>(`SELECT aries.recover_from_failure($1, 'PERMANENT') AS checkpoint`, [id]);
    expect(r!.checkpoint).toBe(failure!.checkpoint_id); // the checkpoint rolled back to, the one the failure names
    expect((await status(db, id)).status).toBe('PENDING');
    const [f] = await db.query<{ recovered: boolean; recovered_by: string }>('SELECT recovered, recovered_by FROM aries.failures WHERE execution_id = $1', [id]);
    expect(f).toEqual({ recovered: true, recovered_by: 'operator' });
    expect(await sqlError(db.query('SELECT aries.recover_from_failure($1)', [id]))).toMatchObject({ code: 'AR009' });
    // The resumed run continues: the rolled-back step starts again with the next attempt and a fresh budget.
    const [claimed] = await sqlClaim(db, 'w2', ['rf-recover@1']);
    expect(await begin(db, id, Number(claimed!.lease_token), 1, 'b')).toBe(2);
    const [used] = await db.query<{ step_attempts: number }>(`SELECT * FROM aries.step_attempts_used($1, 'b')`, [id]);
    expect(used!.step_attempts).toBe(1);
    expect(await sqlError(db.query('SELECT aries.recover_from_failure($1)', [id]))).toMatchObject({ code: 'AR010' }); // a worker holds it
  });

  test('recover_from_failure of an execution rolled back to its start returns NULL: it starts over', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-start');
    await begin(db, id, token, 0, 'a');
    await db.query(`SELECT aries.fail_execution($1, $2, $3::jsonb, 'PERMANENT', 'step', 'a', 1)`, [id, token, ERROR]);
    const [r] = await db.query<{ checkpoint: string | null }>('SELECT aries.recover_from_failure($1) AS checkpoint', [id]);
    expect(r!.checkpoint).toBeNull();
  });

  test('recover_from_failure refuses an execution a worker holds (AR010) and an unknown one (AR001)', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-busy');
    await begin(db, id, token, 0, 'a');
    await db.query(`SELECT aries.retry_step($1, $2, 0, 'a', 1, $3::jsonb, 60000, 'step')`, [id, token, ERROR]);
    await db.query(`UPDATE aries.executions SET available_at = now() WHERE id = $1`, [id]);
    await sqlClaim(db, 'w2', ['rf-busy@1']);
    // Refused for the lease, whatever failures it has (the claim marked its TRANSIENT one recovered).
    expect(await sqlError(db.query('SELECT aries.recover_from_failure($1)', [id]))).toMatchObject({ code: 'AR010' });
    expect(await sqlError(db.query('SELECT aries.recover_from_failure(gen_random_uuid())'))).toMatchObject({ code: 'AR001' });
  });

  test('recover_from_failure makes a waiting retry due now', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-now');
    await begin(db, id, token, 0, 'a');
    await db.query(`SELECT aries.retry_step($1, $2, 0, 'a', 1, $3::jsonb, 3600000, 'step')`, [id, token, ERROR]);
    expect(await sqlClaim(db, 'w2', ['rf-now@1'])).toHaveLength(0);
    await db.query(`SELECT aries.recover_from_failure($1, 'TRANSIENT')`, [id]);
    expect((await sqlClaim(db, 'w2', ['rf-now@1'])).map((c) => c.id)).toEqual([id]);
  });

  test('auto_recover_failures recovers FAILED executions whose TRANSIENT retries ran out, not PERMANENT verdicts, and at most N times each', async () => {
    const db = b.engine.db;
    const failWith = async (workflow: string, exhausted: boolean) => {
      const { id, token } = await sqlStartClaimed(db, workflow);
      await db.query(
        `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => $3::jsonb, p_failure_type => 'PERMANENT',
                                     p_source => 'network', p_retries_exhausted => $4)`,
        [id, token, ERROR, exhausted],
      );
      return id;
    };
    const exhausted = await failWith('rf-sweep-a', true);
    const permanent = await failWith('rf-sweep-b', false);
    const [first] = await db.query<{ n: string }>('SELECT aries.auto_recover_failures() AS n');
    expect(Number(first!.n)).toBeGreaterThanOrEqual(1);
    expect((await status(db, exhausted)).status).toBe('PENDING');
    expect((await status(db, permanent)).status).toBe('FAILED');
    // Bounded: with p_max_per_execution 1, a second automatic recovery of the same execution is not made.
    const [claimed] = await sqlClaim(db, 'w3', ['rf-sweep-a@1']);
    await db.query(`SELECT aries.fail_execution($1, $2, $3::jsonb, 'PERMANENT', 'network', NULL, NULL, true)`, [exhausted, Number(claimed!.lease_token), ERROR]);
    await db.query(`SELECT aries.auto_recover_failures(p_max_per_execution => 1)`);
    expect((await status(db, exhausted)).status).toBe('FAILED');
    // Failures older than p_max_age are left alone.
    await db.query(`SELECT aries.auto_recover_failures(p_max_age => interval '0 seconds')`);
    expect((await status(db, exhausted)).status).toBe('FAILED');
  });

  test('a corrupt checkpoint is skipped for the previous valid one, and recorded once as a data failure', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-cp');
    await begin(db, id, token, 0, 'a');
    await complete(db, id, token, 0, 'a');
    await begin(db, id, token, 1, 'b');
    await complete(db, id, token, 1, 'b');
    const cps = await db.query<{ checkpoint_id: string; lsn: string }>('SELECT checkpoint_id, lsn FROM aries.checkpoints WHERE execution_id = $1 ORDER BY lsn', [id]);
    expect(cps).toHaveLength(2);
    await db.query(`UPDATE aries.checkpoints SET state_data = state_data || '{"completed_steps": 99}' WHERE checkpoint_id = $1`, [cps[1]!.checkpoint_id]);
    for (let i = 0; i < 2; i++) {
      const [r] = await db.query<{ checkpoint_id: string }>('SELECT * FROM aries.recovery_checkpoint($1)', [id]);
      expect(r!.checkpoint_id).toBe(cps[0]!.checkpoint_id);
    }
    const data = await db.query<Record<string, unknown>>(`SELECT * FROM aries.failures WHERE execution_id = $1 AND source = 'data'`, [id]);
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ error_class: 'CheckpointCorruptError', recovered: true, recovery_strategy: 'rollback' });
  });

  test('compensation events: a completed compensation is never started again, its repeat is a no-op', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-comp');
    await begin(db, id, token, 0, 'a');
    await complete(db, id, token, 0, 'a');
    await db.query(`SELECT aries.begin_compensation($1, $2, $3::jsonb, 'step')`, [id, token, ERROR]);
    expect((await status(db, id)).status).toBe('COMPENSATING');
    const [s] = await db.query<{ a: number }>(`SELECT aries.record_compensation($1, $2, 'a', 'started') AS a`, [id, token]);
    expect(s!.a).toBe(1);
    await db.query(`SELECT aries.record_compensation($1, $2, 'a', 'completed', 1, '"undone"')`, [id, token]);
    await db.query(`SELECT aries.record_compensation($1, $2, 'a', 'completed', 1, '"undone"')`, [id, token]);
    expect(await sqlError(db.query(`SELECT aries.record_compensation($1, $2, 'a', 'started')`, [id, token]))).toMatchObject({ code: 'AR005' });
    expect(await sqlError(db.query(`SELECT aries.record_compensation($1, $2, 'nope', 'started')`, [id, token]))).toMatchObject({ code: 'AR005' });
    await db.query('SELECT aries.finish_compensation($1, $2)', [id, token]);
    expect((await status(db, id)).status).toBe('COMPENSATED');
    const [f] = await db.query<{ failure_type: string; recovered: boolean }>('SELECT failure_type, recovered FROM aries.failures WHERE execution_id = $1', [id]);
    expect(f).toEqual({ failure_type: 'PARTIAL', recovered: true });
  });

  test('a COMPENSATING execution holds a lease and is claimed again when it expires, still COMPENSATING', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'rf-comp-lease');
    await db.query(`SELECT aries.begin_compensation($1, $2, $3::jsonb, 'step')`, [id, token, ERROR]);
    expect(await sqlClaim(db, 'w2', ['rf-comp-lease@1'])).toHaveLength(0);
    await expireLease(db, id);
    const [c] = await db.query<{ id: string; compensating: boolean; resumed: boolean }>(
      `SELECT * FROM aries.claim_executions('w2', ARRAY['rf-comp-lease@1'], 10, 30000)`,
    );
    expect(c).toMatchObject({ id, compensating: true, resumed: true });
    expect((await status(db, id)).status).toBe('COMPENSATING');
  });
});
