/**
 * Tables filled set-based, for benchmarks that measure the engine beside many rows it did not have to
 * write one by one: finished executions (bench/retention.ts purges them; bench/flat-cost.ts measures
 * beside them) and executions suspended on a signal wait (bench/flat-cost.ts). Each fill runs in chunks
 * of CHUNK executions, one statement per chunk writing an execution with its dependents, with triggers
 * off (session_replication_role = replica, which only a benchmark does): the rows are what the engine
 * writes, made without running it a million times. Journal LSNs come from a block of
 * aries.journal_lsn_seq reserved per chunk, so the engine's own later records follow them.
 */
import type { Database } from '../src/db/database.js';

const CHUNK = 50_000;

/** The workflow the finished executions belong to (registered by fillFinished). */
export const FINISHED_WORKFLOW = 'bench-retired';

/**
 * The CTE that writes the journal records of a fill's `rec` (one row per record: id, k its position in the
 * execution's chain, lsn, kind, seq, step_key, attempt, payload), each with its real checksum and prev-LSN
 * link, created at rec's column `at`.
 */
const journalFromRec = (at: string) => `j AS (
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum, created_at)
  SELECT lsn, id, CASE WHEN k > 0 THEN lsn - 1 END, kind, seq, step_key, attempt, payload,
         aries.journal_checksum(id, CASE WHEN k > 0 THEN lsn - 1 END, kind, seq, step_key, attempt, payload), ${at}
    FROM rec)`;

/**
 * One chunk of finished executions, $1..$2 by number, with their dependents in the same statement. LSNs
 * come from a block reserved for the chunk ($3 = the block's first LSN - 1); triggers are off for the
 * fill (session_replication_role = replica), which only the bench does: the rows are what the engine
 * writes, made without running it a million times.
 */
const FINISHED_FILL = `
WITH ex AS (
  INSERT INTO aries.executions (workflow_name, workflow_version, status, input, output, idempotency_key, created_at,
                                updated_at, started_at, finished_at, claim_count, step_count, last_lsn)
  SELECT 'bench-retired', '1', 'COMPLETED', jsonb_build_object('order', i), jsonb_build_object('ok', true, 'total', i),
         CASE WHEN i % 10 = 0 THEN 'retired-' || $4::text || '-' || i END, t.at, t.at + interval '2 seconds', t.at,
         t.at + interval '2 seconds', 1, 2, $3::bigint + (i - $1) * 6 + 6
    FROM generate_series($1::bigint, $2::bigint) i
    CROSS JOIN LATERAL (SELECT now() - interval '10 days' - i * interval '1 millisecond' AS at) t
  RETURNING id, (input ->> 'order')::bigint AS i, finished_at),
rec AS (
  SELECT ex.id, ex.finished_at, k, $3::bigint + (ex.i - $1) * 6 + k + 1 AS lsn,
         (ARRAY['execution_started', 'step_started', 'step_completed', 'step_started', 'step_completed', 'execution_completed'])[k + 1] AS kind,
         CASE WHEN k BETWEEN 1 AND 4 THEN (k - 1) / 2 END AS seq,
         CASE WHEN k BETWEEN 1 AND 4 THEN 's' || ((k - 1) / 2) END AS step_key,
         CASE WHEN k BETWEEN 1 AND 4 THEN 1 END AS attempt,
         CASE k WHEN 0 THEN jsonb_build_object('workflow', 'bench-retired', 'version', '1', 'input', jsonb_build_object('order', ex.i))
                WHEN 2 THEN jsonb_build_object('output', ex.i) WHEN 4 THEN jsonb_build_object('output', ex.i + 1)
                WHEN 5 THEN jsonb_build_object('output', jsonb_build_object('ok', true, 'total', ex.i)) END AS payload
    FROM ex CROSS JOIN generate_series(0, 5) k),
${journalFromRec('finished_at')},
s AS (
  INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt, output_lsn, started_at, completed_at)
  SELECT id, step_key, seq, 'COMPLETED', 1, lsn, finished_at - interval '1 second', finished_at FROM rec WHERE kind = 'step_completed'),
c AS (
  INSERT INTO aries.checkpoints (execution_id, lsn, state_data, checksum, checkpoint_time, created_at)
  SELECT id, lsn, jsonb_build_object('seq', 1), md5(id::text), finished_at, finished_at FROM rec WHERE k = 4)
SELECT count(*)::integer AS n FROM ex`;

/**
 * One chunk of executions suspended on a signal wait, as aries.await_waits leaves one that waits for a
 * signal no one sent yet ($5 = the workflow, version '1'; the signal is 'go', its wait key 'signal:go:1'):
 * WAITING with no lease owner and due at infinity, a WAITING steps row of kind 'signal' and its open
 * waits row, and 3 journal records (execution_started, step_waiting, execution_suspended). $1..$2 number
 * them, $3 is the chunk's first LSN - 1.
 */
const WAITING_FILL = `
WITH ex AS (
  INSERT INTO aries.executions (workflow_name, workflow_version, status, input, available_at, lease_token, claim_count,
                                step_count, last_lsn, created_at, updated_at, started_at)
  SELECT $4, '1', 'WAITING', jsonb_build_object('order', i), 'infinity', 1, 1, 0, $3::bigint + (i - $1) * 3 + 3,
         now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour'
    FROM generate_series($1::bigint, $2::bigint) i
  RETURNING id, (input ->> 'order')::bigint AS i, created_at),
rec AS (
  SELECT ex.id, ex.created_at, k, $3::bigint + (ex.i - $1) * 3 + k + 1 AS lsn,
         (ARRAY['execution_started', 'step_waiting', 'execution_suspended'])[k + 1] AS kind,
         CASE k WHEN 1 THEN 0 END AS seq, CASE k WHEN 1 THEN 'signal:go:1' END AS step_key, CASE k WHEN 1 THEN 1 END AS attempt,
         CASE k WHEN 0 THEN jsonb_build_object('workflow', $4::text, 'version', '1', 'input', jsonb_build_object('order', ex.i))
                WHEN 1 THEN jsonb_build_object('kind', 'signal', 'signal', 'go')
                WHEN 2 THEN jsonb_build_object('until', 'infinity', 'waits', jsonb_build_array('signal:go:1'), 'status', 'WAITING') END AS payload
    FROM ex CROSS JOIN generate_series(0, 2) k),
${journalFromRec('created_at')},
s AS (
  INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt, kind, started_at)
  SELECT id, 'signal:go:1', 0, 'WAITING', 1, 'signal', created_at FROM ex),
w AS (
  INSERT INTO aries.waits (execution_id, step_key, kind, signal_name, created_at)
  SELECT id, 'signal:go:1', 'signal', 'go', created_at FROM ex)
SELECT count(*)::integer AS n FROM ex`;

/** Runs `sql` chunk by chunk over executions 1..rows, reserving `recordsEach` LSNs per execution, then ANALYZEs. */
async function fillChunks(db: Database, sql: string, rows: number, recordsEach: number, extra: unknown): Promise<void> {
  for (let from = 1; from <= rows; from += CHUNK) {
    const to = Math.min(rows, from + CHUNK - 1);
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      const [block] = await tx.query<{ base: string }>(
        `SELECT setval('aries.journal_lsn_seq', nextval('aries.journal_lsn_seq') + $1) - $1 AS base`,
        [(to - from + 1) * recordsEach],
      );
      await tx.query(sql, [from, to, Number(block!.base), extra]);
    });
  }
  await db.exec('ANALYZE aries.executions, aries.journal, aries.steps, aries.waits, aries.checkpoints');
}

/**
 * Fills `rows` executions of FINISHED_WORKFLOW, COMPLETED ten days ago, each with 2 steps, 6 journal records
 * and a checkpoint; one in ten has an idempotency key, made unique across fills by `tag`.
 */
export async function fillFinished(db: Database, rows: number, tag: string): Promise<void> {
  await db.query(`SELECT aries.register_workflow(p_name => $1, p_version => '1')`, [FINISHED_WORKFLOW]);
  await fillChunks(db, FINISHED_FILL, rows, 6, tag);
}

/** Fills `rows` executions of `workflow` (version '1', registered by the caller) suspended on signal 'go'. */
export async function fillWaiting(db: Database, rows: number, workflow: string): Promise<void> {
  await fillChunks(db, WAITING_FILL, rows, 3, workflow);
}
