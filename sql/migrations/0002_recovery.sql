-- 0002_recovery: the failure model (TRANSIENT / PERMANENT / PARTIAL → retry / rollback / compensate) and
-- bounded recovery.
--
-- Model
--   retry        a step that failed TRANSIENTLY and has attempts left is RETRYING: its failure is recorded,
--                and the execution goes back to PENDING with available_at = now + backoff. That row is the
--                retry's durable timer: a worker claims it when it is due (judged on the database clock),
--                so a crash during the wait loses nothing and never retries early.
--   rollback     a PERMANENT failure rolls the execution back to its last valid checkpoint: every step
--                recorded after it becomes ROLLED_BACK (it will run again, with a higher attempt and the
--                same idempotency key, once an operator recovers the execution), an execution_rolled_back
--                record is journaled and a checkpoint is taken at it, and the execution ends FAILED.
--   compensate   a PERMANENT failure after steps with compensations completed leaves the execution
--                partially applied (PARTIAL): it becomes COMPENSATING and workers run the compensations of
--                the completed steps in reverse completion order, each journaled (compensation_started /
--                _completed / _failed / _retrying), each retried on TRANSIENT errors, none run again after
--                it completed. COMPENSATING executions hold a lease while a worker runs them, and wait
--                unleased (available_at) for a compensation's retry. The end is COMPENSATED (the PARTIAL
--                failure recorded when compensation began is then recovered); a compensation that fails
--                PERMANENTLY ends the execution FAILED, leaving that failure and its own (PARTIAL, naming
--                the compensation's step) unrecovered until an operator recovers the execution.
--   recovery     recover_from_failure(execution, type) resumes a FAILED execution from its last valid
--                checkpoint (or resumes its compensation); auto_recover_failures() does it for failures
--                whose TRANSIENT retries ran out, a bounded number of times per execution.
--   checkpoints  bound recovery: a resuming worker reads the newest checkpoint whose checksum matches and
--                the journal after it, never the history before it. A checkpoint that does not verify is
--                skipped (the previous valid one is used) and recorded as a data failure.
--
-- Errors added: AR009 no unrecovered failure to recover, AR010 the execution is not in a state to recover.

-- ---- schema --------------------------------------------------------------------------------------

-- COMPENSATING executions are leased while a worker runs their compensations.
ALTER TABLE aries.executions DROP CONSTRAINT executions_check;
ALTER TABLE aries.executions
  ADD CONSTRAINT executions_lease_check CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
  ADD CONSTRAINT executions_running_leased_check CHECK (status <> 'RUNNING' OR lease_owner IS NOT NULL),
  ADD CONSTRAINT executions_leased_status_check CHECK (lease_owner IS NULL OR status IN ('RUNNING', 'COMPENSATING'));
CREATE INDEX executions_compensating_idx ON aries.executions (available_at) WHERE status = 'COMPENSATING';

-- A failed compensation can be resumed by an operator.
INSERT INTO aries.execution_transitions VALUES ('FAILED', 'COMPENSATING');

ALTER TABLE aries.steps DROP CONSTRAINT steps_status_check;
ALTER TABLE aries.steps
  ADD CONSTRAINT steps_status_check CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING', 'ROLLED_BACK')),
  -- attempt - attempt_base is how many attempts the current retry budget has used; recovery resets it.
  ADD COLUMN attempt_base integer NOT NULL DEFAULT 0,
  ADD COLUMN compensation_status text CHECK (compensation_status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING')),
  ADD COLUMN compensation_attempt integer NOT NULL DEFAULT 0,
  ADD COLUMN compensation_attempt_base integer NOT NULL DEFAULT 0,
  ADD COLUMN compensation_error jsonb,
  ADD COLUMN compensated_at timestamptz,
  ADD CONSTRAINT steps_compensated_check CHECK (compensation_status IS NULL OR status = 'COMPLETED');

ALTER TABLE aries.journal DROP CONSTRAINT journal_kind_check;
ALTER TABLE aries.journal DROP CONSTRAINT journal_check1;
ALTER TABLE aries.journal
  ADD CONSTRAINT journal_kind_check CHECK (kind IN (
    'execution_started', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
    'execution_completed', 'execution_failed', 'execution_released', 'execution_rolled_back',
    'execution_recovered', 'execution_compensating', 'compensation_started', 'compensation_completed',
    'compensation_failed', 'compensation_retrying', 'execution_compensated')),
  ADD CONSTRAINT journal_step_fields_check CHECK (
    (kind LIKE 'step_%' OR kind LIKE 'compensation_%') = (step_key IS NOT NULL AND seq IS NOT NULL AND attempt IS NOT NULL));

ALTER TABLE aries.failures
  -- A TRANSIENT error whose retry policy ran out is recorded PERMANENT (or PARTIAL) with this set.
  ADD COLUMN retries_exhausted boolean NOT NULL DEFAULT false,
  -- The checkpoint the execution was rolled back to (NULL: its start).
  ADD COLUMN checkpoint_id uuid,
  ADD COLUMN recovered_at timestamptz,
  ADD COLUMN recovered_by text CHECK (recovered_by IN ('worker', 'operator', 'sweep')),
  ADD CONSTRAINT failures_recovered_check CHECK (recovered = (recovered_at IS NOT NULL));
CREATE INDEX failures_unrecovered_execution_idx ON aries.failures (execution_id) WHERE NOT recovered;

-- As in 0001, and a step whose row was ROLLED_BACK runs again at whatever position the workflow now reaches
-- it (its output was voided, so the path may differ), as its next attempt; recovery parks such rows at
-- negative positions (steps_seq_check allows that for ROLLED_BACK rows only), so they hold no position.
ALTER TABLE aries.steps DROP CONSTRAINT steps_seq_check;
ALTER TABLE aries.steps ADD CONSTRAINT steps_seq_check CHECK (seq >= 0 OR status = 'ROLLED_BACK');

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
    SELECT q.id, q.token, q.has_start, x.lease_token, x.status AS execution_status, x.last_lsn, x.step_count,
           w.ord, w.kind, w.seq, w.key, w.attempt, w.output, w.checkpoint
      FROM (SELECT (a.r ->> 'execution_id')::uuid AS id, (a.r ->> 'token')::bigint AS token,
                   a.r ? 'start_key' AS has_start, a.r
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
    SELECT p.id, p.ord, p.kind, p.seq, p.key, p.output, p.checkpoint, p.has_start, p.last_lsn, p.step_count,
           CASE WHEN p.kind = 'step_started' THEN coalesce(prior.attempt + 1, 1) ELSE p.attempt END AS attempt,
           v.verdict, coalesce(v.verdict NOT IN ('write', 'skip'), false) AS stops,
           CASE v.verdict WHEN 'not_found' THEN 'AR001' WHEN 'lease_lost' THEN 'AR002'
                          WHEN 'key_reused' THEN 'AR005' WHEN 'completed' THEN 'AR005'
                          WHEN 'start_completed' THEN 'AR005' WHEN 'position_taken' THEN 'AR006' END AS code,
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
           END AS message
      FROM placed p
      CROSS JOIN LATERAL (SELECT pg_catalog.array_position(p.earlier_keys, p.key) AS same_key,
                                 p.earlier_keys[pg_catalog.array_position(p.earlier_seqs, p.seq)] AS key_there) e
      LEFT JOIN LATERAL (SELECT s.seq, s.status, s.attempt FROM aries.steps s
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
    SELECT d.id, d.ord, d.kind, d.seq, d.key, d.attempt, d.output, d.checkpoint, d.last_lsn, d.step_count,
           pg_catalog.nextval('aries.journal_lsn_seq') AS lsn
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
    -- its row is then created COMPLETED.
    INSERT INTO aries.steps AS s (execution_id, step_key, seq, status, attempt, output_lsn, started_at, completed_at)
    SELECT c.id, c.key, c.seq, CASE c.kind WHEN 'step_completed' THEN 'COMPLETED' ELSE 'RUNNING' END, c.attempt,
           CASE c.kind WHEN 'step_completed' THEN c.lsn END, v_now, CASE c.kind WHEN 'step_completed' THEN v_now END
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

-- Records a failure from a stored error (its message, class and stack); returns its id.
CREATE FUNCTION aries.record_failure(p_execution_id uuid, p_failure_type text, p_strategy text, p_source text,
                                     p_error jsonb, p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                     p_details jsonb DEFAULT NULL, p_retries_exhausted boolean DEFAULT false,
                                     p_checkpoint_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source, step_key,
                              attempt, error_class, stack, details, retries_exhausted, checkpoint_id)
  VALUES (p_execution_id, p_failure_type, coalesce(p_error ->> 'message', 'unknown error'), p_strategy, p_source,
          p_step_key, p_attempt, p_error ->> 'name', p_error ->> 'stack', coalesce(p_details, p_error -> 'details'),
          p_retries_exhausted, p_checkpoint_id)
  RETURNING failure_id
$$;

-- ---- checkpoints -------------------------------------------------------------------------------------

-- A checkpoint's checksum binds it to its execution and LSN (apply_step_requests computes the same).
CREATE FUNCTION aries.checkpoint_checksum(p_execution_id uuid, p_lsn bigint, p_state jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_catalog.md5(p_execution_id::text || ':' || p_lsn::text || ':' || p_state::text)
$$;

-- The newest checkpoint of an execution that verifies (checksum, and within its journal), or no row when
-- none does (recovery then starts from the execution's start). Newer checkpoints that do not verify are
-- skipped; the first time one is met, a data failure is recorded for it (recovered: the previous
-- checkpoint is used instead). Reads one row when the newest checkpoint is valid.
CREATE FUNCTION aries.recovery_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL)
RETURNS TABLE (checkpoint_id uuid, lsn bigint, state_data jsonb)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_last bigint;
  c record;
BEGIN
  SELECT e.last_lsn INTO v_last FROM aries.executions e WHERE e.id = p_execution_id;
  FOR c IN SELECT k.checkpoint_id, k.lsn, k.state_data,
                  k.checksum = aries.checkpoint_checksum(k.execution_id, k.lsn, k.state_data) AND k.lsn <= v_last AS ok
             FROM aries.checkpoints k
            WHERE k.execution_id = p_execution_id AND (p_before_lsn IS NULL OR k.lsn < p_before_lsn)
            ORDER BY k.lsn DESC LOOP
    IF c.ok THEN
      checkpoint_id := c.checkpoint_id;
      lsn := c.lsn;
      state_data := c.state_data;
      RETURN NEXT;
      RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM aries.failures f
                    WHERE f.execution_id = p_execution_id AND f.source = 'data'
                      AND f.details ->> 'corrupt_checkpoint_id' = c.checkpoint_id::text) THEN
      INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                                  error_class, details, recovered, recovered_at, recovered_by)
      VALUES (p_execution_id, 'PERMANENT',
              pg_catalog.format('checkpoint %s (lsn %s) of execution %s does not match its checksum; recovery fell back to the previous valid checkpoint',
                                c.checkpoint_id, c.lsn, p_execution_id),
              'rollback', 'data', 'CheckpointCorruptError',
              pg_catalog.jsonb_build_object('corrupt_checkpoint_id', c.checkpoint_id, 'lsn', c.lsn),
              true, aries.now(), 'worker');
    END IF;
  END LOOP;
END $$;

-- The recorded outcomes of the steps at positions [p_from_seq, p_to_seq): completed steps with their
-- output and whether its journal record verifies (checksum, and bound to this step and attempt), failed
-- steps with their error. Replay reads these by page as the workflow reaches them: the materialized state
-- of the execution, not its history.
CREATE FUNCTION aries.read_step_outcomes(p_execution_id uuid, p_from_seq integer, p_to_seq integer)
RETURNS TABLE (seq integer, step_key text, status text, attempt integer, output_lsn bigint, output jsonb,
               output_is_null boolean, record_found boolean, record_ok boolean, error jsonb, compensation_status text,
               compensation_attempt integer, compensation_attempt_base integer)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.seq, s.step_key, s.status, s.attempt, s.output_lsn, j.payload, j.payload IS NULL, j.lsn IS NOT NULL,
         coalesce(j.execution_id = s.execution_id AND j.kind = 'step_completed' AND j.seq = s.seq
                  AND j.step_key = s.step_key AND j.attempt = s.attempt
                  AND j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                                          j.attempt, j.payload), false),
         s.error, s.compensation_status, s.compensation_attempt, s.compensation_attempt_base
    FROM aries.steps s
    LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id AND s.seq >= p_from_seq AND s.seq < p_to_seq
     AND s.status IN ('COMPLETED', 'FAILED')
   ORDER BY s.seq
$$;

-- ---- leases ------------------------------------------------------------------------------------------

-- As in 0001, and a COMPENSATING execution is owned like a RUNNING one.
CREATE OR REPLACE FUNCTION aries.lock_owned_execution(p_execution_id uuid, p_token bigint, p_done_status text DEFAULT NULL)
RETURNS aries.executions LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_token = p_token
     AND ((v.status IN ('RUNNING', 'COMPENSATING') AND v.lease_owner IS NOT NULL) OR v.status = p_done_status) THEN
    RETURN v;
  END IF;
  RAISE EXCEPTION 'lease on execution % lost: fencing token % is not current (current token %, status %)',
    p_execution_id, p_token, v.lease_token, v.status USING ERRCODE = 'AR002';
END $$;

-- Renews the leases a worker holds, of RUNNING and COMPENSATING executions; returns the executions it still
-- owns (anything missing was lost). A lease whose row is locked by the worker's own transactional step (its
-- fence holds the row until the step commits) is reported held without waiting for it: the heartbeat never
-- queues behind a step, and no other worker can claim a locked row (claims skip locked rows). Such a lease
-- is extended by the next heartbeat after the step commits. SKIP LOCKED: a renewal never waits for a row.
CREATE OR REPLACE FUNCTION aries.renew_leases(p_worker text, p_ids uuid[], p_tokens bigint[], p_lease_ms integer)
RETURNS TABLE (id uuid) LANGUAGE sql SET search_path = '' AS $$
  WITH held AS (
    SELECT e.id FROM aries.executions e
      JOIN ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_tokens)) AS h(id, token) ON e.id = h.id
     WHERE e.id = ANY (p_ids) AND e.lease_token = h.token AND e.lease_owner = p_worker
       AND e.status IN ('RUNNING', 'COMPENSATING')
  ), lockable AS (
    SELECT e.id FROM aries.executions e
     WHERE e.id IN (SELECT held.id FROM held)
     ORDER BY e.id
       FOR UPDATE OF e SKIP LOCKED
  ), renewed AS (
    UPDATE aries.executions e
       SET lease_expires_at = aries.now() + p_lease_ms * interval '1 millisecond'
      FROM lockable
     WHERE e.id = lockable.id
       AND e.lease_owner = p_worker AND e.status IN ('RUNNING', 'COMPENSATING')
    RETURNING e.id
  )
  SELECT held.id FROM held
$$;

-- As in 0001, plus: COMPENSATING executions that are due or whose lease expired are claimed too (they
-- stay COMPENSATING; `compensating` tells the worker to run compensations), a claim of an expired lease
-- records the node fault it recovers from, and a claim marks the TRANSIENT failures it retries recovered.
DROP FUNCTION aries.claim_executions(text, text[], integer, integer, uuid[]);
CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer,
                                       p_lease_ms integer, p_running uuid[] DEFAULT '{}')
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  RETURN QUERY
  WITH expired AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'RUNNING' AND e.lease_expires_at < v_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), compensating AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'COMPENSATING'
       AND ((e.lease_owner IS NULL AND e.available_at <= v_now) OR e.lease_expires_at < v_now)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), due AS (
    -- Not one the worker is still running: a retry due at once, or a hand-back, can become PENDING
    -- before the run that wrote it has returned.
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'PENDING' AND e.available_at <= v_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), chosen AS (
    SELECT x.id, x.old_owner, x.expired_at FROM expired x
    UNION ALL
    SELECT c.id, c.old_owner, c.expired_at FROM compensating c
    UNION ALL
    SELECT d.id, NULL, NULL FROM due d
    LIMIT p_limit
  ), node_faults AS (
    INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                                details, recovered, recovered_at, recovered_by)
    SELECT c.id, 'TRANSIENT',
           pg_catalog.format('worker %s stopped renewing its lease (it expired at %s); the execution was resumed by worker %s',
                             c.old_owner, c.expired_at, p_worker),
           'retry', 'node', pg_catalog.jsonb_build_object('worker', c.old_owner, 'lease_expired_at', c.expired_at),
           true, v_now, 'worker'
      FROM chosen c WHERE c.old_owner IS NOT NULL
  ), retried AS (
    UPDATE aries.failures f SET recovered = true, recovered_at = v_now, recovered_by = 'worker'
      FROM chosen c
     WHERE f.execution_id = c.id AND NOT f.recovered AND f.failure_type = 'TRANSIENT'
  )
  UPDATE aries.executions e
     SET status = CASE WHEN e.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'RUNNING' END,
         lease_owner = p_worker, lease_token = e.lease_token + 1,
         lease_expires_at = v_now + p_lease_ms * interval '1 millisecond',
         claim_count = e.claim_count + 1, started_at = coalesce(e.started_at, v_now), updated_at = v_now
    FROM chosen c
   WHERE e.id = c.id
  RETURNING e.id, e.workflow_name, e.workflow_version, e.input, e.lease_token, e.claim_count,
            c.expired_at IS NOT NULL, e.status = 'COMPENSATING';
END $$;

-- As in 0001; a COMPENSATING execution handed back stays COMPENSATING, runnable again at once.
CREATE OR REPLACE FUNCTION aries.release_execution(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' OR v.lease_owner IS NULL THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_released', NULL, NULL, NULL, NULL);
  UPDATE aries.executions e
     SET status = CASE WHEN v.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'PENDING' END,
         lease_owner = NULL, lease_expires_at = NULL, available_at = aries.now(),
         last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
END $$;

-- ---- retry ---------------------------------------------------------------------------------------

-- Records a TRANSIENT failure of a step's attempt and schedules its retry: the step is RETRYING, the
-- failure is recorded (strategy retry), and the execution is PENDING until now + p_delay_ms: that row is
-- the durable timer. Completions of other steps must have been recorded first. Idempotent under the same
-- token. Returns when the retry is due.
CREATE FUNCTION aries.retry_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                 p_attempt integer, p_error jsonb, p_delay_ms integer, p_source text)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_at timestamptz := aries.now() + GREATEST(p_delay_ms, 0) * interval '1 millisecond';
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' THEN
    RETURN v.available_at;
  END IF;
  IF v.status <> 'RUNNING' THEN
    RAISE EXCEPTION 'execution % is %, not RUNNING: its steps are not retried', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
                    AND s.seq = p_seq AND s.attempt = p_attempt AND s.status = 'RUNNING') THEN
    RAISE EXCEPTION 'step "%" of execution % is not running attempt % at position %', p_step_key, p_execution_id,
      p_attempt, p_seq USING ERRCODE = 'AR005';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_retrying', p_seq, p_step_key, p_attempt,
             pg_catalog.jsonb_build_object('error', p_error, 'delay_ms', p_delay_ms, 'retry_at', v_at));
  UPDATE aries.steps s SET status = 'RETRYING', error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  PERFORM aries.record_failure(p_execution_id, 'TRANSIENT', 'retry', p_source, p_error, p_step_key, p_attempt,
    pg_catalog.jsonb_build_object('retry_at', v_at, 'delay_ms', p_delay_ms, 'error', p_error -> 'details'));
  UPDATE aries.executions e
     SET status = 'PENDING', lease_owner = NULL, lease_expires_at = NULL, available_at = v_at, last_lsn = v_lsn,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_at;
END $$;

-- The attempts of a step's current retry budget so far (its attempt minus the attempts before the last
-- recovery), and of its compensation's.
CREATE FUNCTION aries.step_attempts_used(p_execution_id uuid, p_step_key text,
                                         OUT step_attempts integer, OUT compensation_attempts integer)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.attempt - s.attempt_base, s.compensation_attempt - s.compensation_attempt_base
    FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
$$;

-- ---- rollback and failure --------------------------------------------------------------------------

-- Rolls a RUNNING execution back to its last valid checkpoint (before p_before_lsn if given): every step
-- not recorded by then becomes ROLLED_BACK, an execution_rolled_back record lists them, and a checkpoint
-- is taken at that record with the state of the one rolled back to, so that later recovery starts after
-- it and never reads the records it voided. Returns the checkpoint rolled back to (NULL: the start).
CREATE FUNCTION aries.rollback_to_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_checkpoint record;
  v_keys jsonb;
  v_state jsonb;
  v_lsn bigint;
  v_completed integer;
BEGIN
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id, p_before_lsn);
  WITH voided AS (
    UPDATE aries.steps s
       SET status = 'ROLLED_BACK', output_lsn = NULL, completed_at = NULL, compensation_status = NULL
     WHERE s.execution_id = p_execution_id AND s.status <> 'ROLLED_BACK'
       AND (v_checkpoint.lsn IS NULL
            OR s.status IN ('RUNNING', 'RETRYING')
            OR (s.status = 'COMPLETED' AND s.output_lsn > v_checkpoint.lsn)
            -- a failure the workflow caught before the checkpoint is part of its state; a later one is not
            OR (s.status = 'FAILED' AND EXISTS (SELECT 1 FROM aries.journal j
                                                 WHERE j.execution_id = s.execution_id AND j.lsn > v_checkpoint.lsn
                                                   AND j.kind = 'step_failed' AND j.step_key = s.step_key)))
    RETURNING s.step_key, s.seq
  )
  SELECT coalesce(pg_catalog.jsonb_agg(voided.step_key ORDER BY voided.seq), '[]'::jsonb) INTO v_keys FROM voided;
  SELECT pg_catalog.count(*) INTO v_completed FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.status = 'COMPLETED';
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
             'execution_rolled_back', NULL, NULL, NULL,
             pg_catalog.jsonb_build_object('checkpoint_id', v_checkpoint.checkpoint_id,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'rolled_back', v_keys));
  v_state := coalesce(v_checkpoint.state_data, pg_catalog.jsonb_build_object('completed_steps', 0));
  INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum)
  VALUES (p_execution_id, v_lsn, v_state,
          pg_catalog.jsonb_build_object('completed', v_completed, 'rolled_back_to', v_checkpoint.checkpoint_id),
          aries.checkpoint_checksum(p_execution_id, v_lsn, v_state));
  UPDATE aries.executions e SET last_lsn = v_lsn, step_count = v_completed, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_checkpoint.checkpoint_id;
END $$;

-- Ends an execution FAILED and records the failure. From RUNNING (a PERMANENT failure) the execution is
-- first rolled back to its last valid checkpoint (before p_rollback_before_lsn if given: a corrupt record
-- is not a valid state to return to); from COMPENSATING (a compensation failed PERMANENTLY: PARTIAL) it is
-- left as its compensations left it. p_step_key / p_attempt name the step whose error it was. Idempotent
-- under the same token. Returns the failure's id.
DROP FUNCTION aries.fail_execution(uuid, bigint, jsonb, text, text, text, integer);
CREATE FUNCTION aries.fail_execution(p_execution_id uuid, p_token bigint, p_error jsonb, p_failure_type text,
                                     p_source text, p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                     p_retries_exhausted boolean DEFAULT false, p_rollback_before_lsn bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'FAILED');
  v_checkpoint uuid;
  v_lsn bigint;
  v_failure uuid;
BEGIN
  IF v.status = 'FAILED' THEN
    SELECT f.failure_id INTO v_failure FROM aries.failures f WHERE f.execution_id = p_execution_id
     ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
    RETURN v_failure;
  END IF;
  IF v.status = 'RUNNING' THEN
    v_checkpoint := aries.rollback_to_checkpoint(p_execution_id, p_rollback_before_lsn);
  END IF;
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                'execution_failed', NULL, NULL, NULL, p_error);
  v_failure := aries.record_failure(p_execution_id, p_failure_type,
    CASE WHEN v.status = 'COMPENSATING' THEN 'compensate' ELSE 'rollback' END, p_source, p_error, p_step_key,
    p_attempt, NULL, p_retries_exhausted, v_checkpoint);
  UPDATE aries.executions e
     SET status = 'FAILED', error = p_error, lease_owner = NULL, lease_expires_at = NULL, last_lsn = v_lsn,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_failure;
END $$;

-- ---- compensation ----------------------------------------------------------------------------------

-- A RUNNING execution whose failure left it partially applied becomes COMPENSATING (its worker keeps
-- the lease and runs the compensations). The failure is recorded PARTIAL, strategy compensate; it is
-- recovered when the compensations complete. Idempotent under the same token. Returns the failure's id.
CREATE FUNCTION aries.begin_compensation(p_execution_id uuid, p_token bigint, p_error jsonb, p_source text,
                                         p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                         p_retries_exhausted boolean DEFAULT false)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_lsn bigint;
  v_failure uuid;
BEGIN
  IF v.status = 'COMPENSATING' THEN
    SELECT f.failure_id INTO v_failure FROM aries.failures f
     WHERE f.execution_id = p_execution_id AND f.failure_type = 'PARTIAL'
     ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
    RETURN v_failure;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_compensating', NULL, NULL, NULL, p_error);
  v_failure := aries.record_failure(p_execution_id, 'PARTIAL', 'compensate', p_source, p_error, p_step_key,
    p_attempt, NULL, p_retries_exhausted);
  UPDATE aries.executions e
     SET status = 'COMPENSATING', error = p_error, last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_failure;
END $$;

-- Locks a COMPENSATING execution owned under p_token and the completed step p_step_key of it.
CREATE FUNCTION aries.lock_compensation(p_execution_id uuid, p_token bigint, p_step_key text)
RETURNS aries.steps LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_step aries.steps;
BEGIN
  IF v.status <> 'COMPENSATING' THEN
    RAISE EXCEPTION 'execution % is %, not COMPENSATING', p_execution_id, v.status USING ERRCODE = 'AR003';
  END IF;
  SELECT * INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key FOR UPDATE;
  IF NOT FOUND OR v_step.status <> 'COMPLETED' THEN
    RAISE EXCEPTION 'step "%" of execution % has not completed: there is nothing to compensate', p_step_key,
      p_execution_id USING ERRCODE = 'AR005';
  END IF;
  RETURN v_step;
END $$;

-- Journals one event of a step's compensation: 'started' (returns the compensation's attempt), then
-- 'completed' (with the compensation's result) or 'failed' (with its error). A compensation that
-- completed is never started again (AR005); repeating the same attempt's completion is a no-op.
CREATE FUNCTION aries.record_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_event text,
                                          p_attempt integer DEFAULT NULL, p_payload jsonb DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_step aries.steps := aries.lock_compensation(p_execution_id, p_token, p_step_key);
  v_attempt integer;
  v_lsn bigint;
BEGIN
  IF v_step.compensation_status = 'COMPLETED' THEN
    IF p_event = 'completed' AND v_step.compensation_attempt = p_attempt THEN
      RETURN p_attempt;
    END IF;
    RAISE EXCEPTION 'the compensation of step "%" of execution % already completed (attempt %)', p_step_key,
      p_execution_id, v_step.compensation_attempt USING ERRCODE = 'AR005';
  END IF;
  v_attempt := CASE p_event WHEN 'started' THEN v_step.compensation_attempt + 1 ELSE p_attempt END;
  IF p_event NOT IN ('started', 'completed', 'failed') OR v_attempt IS NULL THEN
    RAISE EXCEPTION 'record_compensation: unknown event "%" or no attempt', p_event USING ERRCODE = '22023';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                'compensation_' || p_event, v_step.seq, p_step_key, v_attempt, p_payload);
  UPDATE aries.steps s
     SET compensation_status = CASE p_event WHEN 'started' THEN 'RUNNING' WHEN 'completed' THEN 'COMPLETED' ELSE 'FAILED' END,
         compensation_attempt = v_attempt,
         compensation_error = CASE p_event WHEN 'failed' THEN p_payload END,
         compensated_at = CASE p_event WHEN 'completed' THEN aries.now() END
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  RETURN v_attempt;
END $$;

-- A compensation's attempt failed TRANSIENTLY with attempts left: it is RETRYING, the failure is recorded,
-- and the execution (still COMPENSATING) waits unleased until now + p_delay_ms. Returns when it is due.
CREATE FUNCTION aries.retry_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_attempt integer,
                                         p_error jsonb, p_delay_ms integer, p_source text)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_step aries.steps := aries.lock_compensation(p_execution_id, p_token, p_step_key);
  v_at timestamptz := aries.now() + GREATEST(p_delay_ms, 0) * interval '1 millisecond';
  v_lsn bigint;
BEGIN
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
             'compensation_retrying', v_step.seq, p_step_key, p_attempt,
             pg_catalog.jsonb_build_object('error', p_error, 'delay_ms', p_delay_ms, 'retry_at', v_at));
  UPDATE aries.steps s SET compensation_status = 'RETRYING', compensation_error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  PERFORM aries.record_failure(p_execution_id, 'TRANSIENT', 'retry', p_source, p_error, p_step_key, p_attempt,
    pg_catalog.jsonb_build_object('compensation', true, 'retry_at', v_at, 'delay_ms', p_delay_ms));
  UPDATE aries.executions e
     SET lease_owner = NULL, lease_expires_at = NULL, available_at = v_at, last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_at;
END $$;

-- Every compensation ran: the execution is COMPENSATED and its PARTIAL failure recovered. Idempotent.
CREATE FUNCTION aries.finish_compensation(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'COMPENSATED');
  v_lsn bigint;
BEGIN
  IF v.status = 'COMPENSATED' THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_compensated', NULL, NULL, NULL, NULL);
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'worker'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND f.recovery_strategy = 'compensate';
  UPDATE aries.executions e
     SET status = 'COMPENSATED', lease_owner = NULL, lease_expires_at = NULL, last_lsn = v_lsn,
         finished_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;

-- ---- recovery ------------------------------------------------------------------------------------

-- Recovers an execution from its newest unrecovered failure (of p_failure_type, if given) and returns
-- the checkpoint it continues from (NULL: its start):
--   FAILED after a rollback (PERMANENT)  → PENDING: a worker resumes it from that checkpoint, with a fresh
--                                          retry budget for the steps that run again
--   FAILED in compensation (PARTIAL)     → COMPENSATING: the remaining compensations run again (completed
--                                          ones are not)
--   waiting for a retry (TRANSIENT)      → due now
-- The failures it settles are then marked recovered (all of a FAILED execution's; a waiting retry's
-- TRANSIENT ones). AR009 when there is none.
CREATE FUNCTION aries.recover_from_failure(p_execution_id uuid, p_failure_type text DEFAULT NULL,
                                           p_recovered_by text DEFAULT 'operator')
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_failure aries.failures;
  v_checkpoint record;
  v_resumed_from uuid;
  v_lsn bigint;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_owner IS NOT NULL THEN
    RAISE EXCEPTION 'execution % is % under the lease of worker %: it is being run, there is nothing to recover now',
      p_execution_id, v.status, v.lease_owner USING ERRCODE = 'AR010';
  END IF;
  SELECT * INTO v_failure FROM aries.failures f
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND (p_failure_type IS NULL OR f.failure_type = p_failure_type)
   ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % has no unrecovered%failure', p_execution_id,
      CASE WHEN p_failure_type IS NULL THEN ' ' ELSE ' ' || p_failure_type || ' ' END
      USING ERRCODE = 'AR009', HINT = 'aries failures lists what is recorded';
  END IF;
  IF v.status NOT IN ('FAILED', 'PENDING', 'COMPENSATING') THEN
    RAISE EXCEPTION 'execution % is %: there is nothing to recover', p_execution_id, v.status USING ERRCODE = 'AR010';
  END IF;
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id);
  -- A checkpoint a rollback took stands for the one it rolled back to: report that one (NULL: the start).
  SELECT CASE WHEN k.step_progress ? 'rolled_back_to' THEN (k.step_progress ->> 'rolled_back_to')::uuid
              ELSE k.checkpoint_id END
    INTO v_resumed_from FROM aries.checkpoints k WHERE k.checkpoint_id = v_checkpoint.checkpoint_id;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_recovered', NULL, NULL, NULL,
             pg_catalog.jsonb_build_object('failure_id', v_failure.failure_id, 'failure_type', v_failure.failure_type,
                                           'checkpoint_id', v_resumed_from,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'by', p_recovered_by));
  IF v.status = 'FAILED' AND v_failure.recovery_strategy = 'compensate' THEN
    UPDATE aries.steps s SET compensation_attempt_base = s.compensation_attempt,
                             compensation_status = CASE WHEN s.compensation_status = 'COMPLETED' THEN 'COMPLETED' END
     WHERE s.execution_id = p_execution_id AND s.compensation_status IS NOT NULL;
  ELSIF v.status = 'FAILED' THEN
    UPDATE aries.steps s SET attempt_base = s.attempt
     WHERE s.execution_id = p_execution_id AND s.status <> 'COMPLETED';
    -- Voided steps give up their positions (parked below every position already parked): the resumed run
    -- may reach them elsewhere, or not at all.
    UPDATE aries.steps s
       SET seq = -1 - s.seq - coalesce((SELECT pg_catalog.max(-x.seq) FROM aries.steps x
                                         WHERE x.execution_id = p_execution_id AND x.seq < 0), 0)
     WHERE s.execution_id = p_execution_id AND s.status = 'ROLLED_BACK' AND s.seq >= 0;
  END IF;
  UPDATE aries.executions e
     SET status = CASE WHEN v.status = 'FAILED' AND v_failure.recovery_strategy = 'compensate' THEN 'COMPENSATING'
                       WHEN v.status = 'FAILED' THEN 'PENDING' ELSE v.status END,
         error = CASE WHEN v.status = 'FAILED' AND v_failure.recovery_strategy <> 'compensate' THEN NULL ELSE e.error END,
         available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  -- A FAILED execution's failures are all settled by its recovery; a waiting retry's, only the TRANSIENT ones.
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = p_recovered_by
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND (v.status = 'FAILED' OR f.failure_type = 'TRANSIENT');
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
  RETURN v_resumed_from;
END $$;

-- The automatic recovery sweep (workers run it on a schedule; pg_cron can too). It claims, with FOR UPDATE
-- SKIP LOCKED, the FAILED executions whose newest unrecovered failure is younger than p_max_age and was
-- TRANSIENT until its retries ran out (the infrastructure may be back), and recovers them. A PERMANENT
-- verdict (a PermanentError, the user's classifier, corrupt data, a compensation that failed for good)
-- waits for an operator. Each execution is recovered by the sweep at most p_max_per_execution times
-- (counted in its journal). Concurrent sweeps share the work; an execution is locked before its failures,
-- in the same order as recover_from_failure, so a sweep and an operator never deadlock. Returns how many
-- executions it recovered.
CREATE FUNCTION aries.auto_recover_failures(p_max_age interval DEFAULT interval '1 hour',
                                            p_max_per_execution integer DEFAULT 3)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_execution record;
  v_recovered bigint := 0;
BEGIN
  FOR v_execution IN
    SELECT e.id, newest.failure_type FROM aries.executions e
     CROSS JOIN LATERAL (SELECT f.failure_type, f.retries_exhausted, f.failure_timestamp FROM aries.failures f
                          WHERE f.execution_id = e.id AND NOT f.recovered
                          ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1) newest
     WHERE e.status = 'FAILED' AND newest.retries_exhausted AND newest.failure_timestamp >= aries.now() - p_max_age
       AND (SELECT pg_catalog.count(*) FROM aries.journal j
             WHERE j.execution_id = e.id AND j.kind = 'execution_recovered' AND j.payload ->> 'by' = 'sweep')
           < p_max_per_execution
     ORDER BY newest.failure_timestamp
       FOR UPDATE OF e SKIP LOCKED
  LOOP
    BEGIN
      PERFORM aries.recover_from_failure(v_execution.id, v_execution.failure_type, 'sweep');
      v_recovered := v_recovered + 1;
    EXCEPTION WHEN SQLSTATE 'AR009' OR SQLSTATE 'AR010' THEN
      NULL; -- recovered meanwhile by an operator
    END;
  END LOOP;
  RETURN v_recovered;
END $$;

-- Failures, newest first, for operators and the CLI.
CREATE FUNCTION aries.list_failures(p_execution_id uuid DEFAULT NULL, p_unrecovered_only boolean DEFAULT false,
                                    p_limit integer DEFAULT 100)
RETURNS SETOF aries.failures LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT * FROM aries.failures f
   WHERE (p_execution_id IS NULL OR f.execution_id = p_execution_id) AND (NOT p_unrecovered_only OR NOT f.recovered)
   ORDER BY f.failure_timestamp DESC, f.failure_id
   LIMIT p_limit
$$;
