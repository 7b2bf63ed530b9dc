/**
 * Drives the engine's step functions directly over node-postgres, without a worker: the write pattern
 * of a durable step, and variants of it, so their costs can be compared in isolation. Executions are
 * started and claimed up front (with a long lease), then each client walks its own executions through
 * their steps. Used by profile-server.ts.
 */
import pg from 'pg';

export const STEPS = 10;

export interface Lease {
  id: string;
  token: number;
}

export type Pattern =
  /** begin_step (intent, asynchronous commit), then complete_step (output, synchronous commit). */
  | 'begin+complete'
  /** complete_step alone: no intent record, one synchronous commit per step. */
  | 'complete-only'
  /** record_steps: the previous step's completion and the next step's intent in one call and commit. */
  | 'piggyback'
  /** The same writes of a group of executions through record_steps_batch (one call per group). */
  | 'piggyback-batch'
  /**
   * Not an engine function: the essential writes of a completed step — the execution row (fenced by
   * its token), one journal record with its checksum, one steps row — as one plain SQL statement, on
   * the same tables, constraints and indexes. A floor for what a step's SQL can cost.
   */
  | 'minimal';

export interface Variant {
  name: string;
  pattern: Pattern;
  /** Executions a client advances by one step per statement (1 = one execution per call). */
  batch: number;
  checkpoint: boolean;
}

export async function connect(url: string, n: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: 'aries-bench-profile' });
      await c.connect();
      return c;
    }),
  );
}

/** Registers the workflow the executions below belong to. */
export async function prepare(c: pg.Client): Promise<void> {
  await c.query(`SELECT aries.register_workflow(p_name => 'profile', p_version => '1')`);
}

/** Starts and claims `n` executions (a one-hour lease), ready for step calls. */
export async function claimFresh(c: pg.Client, n: number): Promise<Lease[]> {
  await c.query(
    `SELECT aries.start_execution(p_workflow => 'profile', p_version => '1', p_input => '0'::jsonb) FROM generate_series(1, $1)`,
    [n],
  );
  const { rows } = await c.query<{ id: string; lease_token: string }>(
    `SELECT id, lease_token FROM aries.claim_executions(p_worker => 'profile', p_workflow_keys => ARRAY['profile@1'],
                                                          p_limit => $1, p_lease_ms => 3600000)`,
    [n],
  );
  return rows.map((r) => ({ id: r.id, token: Number(r.lease_token) }));
}

export async function hasFunction(c: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await c.query(
    `SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'aries' AND p.proname = $1`,
    [name],
  );
  return (rowCount ?? 0) > 0;
}

const MINIMAL = `
WITH old AS (
  SELECT e.id, e.last_lsn FROM aries.executions e
   -- lease_owner IS NOT NULL is status = 'RUNNING' (a CHECK holds them equal); said this way, the
   -- planner does not pick the partial index of RUNNING executions on unanalyzed tables.
   WHERE e.id = ANY ($1::uuid[]) AND e.lease_owner IS NOT NULL
     AND e.lease_token = ($2::bigint[])[pg_catalog.array_position($1::uuid[], e.id)]
     FOR UPDATE
), upd AS (
  UPDATE aries.executions e SET last_lsn = pg_catalog.nextval('aries.journal_lsn_seq'), step_count = e.step_count + 1,
         updated_at = aries.now()
    FROM old WHERE e.id = old.id
  RETURNING e.id, e.last_lsn AS lsn, old.last_lsn AS prev
), j AS (
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum)
  SELECT u.lsn, u.id, u.prev, 'step_completed', $3::integer, $4::text, 1, $5::jsonb,
         pg_catalog.md5(u.id::text || E'\\x1f' || coalesce(u.prev::text, '-') || E'\\x1fstep_completed\\x1f' || $3::integer::text
                        || E'\\x1f' || $4::text || E'\\x1f1\\x1f' || $5::jsonb::text)
    FROM upd u
)
INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt, output_lsn, completed_at)
SELECT u.id, $4::text, $3::integer, 'COMPLETED', 1, u.lsn, aries.now() FROM upd u`;

export const completionJson = (seq: number, checkpoint: boolean): string =>
  JSON.stringify([{ seq, key: `s${seq}`, attempt: 1, checkpoint, output: seq }]);

/** The calls of step `seq` for a group of executions (one statement per call, whatever the group size). */
export async function advance(c: pg.Client, v: Variant, group: Lease[], seq: number): Promise<void> {
  const key = `s${seq}`;
  const ids = group.map((e) => e.id);
  const tokens = group.map((e) => e.token);
  const each = `FROM unnest($1::uuid[], $2::bigint[]) AS x(id, token)`;
  if (v.pattern === 'piggyback-batch') {
    const body = (completed: string | null, start: boolean) =>
      JSON.stringify(
        group.map((e) => ({
          execution_id: e.id,
          token: e.token,
          ...(completed ? { completed: JSON.parse(completed) as unknown } : {}),
          ...(start ? { start_seq: seq, start_key: key } : {}),
        })),
      );
    const sql = 'SELECT * FROM aries.record_steps_batch(p_requests => $1::jsonb)';
    await c.query(sql, [body(seq === 0 ? null : completionJson(seq - 1, v.checkpoint), true)]);
    if (seq === STEPS - 1) await c.query(sql, [body(completionJson(seq, v.checkpoint), false)]);
    return;
  }
  if (v.pattern === 'piggyback') {
    // The completion of step seq-1 travels with the intent of step seq; the last completion goes alone
    // (the worker sends it with complete_execution).
    const completed = seq === 0 ? null : completionJson(seq - 1, v.checkpoint);
    await c.query(
      `SELECT aries.record_steps(p_execution_id => x.id, p_token => x.token, p_completed => $3::jsonb,
                                 p_start_seq => $4, p_start_key => $5) ${each}`,
      [ids, tokens, completed, seq, key],
    );
    if (seq === STEPS - 1) {
      await c.query(`SELECT aries.record_steps(p_execution_id => x.id, p_token => x.token, p_completed => $3::jsonb) ${each}`, [
        ids,
        tokens,
        completionJson(seq, v.checkpoint),
      ]);
    }
    return;
  }
  if (v.pattern === 'minimal') {
    // A named prepared statement: planned once per connection, as PL/pgSQL plans its statements.
    await c.query({ name: 'aries-bench-minimal-step', text: MINIMAL, values: [ids, tokens, seq, key, String(seq)] });
    return;
  }
  if (v.pattern === 'begin+complete') {
    await c.query(`SELECT aries.begin_step(p_execution_id => x.id, p_token => x.token, p_seq => $3, p_step_key => $4) ${each}`, [
      ids,
      tokens,
      seq,
      key,
    ]);
  }
  await c.query(
    `SELECT aries.complete_step(p_execution_id => x.id, p_token => x.token, p_seq => $3, p_step_key => $4,
                                p_attempt => 1, p_output => $5::jsonb, p_checkpoint => $6) ${each}`,
    [ids, tokens, seq, key, String(seq), v.checkpoint],
  );
}

/**
 * Each client advances its executions (`batch` at a time) through all their steps until `seconds` pass
 * or `maxSteps` steps are done in all. Returns the steps done and the seconds spent stepping (starting
 * and claiming the executions happens before, and is not counted).
 */
export async function drive(
  clients: pg.Client[],
  v: Variant,
  limits: { seconds: number; maxSteps?: number },
  /** Called once the executions are started and claimed, just before the first step: start measuring here. */
  onStepping?: () => void,
): Promise<{ steps: number; seconds: number; exhausted: boolean }> {
  const perClient = limits.maxSteps
    ? Math.ceil(limits.maxSteps / clients.length / STEPS / v.batch) * v.batch
    : Math.max(800, v.batch * 50);
  const leases = await Promise.all(clients.map((c) => claimFresh(c, perClient)));
  let steps = 0;
  let stop = false;
  onStepping?.();
  const timer = setTimeout(() => (stop = true), limits.seconds * 1000);
  const t0 = performance.now();
  await Promise.all(
    clients.map(async (c, lane) => {
      const mine = leases[lane]!;
      for (let at = 0; !stop && at + v.batch <= mine.length; at += v.batch) {
        const group = mine.slice(at, at + v.batch);
        for (let seq = 0; seq < STEPS && !stop; seq++) {
          await advance(c, v, group, seq);
          steps += group.length;
        }
      }
    }),
  );
  const exhausted = !stop;
  clearTimeout(timer);
  return { steps, seconds: (performance.now() - t0) / 1000, exhausted };
}
