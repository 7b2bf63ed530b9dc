import { expect, test } from 'vitest';
import { describeBackends } from '../helpers/backends.js';
import { expireLease, sqlClaim, sqlStart } from '../helpers/sql.js';

describeBackends('aries.claim_executions', (b) => {
  test('claim_executions takes due PENDING executions, sets a lease and increments the fencing token', async () => {
    const { execution_id } = await sqlStart(b.engine.db, 'claim-a');
    const claimed = await sqlClaim(b.engine.db, 'w1', ['claim-a@1']);
    expect(claimed.map((c) => c.id)).toEqual([execution_id]);
    expect(Number(claimed[0]!.lease_token)).toBe(1);
    expect(claimed[0]!.resumed).toBe(false);
    const { execution } = (await b.engine.admin.getExecution(execution_id))!;
    expect(execution.status).toBe('RUNNING');
    expect(execution.leaseOwner).toBe('w1');
    expect(execution.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now());
  });

  test('claim_executions does not take an execution whose lease is live', async () => {
    await sqlStart(b.engine.db, 'claim-b');
    expect(await sqlClaim(b.engine.db, 'w1', ['claim-b@1'])).toHaveLength(1);
    expect(await sqlClaim(b.engine.db, 'w2', ['claim-b@1'])).toHaveLength(0);
  });

  test('claim_executions resumes an execution whose lease expired, with a new token', async () => {
    const { execution_id } = await sqlStart(b.engine.db, 'claim-c');
    await sqlClaim(b.engine.db, 'w1', ['claim-c@1']);
    await expireLease(b.engine.db, execution_id);
    const again = await sqlClaim(b.engine.db, 'w2', ['claim-c@1']);
    expect(again.map((c) => c.id)).toEqual([execution_id]);
    expect(Number(again[0]!.lease_token)).toBe(2);
    expect(again[0]!.resumed).toBe(true);
    expect(again[0]!.claim_count).toBe(2);
  });

  test('claim_executions does not take back an expired lease of an execution the worker is still running', async () => {
    const { execution_id } = await sqlStart(b.engine.db, 'claim-h');
    await sqlClaim(b.engine.db, 'w1', ['claim-h@1']);
    await expireLease(b.engine.db, execution_id);
    const claim = (running: string[]) =>
      b.engine.db.query<{ id: string }>(
        `SELECT * FROM aries.claim_executions(p_worker => 'w1', p_workflow_keys => ARRAY['claim-h@1'], p_limit => 10,
                                             p_lease_ms => 30000, p_running => $1::uuid[])`,
        [running],
      );
    expect(await claim([execution_id])).toHaveLength(0);
    expect((await claim([])).map((r) => r.id)).toEqual([execution_id]);
  });

  test('claim_executions only takes the workflows and versions it is given', async () => {
    await sqlStart(b.engine.db, 'claim-d');
    expect(await sqlClaim(b.engine.db, 'w1', ['claim-x@1', 'claim-d@2'])).toHaveLength(0);
    expect(await sqlClaim(b.engine.db, 'w1', ['claim-d@1'])).toHaveLength(1);
  });

  test('claim_executions honours the limit', async () => {
    for (let i = 0; i < 5; i++) await sqlStart(b.engine.db, 'claim-e');
    expect(await sqlClaim(b.engine.db, 'w1', ['claim-e@1'], 3)).toHaveLength(3);
    expect(await sqlClaim(b.engine.db, 'w1', ['claim-e@1'], 3)).toHaveLength(2);
  });

  test('claim_executions leaves executions that are not due yet', async () => {
    const { execution_id } = await sqlStart(b.engine.db, 'claim-f');
    await b.engine.db.query(`UPDATE aries.executions SET available_at = now() + interval '1 hour' WHERE id = $1`, [execution_id]);
    expect(await sqlClaim(b.engine.db, 'w1', ['claim-f@1'])).toHaveLength(0);
  });

  test('renew_leases extends only the leases still held under the given token', async () => {
    const { execution_id } = await sqlStart(b.engine.db, 'claim-g');
    const [c] = await sqlClaim(b.engine.db, 'w1', ['claim-g@1']);
    const renew = (worker: string, token: number) =>
      b.engine.db.query<{ id: string }>(
        'SELECT * FROM aries.renew_leases(p_worker => $1, p_ids => $2::uuid[], p_tokens => $3::bigint[], p_lease_ms => 60000)',
        [worker, [execution_id], [token]],
      );
    expect(await renew('w1', Number(c!.lease_token))).toHaveLength(1);
    expect(await renew('w1', Number(c!.lease_token) + 1)).toHaveLength(0);
    expect(await renew('w2', Number(c!.lease_token))).toHaveLength(0);
  });
});
