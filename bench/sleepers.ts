/**
 * Many executions asleep, made fast and faithfully: the engine's own SQL functions, called set-based, in
 * the order a worker calls them for `await ctx.sleep('nap', 1 day)` as a workflow's first call —
 * start_execution, claim_executions, begin_wait, await_waits — so each sleeper has exactly the rows a
 * worker would have left (executions SLEEPING without a lease owner and due in a day, its journal
 * records, a WAITING steps row, an open waits row). And what they may cost: a worker's claims with and
 * without them, and making them all due at once.
 */
import type pg from 'pg';
import type { Database, Queryable } from '../src/db/database.js';
import { claimExecutions } from '../src/db/leases.js';
import { summarize, type LatencySummary } from './latency-summary.js';
import { awakeWorkflow, sleeperWorkflow } from './waits-workflows.js';

const SEEDER = 'bench-seeder';
const count = (rows: { n: number | string }[]) => Number(rows[0]?.n ?? 0);

/** Puts `n` executions of sleeperWorkflow to sleep, `batch` per transaction. */
export async function seedSleepers(db: Database, n: number, batch: number, onProgress: (done: number) => void): Promise<void> {
  for (let from = 0; from < n; from += batch) {
    const size = Math.min(batch, n - from);
    await db.transaction(async (tx) => {
      await tx.query(
        `SELECT count(*) AS n FROM (SELECT aries.start_execution(p_workflow => $1, p_version => NULL, p_input => to_jsonb(i))
                                      FROM generate_series($2::integer, $3::integer) i) s`,
        [sleeperWorkflow.name, from, from + size - 1],
      );
      const claimed = count(
        await tx.query<{ n: string }>(
          `SELECT count(*) AS n FROM aries.claim_executions(p_worker => $1, p_workflow_keys => $2::text[], p_limit => $3, p_lease_ms => 600000)`,
          [SEEDER, [sleeperWorkflow.key], size],
        ),
      );
      const begun = count(
        await tx.query<{ n: string }>(
          `SELECT count(aries.begin_wait(p_execution_id => e.id, p_token => e.lease_token, p_seq => 0, p_step_key => 'nap',
                                         p_kind => 'sleep', p_delay_ms => 86400000)) AS n
             FROM aries.executions e WHERE e.status = 'RUNNING' AND e.lease_owner = $1`,
          [SEEDER],
        ),
      );
      const suspended = count(
        await tx.query<{ n: string }>(
          `SELECT count(*) FILTER (WHERE a.outcome = 'suspended' AND a.status = 'SLEEPING') AS n
             FROM aries.executions e
            CROSS JOIN LATERAL aries.await_waits(p_execution_id => e.id, p_token => e.lease_token, p_open => ARRAY['nap']) a
            WHERE e.status = 'RUNNING' AND e.lease_owner = $1`,
          [SEEDER],
        ),
      );
      if (claimed !== size || begun !== size || suspended !== size) {
        throw new Error(`seeding ${size} sleepers: claimed ${claimed}, began ${begun} waits, suspended ${suspended}`);
      }
    });
    onProgress(from + size);
  }
}

/** Executions asleep now (SLEEPING, not yet due). */
export async function sleepingCount(db: Queryable): Promise<number> {
  return count(await db.query<{ n: string }>(`SELECT count(*) AS n FROM aries.executions WHERE status = 'SLEEPING' AND available_at > aries.now()`));
}

/**
 * Makes `n` sleepers due now, in one transaction, as if their time had come: the sleep's wake time and
 * the execution's available_at move to now, and idle workers are told on commit (as wake_execution does).
 */
export async function makeDue(db: Database, n: number): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.query<{ n: string }>(
      `WITH due AS (SELECT e.id FROM aries.executions e
                     WHERE e.workflow_name = $1 AND e.status = 'SLEEPING' ORDER BY e.id LIMIT $2),
            moved AS (UPDATE aries.waits w SET wake_at = aries.now() FROM due
                       WHERE w.execution_id = due.id AND w.step_key = 'nap' RETURNING 1),
            made AS (UPDATE aries.executions e SET available_at = aries.now() FROM due WHERE e.id = due.id RETURNING 1)
       SELECT (SELECT count(*) FROM made) AS n, (SELECT count(*) FROM moved) AS waits`,
      [sleeperWorkflow.name, n],
    );
    await tx.query(`SELECT pg_notify('aries_wakeup', $1)`, [sleeperWorkflow.name]);
    return count(rows);
  });
}

export interface ClaimCost {
  /** A claim that finds nothing due: what an idle worker's poll costs. */
  idle: LatencySummary;
  /** A claim that takes the one due PENDING execution. */
  takeOne: LatencySummary;
}

/**
 * Times aries.claim_executions as a worker calls it (its workflow keys, limit 16, through the engine's
 * wrapper): `idleCalls` with nothing due, then `takeOneCalls` each with one PENDING execution due (started
 * before the call, not timed; cancelled after it, so every call sees the same table).
 */
export async function measureClaims(db: Queryable, workflowKeys: string[], options: { idleCalls: number; takeOneCalls: number }): Promise<ClaimCost> {
  const claim = () => claimExecutions(db, { worker: 'bench-claimer', workflowKeys, limit: 16, leaseMs: 15_000, running: [] });
  const idle: number[] = [];
  const takeOne: number[] = [];
  for (let i = 0; i < 20; i++) await claim(); // warm the connection and the plan cache
  for (let i = 0; i < options.idleCalls; i++) {
    const t0 = performance.now();
    const got = await claim();
    idle.push(performance.now() - t0);
    if (got.length !== 0) throw new Error(`an idle claim took ${got.length} executions: something is due that should not be`);
  }
  for (let i = 0; i < options.takeOneCalls; i++) {
    await db.query(`SELECT aries.start_execution(p_workflow => $1, p_version => NULL, p_input => to_jsonb($2::integer))`, [awakeWorkflow.name, i]);
    const t0 = performance.now();
    const got = await claim();
    takeOne.push(performance.now() - t0);
    if (got.length !== 1 || got[0]!.workflow !== awakeWorkflow.name) throw new Error(`a claim with one execution due took ${got.length}`);
    await db.query(`SELECT aries.cancel_execution(p_execution_id => $1, p_reason => 'claimed by the benchmark')`, [got[0]!.executionId]);
  }
  return { idle: summarize(idle), takeOne: summarize(takeOne) };
}

/**
 * The plan of the statement inside claim_executions for an idle claim, as the server ran it (auto_explain
 * in one session, reported as a NOTICE, with buffers): the evidence that sleepers are not read.
 * Server only (PGlite has no auto_explain); `client` is a connected pg client of its own on the bench database.
 */
export async function explainIdleClaim(client: pg.Client, workflowKeys: string[]): Promise<{ ms: number; plan: string } | undefined> {
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  for (const set of [
    `LOAD 'auto_explain'`,
    'SET auto_explain.log_min_duration = 0',
    'SET auto_explain.log_analyze = on',
    'SET auto_explain.log_buffers = on',
    'SET auto_explain.log_timing = on',
    'SET auto_explain.log_nested_statements = on',
    'SET auto_explain.log_level = notice',
    'SET client_min_messages = notice',
  ]) await client.query(set);
  // Twice: the first call plans the function's statement; the second shows the cached plan as it runs.
  for (let i = 0; i < 2; i++) {
    notices.length = 0;
    await client.query(
      `SELECT * FROM aries.claim_executions(p_worker => 'bench-claimer', p_workflow_keys => $1::text[], p_limit => 16, p_lease_ms => 15000)`,
      [workflowKeys],
    );
  }
  const inner = notices.find((n) => n.includes('WITH expired AS'));
  if (!inner) return undefined;
  const ms = Number(/duration: ([\d.]+) ms/.exec(inner)?.[1] ?? NaN);
  // The notice is "duration … plan:", the statement's text, then the plan (its first line names a node).
  const lines = inner.split('\n');
  const first = lines.findIndex((l) => /^\S.*\(cost=/.test(l));
  const plan = lines
    .slice(first)
    .map((l) => l.replace(/ {2}\(cost=[^)]*\)/, '').replace(/'\{[^}]*@[^}]*\}'::text\[\]/, "'{…the worker''s keys}'::text[]"))
    .join('\n');
  return { ms, plan };
}
