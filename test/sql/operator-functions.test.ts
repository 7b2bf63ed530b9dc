import { expect, test } from 'vitest';
import { explainExecutionPage, listExecutionPage, type ExecutionPageFilter } from '../../src/db/execution-pages.js';
import { describeBackends } from '../helpers/backends.js';
import { sqlError, sqlStart, sqlStartClaimed } from '../helpers/sql.js';

describeBackends('operator SQL functions', (b) => {
  test('cancel_execution fences the worker running it: its next write is refused, and the journal says why', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'op-cancel-running');
    const [r] = await db.query<{ previous_status: string; workflow_name: string }>(`SELECT * FROM aries.cancel_execution($1, 'operator said so')`, [id]);
    expect(r).toEqual({ previous_status: 'RUNNING', workflow_name: 'op-cancel-running' });
    const [e] = await db.query<{ status: string; lease_owner: string | null; finished_at: Date | null; error: { message: string } }>(
      'SELECT status, lease_owner, finished_at, error FROM aries.executions WHERE id = $1',
      [id],
    );
    expect(e).toMatchObject({ status: 'CANCELLED', lease_owner: null, error: { name: 'CancelledError', message: 'operator said so' } });
    expect(e!.finished_at).not.toBeNull();
    const refused = await sqlError(db.query('SELECT aries.begin_step($1, $2, 0, $3)', [id, token, 'a']));
    expect(refused.code).toBe('AR002');
    const [j] = await db.query<{ kind: string; payload: unknown }>(
      'SELECT kind, payload FROM aries.journal WHERE execution_id = $1 ORDER BY lsn DESC LIMIT 1',
      [id],
    );
    expect(j).toEqual({ kind: 'execution_cancelled', payload: { reason: 'operator said so', previousStatus: 'RUNNING', compensate: false } });
  });

  test('cancel_execution refuses a finished execution (AR003) and an unknown one (AR001)', async () => {
    const db = b.engine.db;
    const { execution_id } = await sqlStart(db, 'op-cancel-twice');
    await db.query('SELECT aries.cancel_execution($1)', [execution_id]);
    const twice = await sqlError(db.query('SELECT aries.cancel_execution($1)', [execution_id]));
    expect(twice.code).toBe('AR003');
    expect(twice.message).toContain('is CANCELLED and cannot be cancelled');
    const unknown = await sqlError(db.query(`SELECT aries.cancel_execution('00000000-0000-4000-8000-000000000000')`));
    expect(unknown.code).toBe('AR001');
  });

  test('a FAILED execution can be cancelled (given up), and then not recovered', async () => {
    const db = b.engine.db;
    const { id, token } = await sqlStartClaimed(db, 'op-cancel-failed');
    await db.query(
      `SELECT aries.fail_execution(p_execution_id => $1, p_token => $2, p_error => '{"name":"Error","message":"x"}'::jsonb, p_failure_type => 'PERMANENT', p_source => 'step')`,
      [id, token],
    );
    await db.query('SELECT aries.cancel_execution($1)', [id]);
    const refused = await sqlError(db.query('SELECT aries.recover_from_failure($1)', [id]));
    expect(['AR009', 'AR010', 'AR003']).toContain(refused.code);
  });

  test('pages list every execution exactly once, newest first, even when many share one created_at', async () => {
    const db = b.engine.db;
    await db.query(`SELECT aries.register_workflow('op-pages', '1')`);
    // 25 executions created in one transaction share created_at to the microsecond: only the id orders them.
    await db.transaction(async (tx) => {
      for (let i = 0; i < 25; i++) {
        await tx.query(`SELECT * FROM aries.start_execution('op-pages', NULL, $1::jsonb, NULL)`, [JSON.stringify({ i })]);
      }
    });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listExecutionPage(db, { workflow: 'op-pages', limit: 7, cursor });
      seen.push(...page.executions.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(25);
    const all = await db.query<{ id: string }>(
      `SELECT id FROM aries.executions WHERE workflow_name = 'op-pages' ORDER BY created_at DESC, id DESC`,
    );
    expect(seen).toEqual(all.map((r) => r.id));
  });

  test('a page filters by status, workflow, time and search, and never reads input or output', async () => {
    const db = b.engine.db;
    const a = await sqlStart(db, 'op-filter', 'op-filter-key', { big: 'x'.repeat(1000) });
    const other = await sqlStart(db, 'op-filter-other');
    await db.query('SELECT aries.cancel_execution($1)', [other.execution_id]);
    const byKey = await listExecutionPage(db, { search: 'op-filter-key' });
    expect(byKey.executions.map((e) => e.id)).toEqual([a.execution_id]);
    expect(byKey.executions[0]).not.toHaveProperty('input');
    expect(byKey.executions[0]).not.toHaveProperty('output');
    expect((await listExecutionPage(db, { search: a.execution_id })).executions.map((e) => e.id)).toEqual([a.execution_id]);
    expect((await listExecutionPage(db, { search: 'no-such-key' })).executions).toEqual([]);
    const cancelled = await listExecutionPage(db, { status: 'CANCELLED', workflow: 'op-filter-other' });
    expect(cancelled.executions.map((e) => e.id)).toEqual([other.execution_id]);
    expect((await listExecutionPage(db, { status: 'PENDING', workflow: 'op-filter-other' })).executions).toEqual([]);
    const future = new Date(Date.now() + 3_600_000);
    expect((await listExecutionPage(db, { workflow: 'op-filter', createdAfter: future })).executions).toEqual([]);
    expect((await listExecutionPage(db, { workflow: 'op-filter', createdBefore: future })).executions).toHaveLength(1);
  });

  test('a cursor that was not issued here is refused with INVALID_INPUT, naming the cursor', async () => {
    await expect(listExecutionPage(b.engine.db, { cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    await expect(listExecutionPage(b.engine.db, { cursor: forged })).rejects.toThrow(/cursor is not one this server issued/);
    await expect(listExecutionPage(b.engine.db, { limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 1000/);
  });

  test.runIf(b.name === 'postgres')('every filter of a page is an index scan in (created_at, id) order: no sort, no sequential scan', async () => {
    const db = b.engine.db;
    // On a small table the planner rightly prefers a scan and a sort; forbidding both leaves a Sort in the
    // plan only if no index yields that order (bench/execution-pages.ts measures the real thing at 1,000,000).
    await db.query('SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off');
    try {
      const cursor = (await listExecutionPage(db, { limit: 1 })).nextCursor ?? undefined;
      const cases: [ExecutionPageFilter, string][] = [
        [{}, 'executions_list_idx'],
        [{ cursor }, 'executions_list_idx'],
        [{ status: 'COMPLETED', cursor }, 'executions_status_idx'],
        [{ workflow: 'op-pages', status: 'PENDING', cursor }, 'executions_workflow_status_idx'],
        [{ createdAfter: new Date(0), createdBefore: new Date() }, 'executions_list_idx'],
      ];
      for (const [filter, index] of cases) {
        const plan = await explainExecutionPage(db, filter);
        expect(plan, JSON.stringify(filter)).toContain(`Index Scan using ${index}`);
        expect(plan, JSON.stringify(filter)).not.toMatch(/Seq Scan|\bSort\b/);
      }
      // A workflow alone: one index scan per status, each stopping after a page; only those few rows are merged.
      const plan = await explainExecutionPage(db, { workflow: 'op-pages', cursor });
      expect(plan).toContain('Index Scan using executions_workflow_status_idx');
      expect(plan).not.toMatch(/Seq Scan on executions/);
      expect(plan).toMatch(/Limit[\s\S]*Index Scan using executions_workflow_status_idx/);
    } finally {
      await db.query('RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort');
    }
  });

  test('execution_stats counts started, finished and failures per bucket; active_counts the unfinished and the due', async () => {
    const db = b.engine.db;
    const from = new Date(Date.now() - 60_000);
    const to = new Date(Date.now() + 60_000);
    const before = await db.query<{ started: string; cancelled: string }>(
      'SELECT sum(started) AS started, sum(cancelled) AS cancelled FROM aries.execution_stats($1, $2, 30)',
      [from, to],
    );
    const { execution_id } = await sqlStart(db, 'op-stats');
    await sqlStart(db, 'op-stats');
    await db.query('SELECT aries.cancel_execution($1)', [execution_id]);
    const rows = await db.query<{ bucket_at: Date; started: string; cancelled: string }>(
      'SELECT * FROM aries.execution_stats($1, $2, 30)',
      [from, to],
    );
    expect(rows).toHaveLength(4);
    const sum = (k: 'started' | 'cancelled') => rows.reduce((n, r) => n + Number(r[k]), 0);
    expect(sum('started') - Number(before[0]!.started ?? 0)).toBe(2);
    expect(sum('cancelled') - Number(before[0]!.cancelled ?? 0)).toBe(1);
    const counts = await db.query<{ status: string; executions: string; due: string | null }>('SELECT * FROM aries.active_counts()');
    // The counts and the truth at one instant (one statement: one now()), so that nothing becomes due between them.
    const [together] = await db.query<{ executions: string; due: string; n: string; truth_due: string }>(
      `SELECT c.executions, c.due,
              (SELECT count(*) FROM aries.executions WHERE status = 'PENDING') AS n,
              (SELECT count(*) FROM aries.executions WHERE status = 'PENDING' AND available_at <= now()) AS truth_due
         FROM aries.active_counts() c WHERE c.status = 'PENDING'`,
    );
    expect(Number(together!.executions)).toBe(Number(together!.n));
    expect(Number(together!.due)).toBe(Number(together!.truth_due));
    expect(counts.map((c) => c.status)).not.toContain('COMPLETED');
    // Every status that is not final is counted, and only those.
    const [unfinished] = await db.query<{ statuses: string[] }>(
      'SELECT array_agg(status ORDER BY status) AS statuses FROM aries.execution_statuses WHERE NOT terminal',
    );
    expect(counts.map((c) => c.status).sort()).toEqual(unfinished!.statuses);
  });
});
