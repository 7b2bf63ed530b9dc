-- 0002_step_kinds: replay matches recorded steps by key, and knows what kind of step each one is.
--
-- Model
--   kind          every steps row says what the workflow code ran under its key: 'step' (ctx.step) or
--                 'transaction' (ctx.transaction); the next kinds (sleep, signal, child) widen
--                 steps_kind_check. A step's intent carries its kind ("start_kind" of a request to
--                 apply_step_requests, p_start_kind of record_steps; absent: 'step'), and its row keeps it
--                 for good: re-starting a key that is RUNNING, RETRYING, FAILED or ROLLED_BACK as another
--                 kind is refused (AR006, that request only), because the code no longer matches its
--                 journal. A completion that finds no intent creates its row with the request's kind.
--   step records  read_step_records returns every steps row of a range of positions, whatever its status
--                 (read_step_outcomes returned COMPLETED and FAILED ones only), with its kind: replay sees
--                 which keys were started, retried or voided, not only which ended.
--   frontier      step_frontier is the highest position any step of the execution holds (-1: none), so a
--                 resumed run knows where recorded history ends without reading it.

-- ---- kinds -------------------------------------------------------------------------------------------

ALTER TABLE aries.steps
  ADD COLUMN kind text NOT NULL DEFAULT 'step',
  ADD CONSTRAINT steps_kind_check CHECK (kind IN ('step', 'transaction'));

-- As in 0001_baseline, and a start carries its step's kind ("start_kind", default 'step'): a new row is
-- written with it, and a start of an existing unfinished key of another kind is refused (verdict
-- kind_changed, AR006).
CREATE OR REPLACE FUNCTION aries.apply_step_requests(p_requests jsonb, OUT execution_ids uuid[], OUT attempts integer[],
                                          OUT error_codes text[], OUT error_messages text[], OUT recorded integer,
                                          OUT started boolean)
-- jit off: the statement below is a few index probes per request, but estimated (jsonb arrays count as
-- 100 elements each) far above jit_above_cost, and compiling it would take longer than running it.
LANGUAGE plpgsql SET search_path = '' SET jit = off AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  WITH step_row AS (
    -- A row per completion of a request that holds its lease, then a last row (ord NULL): its start, or
    -- (kind NULL) a row that only carries the request's verdict.
    SELECT q.id, q.token, q.has_start, q.step_kind, x.lease_token, x.status AS execution_status, x.last_lsn,
           x.step_count, w.ord, w.kind, w.seq, w.key, w.attempt, w.output, w.checkpoint
      FROM (SELECT (a.r ->> 'execution_id')::uuid AS id, (a.r ->> 'token')::bigint AS token,
                   a.r ? 'start_key' AS has_start, coalesce(a.r ->> 'start_kind', 'step') AS step_kind, a.r
              FROM pg_catalog.jsonb_array_elements(p_requests) a (r)) q
      -- LATERAL … LIMIT 1, here and below: every lookup stays an index probe, whatever the table sizes
      -- were when this statement's plan was cached.
      LEFT JOIN LATERAL (SELECT e.lease_token, e.status, e.last_lsn, e.step_count FROM aries.executions e
                          WHERE e.id = q.id LIMIT 1) x ON true
      CROSS JOIN LATERAL (
        SELECT c.ord, 'step_completed' AS kind, (c.item ->> 'seq')::integer AS seq, c.item ->> 'key' AS key,
               (c.item ->> 'attempt')::integer AS attempt, c.item -> 'output' AS output,
               coalesce((c.item ->> 'checkpoint')::boolean, false) AS checkpoint
          FROM pg_catalog.jsonb_array_elements(coalesce(q.r -> 'completed', '[]'::jsonb))
               WITH ORDINALITY c (item, ord)
         WHERE x.lease_token = q.token AND x.status = 'RUNNING'
        UNION ALL
        SELECT NULL, CASE WHEN x.lease_token = q.token AND x.status = 'RUNNING' AND q.r ->> 'start_key' IS NOT NULL
                          THEN 'step_started' END,
               (q.r ->> 'start_seq')::integer, q.r ->> 'start_key', NULL, NULL, false) w
  ), placed AS (
    -- Each row with the keys, positions and attempts of the completions before it in its request.
    SELECT r.*, pg_catalog.array_agg(r.key) OVER earlier AS earlier_keys,
           pg_catalog.array_agg(r.seq) OVER earlier AS earlier_seqs,
           pg_catalog.array_agg(r.attempt) OVER earlier AS earlier_attempts
      FROM step_row r
    WINDOW earlier AS (PARTITION BY r.id ORDER BY r.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  ), judged AS (
    -- A row finds its step as the first earlier completion with its key left it (recorded), or else as
    -- its steps row is; its position is taken if an earlier completion or a steps row holds another key
    -- there.
    SELECT p.id, p.ord, p.kind, p.seq, p.key, p.output, p.checkpoint, p.has_start, p.step_kind, p.last_lsn,
           p.step_count,
           CASE WHEN p.kind = 'step_started' THEN coalesce(prior.attempt + 1, 1) ELSE p.attempt END AS attempt,
           v.verdict, coalesce(v.verdict NOT IN ('write', 'skip'), false) AS stops,
           CASE v.verdict WHEN 'not_found' THEN 'AR001' WHEN 'lease_lost' THEN 'AR002'
                          WHEN 'key_reused' THEN 'AR005' WHEN 'completed' THEN 'AR005'
                          WHEN 'start_completed' THEN 'AR005' WHEN 'position_taken' THEN 'AR006'
                          WHEN 'kind_changed' THEN 'AR006' END AS code,
           CASE v.verdict
             WHEN 'not_found' THEN pg_catalog.format('execution %s not found', coalesce(p.id::text, '<NULL>'))
             WHEN 'lease_lost' THEN pg_catalog.format(
               'lease on execution %s lost: fencing token %s is not current (current token %s, status %s)',
               p.id, coalesce(p.token::text, '<NULL>'), p.lease_token, p.execution_status)
             WHEN 'key_reused' THEN pg_catalog.format(
               'step key "%s" is used twice in execution %s (at positions %s and %s); step keys must be unique within an execution',
               p.key, p.id, prior.seq, p.seq)
             WHEN 'completed' THEN pg_catalog.format('step "%s" of execution %s is already completed (attempt %s)',
                                                     p.key, p.id, prior.attempt)
             WHEN 'start_completed' THEN pg_catalog.format('step "%s" of execution %s is already completed', p.key, p.id)
             WHEN 'position_taken' THEN pg_catalog.format(
               'execution %s recorded a different step at position %s than "%s"; the workflow code no longer matches its journal',
               p.id, p.seq, p.key)
             WHEN 'kind_changed' THEN pg_catalog.format(
               'execution %s recorded step "%s" as a %s, but the workflow code now runs it as a %s; the workflow code no longer matches its journal',
               p.id, p.key, k.kind, p.step_kind)
           END AS message
      FROM placed p
      CROSS JOIN LATERAL (SELECT pg_catalog.array_position(p.earlier_keys, p.key) AS same_key,
                                 p.earlier_keys[pg_catalog.array_position(p.earlier_seqs, p.seq)] AS key_there) e
      LEFT JOIN LATERAL (SELECT s.seq, s.status, s.attempt, s.kind FROM aries.steps s
                          WHERE e.same_key IS NULL AND p.kind IS NOT NULL AND s.execution_id = p.id
                            AND s.step_key = p.key
                          LIMIT 1) k ON true
      -- A ROLLED_BACK row (voided by a rollback, parked by recovery) holds no position: the step may run
      -- again anywhere, as the next attempt.
      CROSS JOIN LATERAL (SELECT coalesce(p.earlier_seqs[e.same_key], CASE WHEN k.status <> 'ROLLED_BACK' THEN k.seq END) AS seq,
                                 CASE WHEN e.same_key IS NOT NULL THEN 'COMPLETED' ELSE k.status END AS status,
                                 coalesce(p.earlier_attempts[e.same_key], k.attempt) AS attempt) prior
      LEFT JOIN LATERAL (SELECT true AS taken FROM aries.steps s
                          WHERE (prior.status IS NULL OR prior.status = 'ROLLED_BACK') AND p.kind IS NOT NULL
                            AND s.execution_id = p.id AND s.seq = p.seq AND s.step_key <> p.key
                          LIMIT 1) t ON true
      CROSS JOIN LATERAL (SELECT CASE
        WHEN p.lease_token IS NULL THEN 'not_found'
        WHEN p.lease_token IS DISTINCT FROM p.token OR p.execution_status <> 'RUNNING' THEN 'lease_lost'
        WHEN p.kind IS NULL THEN NULL
        WHEN prior.seq <> p.seq THEN 'key_reused'
        WHEN prior.status = 'COMPLETED' AND p.kind = 'step_started' THEN 'start_completed'
        WHEN prior.status = 'COMPLETED' AND prior.attempt = p.attempt THEN 'skip'
        WHEN prior.status = 'COMPLETED' THEN 'completed'
        -- Replay matches a step by its key and runs it as the kind it was recorded as: an unfinished step
        -- the code now runs as another kind (a step become a transaction) cannot be resumed.
        WHEN p.kind = 'step_started' AND k.kind <> p.step_kind THEN 'kind_changed'
        -- Not something a worker sends: written as it is, it fails on the tables' own constraints.
        WHEN p.key IS NULL OR p.key = '' OR p.seq IS NULL OR p.seq < 0
             OR (p.kind = 'step_completed' AND (p.attempt IS NULL OR p.attempt < 1)) THEN 'malformed'
        WHEN (prior.status IS NULL OR prior.status = 'ROLLED_BACK') AND (e.key_there <> p.key OR t.taken) THEN 'position_taken'
        ELSE 'write' END AS verdict) v
  ), decided AS (
    -- A request is refused by its first row that stops it (a malformed one lets it through: its write
    -- fails, and the caller isolates it).
    SELECT j.*, pg_catalog.first_value(j.code) OVER request AS request_code,
           pg_catalog.first_value(j.message) OVER request AS request_message,
           pg_catalog.count(*) FILTER (WHERE j.kind = 'step_completed' AND j.verdict = 'write') OVER request
             AS completions
      FROM judged j
    WINDOW request AS (PARTITION BY j.id ORDER BY j.stops DESC, j.ord
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  ), record AS (
    -- What the accepted requests journal, each with its LSN, drawn from the sequence in the order
    -- (execution id, completions in order, start): PostgreSQL computes output expressions after ORDER BY.
    SELECT d.id, d.ord, d.kind, d.seq, d.key, d.attempt, d.output, d.checkpoint, d.step_kind, d.last_lsn,
           d.step_count, pg_catalog.nextval('aries.journal_lsn_seq') AS lsn
      FROM decided d
     WHERE d.request_code IS NULL AND d.verdict IN ('write', 'malformed')
     ORDER BY d.id, d.ord
  ), chained AS (
    SELECT r.*, pg_catalog.lag(r.lsn, 1, r.last_lsn) OVER same_execution AS prev_lsn,
           r.step_count + pg_catalog.count(*) FILTER (WHERE r.kind = 'step_completed') OVER same_execution
             AS completed_steps,
           pg_catalog.lead(r.lsn) OVER same_execution IS NULL AS last_of_execution
      FROM record r
    WINDOW same_execution AS (PARTITION BY r.id ORDER BY r.lsn)
  ), stepped AS (
    -- A completion's intent can be missing (a server crash may drop an asynchronously committed one):
    -- its row is then created COMPLETED, of the request's kind. An existing row keeps its kind: a start
    -- of another kind was refused above.
    INSERT INTO aries.steps AS s (execution_id, step_key, seq, kind, status, attempt, output_lsn, started_at,
                                  completed_at)
    SELECT c.id, c.key, c.seq, c.step_kind, CASE c.kind WHEN 'step_completed' THEN 'COMPLETED' ELSE 'RUNNING' END,
           c.attempt, CASE c.kind WHEN 'step_completed' THEN c.lsn END, v_now,
           CASE c.kind WHEN 'step_completed' THEN v_now END
      FROM chained c
    ON CONFLICT ON CONSTRAINT steps_pkey DO UPDATE
       SET status = excluded.status, seq = excluded.seq, attempt = excluded.attempt, output_lsn = excluded.output_lsn,
           completed_at = excluded.completed_at, error = NULL,
           started_at = CASE excluded.status WHEN 'RUNNING' THEN excluded.started_at ELSE s.started_at END
  ), checkpointed AS (
    INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum, checkpoint_time, created_at)
    SELECT c.id, c.lsn, st.state, pg_catalog.jsonb_build_object('completed', c.completed_steps),
           pg_catalog.md5(c.id::text || ':' || c.lsn::text || ':' || st.state::text), v_now, v_now
      FROM chained c
     CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_build_object('completed_steps', c.completed_steps, 'last_seq', c.seq,
                                                              'last_step_key', c.key) AS state) st
     WHERE c.checkpoint
  ), advanced AS (
    -- An upsert finds each execution row by its primary key whatever the plan, where an UPDATE … FROM is
    -- a join that a plan cached while the table was small would run as a scan of all of it. Every row
    -- exists (its lock is held), so nothing is inserted; were one missing, the row proposed here would
    -- fail on its foreign key, as no workflow has an empty name.
    INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, last_lsn, step_count)
    SELECT c.id, '', '', c.lsn, c.completed_steps FROM chained c WHERE c.last_of_execution
    ON CONFLICT ON CONSTRAINT executions_pkey DO UPDATE
       SET last_lsn = excluded.last_lsn, step_count = excluded.step_count, updated_at = v_now
  ), journaled AS (
    -- Listed last: PostgreSQL runs the writes no query reads last first, so a malformed record meets the
    -- journal's checks before the other tables', as when each record was written by its own statement.
    INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum, created_at)
    SELECT c.lsn, c.id, c.prev_lsn, c.kind, c.seq, c.key, c.attempt, c.output,
           aries.journal_checksum(c.id, c.prev_lsn, c.kind, c.seq, c.key, c.attempt, c.output), v_now
      FROM chained c
  )
  -- One row per request: its last one.
  SELECT pg_catalog.array_agg(d.id ORDER BY d.id),
         pg_catalog.array_agg(CASE WHEN d.request_code IS NULL THEN d.attempt END ORDER BY d.id),
         pg_catalog.array_agg(d.request_code ORDER BY d.id), pg_catalog.array_agg(d.request_message ORDER BY d.id),
         coalesce(pg_catalog.sum(d.completions) FILTER (WHERE d.request_code IS NULL), 0),
         coalesce(pg_catalog.bool_or(d.has_start AND d.request_code IS NULL), false)
    INTO execution_ids, attempts, error_codes, error_messages, recorded, started
    FROM decided d
   WHERE d.ord IS NULL;
END $$;


-- As in 0001_baseline, and the step started is of kind p_start_kind (which also becomes the kind of a
-- completed step whose intent is missing, as a transactional step records its completion without one).
DROP FUNCTION aries.record_steps(uuid, bigint, jsonb, integer, text);
CREATE FUNCTION aries.record_steps(p_execution_id uuid, p_token bigint, p_completed jsonb,
                                   p_start_seq integer DEFAULT NULL, p_start_key text DEFAULT NULL,
                                   p_start_kind text DEFAULT 'step')
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_done record;
BEGIN
  PERFORM 1 FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('execution_id', p_execution_id, 'token', p_token,
                                  'completed', coalesce(p_completed, '[]'::jsonb),
                                  'start_kind', coalesce(p_start_kind, 'step'))
    || CASE WHEN p_start_key IS NULL THEN '{}'::jsonb
            ELSE pg_catalog.jsonb_build_object('start_seq', p_start_seq, 'start_key', p_start_key) END));
  IF v_done.error_codes[1] IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
  END IF;
  IF v_done.recorded = 0 AND v_done.started THEN
    PERFORM aries.commit_intents_asynchronously();
  END IF;
  RETURN v_done.attempts[1];
END $$;

-- ---- reading recorded steps --------------------------------------------------------------------------

-- Every step recorded at positions [p_from_seq, p_to_seq), whatever its status, with its kind, by
-- position. A COMPLETED step has its output and whether its journal record verifies (checksum, and bound
-- to this step and attempt: record_found / record_ok mean something for COMPLETED rows only); a FAILED
-- one its error; the other statuses (RUNNING, RETRYING, ROLLED_BACK) no output (output and
-- output_is_null NULL). Replay reads these by page as the workflow reaches them: the materialized state
-- of the execution, not its history.
DROP FUNCTION aries.read_step_outcomes(uuid, integer, integer);
CREATE FUNCTION aries.read_step_records(p_execution_id uuid, p_from_seq integer, p_to_seq integer)
RETURNS TABLE (seq integer, step_key text, kind text, status text, attempt integer, output_lsn bigint, output jsonb,
               output_is_null boolean, record_found boolean, record_ok boolean, error jsonb, compensation_status text,
               compensation_attempt integer, compensation_attempt_base integer)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.seq, s.step_key, s.kind, s.status, s.attempt, s.output_lsn, j.payload,
         CASE WHEN s.status = 'COMPLETED' THEN j.payload IS NULL END, j.lsn IS NOT NULL,
         coalesce(j.execution_id = s.execution_id AND j.kind = 'step_completed' AND j.seq = s.seq
                  AND j.step_key = s.step_key AND j.attempt = s.attempt
                  AND j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                                          j.attempt, j.payload), false),
         s.error, s.compensation_status, s.compensation_attempt, s.compensation_attempt_base
    FROM aries.steps s
    LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id AND s.seq >= p_from_seq AND s.seq < p_to_seq
   ORDER BY s.seq
$$;

-- The highest position a step of the execution holds, whatever its status, or -1 when none does. Rows
-- parked by recovery (ROLLED_BACK, negative seq) hold no position and do not count. One backward probe of
-- the (execution_id, seq) index.
CREATE FUNCTION aries.step_frontier(p_execution_id uuid) RETURNS integer
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce((SELECT s.seq FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq >= 0
                    ORDER BY s.seq DESC LIMIT 1), -1)
$$;
