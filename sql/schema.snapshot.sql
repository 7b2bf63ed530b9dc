--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: aries; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA aries;

--
-- Name: abandon_waits(uuid, bigint, text[], text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.abandon_waits(p_execution_id uuid, p_token bigint, p_keys text[], p_reason text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  PERFORM aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  RETURN aries.cancel_waits(p_execution_id, p_keys, p_reason);
END $$;

--
-- Name: active_counts(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.active_counts() RETURNS TABLE(status text, executions bigint, due bigint, expired bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  -- One count per status, each a plain equality (or a partial index's own predicate), so each is an
  -- index(-only) scan of just that status's entries.
  SELECT c.status, c.executions, c.due, c.expired FROM (VALUES
    ('COMPENSATING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'COMPENSATING'), NULL::bigint, NULL::bigint),
    ('FAILED', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'FAILED'), NULL, NULL),
    ('PENDING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'PENDING'),
                (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'PENDING' AND e.available_at <= aries.now()), NULL),
    ('RUNNING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'RUNNING'), NULL,
                (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'RUNNING' AND e.lease_expires_at < aries.now())),
    ('SLEEPING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'SLEEPING'), NULL, NULL),
    ('WAITING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'WAITING'), NULL, NULL),
    ('SUB_COMMITTED', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'SUB_COMMITTED'), NULL, NULL)
  ) AS c (status, executions, due, expired)
$$;

--
-- Name: admit_from_queue(text, text, text[], integer, integer, uuid[], timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.admit_from_queue(p_queue text, p_worker text, p_workflow_keys text[], p_room integer, p_lease_ms integer, p_running uuid[], p_now timestamp with time zone) RETURNS TABLE(id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint, claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision, queue_name text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  c_max_visits constant integer := 1000;
  v_q aries.queues;
  v_room integer;
  v_worker_free integer;
  v_rate_free integer;
  v_ids uuid[] := '{}';
  v_id uuid;
  v_key text;
  v_first_start boolean;
  v_priority integer;
  v_cursor text;
  v_pass_first text;
  v_wrapped boolean;
  v_pass_admitted integer;
  v_visits integer := 0;
  v_candidate record;
BEGIN
  SELECT * INTO v_q FROM aries.queues q WHERE q.name = p_queue FOR NO KEY UPDATE;
  IF NOT FOUND OR v_q.paused THEN
    RETURN;
  END IF;
  -- Counted after the lock: every earlier admission into this queue is visible.
  v_room := p_room;
  IF v_q.concurrency IS NOT NULL THEN
    v_room := least(v_room, v_q.concurrency - (SELECT pg_catalog.count(*) FROM aries.executions e
                                                 WHERE e.queue_name = p_queue AND e.lease_owner IS NOT NULL)::integer);
  END IF;
  v_worker_free := CASE WHEN v_q.worker_concurrency IS NULL THEN p_room ELSE
    v_q.worker_concurrency - (SELECT pg_catalog.count(*) FROM aries.executions e
                               WHERE e.queue_name = p_queue AND e.lease_owner = p_worker)::integer END;
  v_rate_free := CASE WHEN v_q.rate_limit IS NULL THEN p_room ELSE
    v_q.rate_limit - (SELECT pg_catalog.count(*) FROM aries.executions e
                       WHERE e.queue_name = p_queue
                         AND e.started_at > p_now - v_q.rate_period_ms * interval '1 millisecond')::integer END;

  -- 1. Expired leases: the execution keeps its queue and key slot; the taking worker needs room of its own.
  FOR v_candidate IN
    SELECT e.id FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.lease_owner IS NOT NULL AND e.lease_expires_at < p_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at
     LIMIT greatest(least(p_room, v_worker_free), 0)
       FOR UPDATE SKIP LOCKED
  LOOP
    v_ids := v_ids || v_candidate.id;
    v_worker_free := v_worker_free - 1;
  END LOOP;
  v_room := least(v_room, p_room - pg_catalog.cardinality(v_ids));

  -- 2. Due COMPENSATING (unowned), SLEEPING and WAITING ones: a new slot (queue, worker, key), no rate.
  FOR v_candidate IN
    SELECT e.id, e.queue_key FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
       AND e.lease_owner IS NULL AND e.available_at <= p_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at
     LIMIT c_max_visits
  LOOP
    EXIT WHEN v_room <= 0 OR v_worker_free <= 0;
    CONTINUE WHEN NOT aries.queue_key_has_room(v_q, v_candidate.queue_key);
    SELECT e.id INTO v_id FROM aries.executions e
     WHERE e.id = v_candidate.id AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
       AND e.lease_owner IS NULL AND e.available_at <= p_now
       FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN v_id IS NULL;
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, ARRAY[v_id], p_lease_ms, p_now);
    v_room := v_room - 1;
    v_worker_free := v_worker_free - 1;
  END LOOP;

  -- 3. Due PENDING ones, by priority, then round robin across keys.
  v_cursor := v_q.rr_key;
  v_priority := NULL;
  <<priorities>>
  LOOP
    EXIT WHEN v_room <= 0 OR v_worker_free <= 0 OR v_visits >= c_max_visits;
    SELECT e.priority INTO v_priority FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.available_at <= p_now
       AND (v_priority IS NULL OR e.priority < v_priority)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
     ORDER BY e.priority DESC LIMIT 1;
    EXIT WHEN NOT FOUND;
    LOOP -- passes over this priority's keys
      v_pass_admitted := 0;
      v_pass_first := NULL;
      v_wrapped := false;
      v_key := v_cursor;
      LOOP -- keys of one pass, after the cursor and around
        EXIT priorities WHEN v_room <= 0 OR v_worker_free <= 0 OR v_visits >= c_max_visits;
        SELECT e.queue_key INTO v_key FROM aries.executions e
         WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.priority = v_priority
           AND (v_key IS NULL OR e.queue_key > v_key) AND e.available_at <= p_now
           AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
           AND NOT (e.id = ANY (p_running))
         ORDER BY e.queue_key LIMIT 1;
        IF NOT FOUND THEN
          EXIT WHEN v_wrapped OR v_pass_first IS NULL AND v_cursor IS NULL;
          v_wrapped := true;
          v_key := NULL;
          CONTINUE;
        END IF;
        EXIT WHEN v_wrapped AND v_pass_first IS NOT NULL AND v_key >= v_pass_first;
        v_pass_first := coalesce(v_pass_first, v_key);
        v_visits := v_visits + 1;
        CONTINUE WHEN NOT aries.queue_key_has_room(v_q, v_key);
        SELECT e.id, e.started_at IS NULL AS first_start INTO v_id, v_first_start FROM aries.executions e
         WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.priority = v_priority AND e.queue_key = v_key
           AND e.available_at <= p_now
           AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
           AND NOT (e.id = ANY (p_running))
         ORDER BY e.available_at, e.id LIMIT 1
           FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN v_id IS NULL OR (v_first_start AND v_rate_free <= 0);
        RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, ARRAY[v_id], p_lease_ms, p_now);
        v_room := v_room - 1;
        v_worker_free := v_worker_free - 1;
        IF v_first_start THEN
          v_rate_free := v_rate_free - 1;
        END IF;
        v_pass_admitted := v_pass_admitted + 1;
        v_cursor := v_key;
      END LOOP;
      EXIT WHEN v_pass_admitted = 0;
    END LOOP;
  END LOOP;

  IF pg_catalog.cardinality(v_ids) > 0 THEN
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, v_ids, p_lease_ms, p_now);
  END IF;
  IF v_cursor IS DISTINCT FROM v_q.rr_key THEN
    UPDATE aries.queues q SET rr_key = v_cursor WHERE q.name = p_queue;
  END IF;
END $$;

--
-- Name: admit_queued(text, text[], integer, integer, uuid[], timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.admit_queued(p_worker text, p_workflow_keys text[], p_room integer, p_lease_ms integer, p_running uuid[], p_now timestamp with time zone) RETURNS TABLE(id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint, claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision, queue_name text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_room integer := p_room;
  v_queue text;
  v_admitted integer;
BEGIN
  FOR v_queue IN
    SELECT q.name FROM aries.queues q
     WHERE NOT q.paused
       AND (EXISTS (SELECT 1 FROM aries.executions e
                     WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= p_now
                       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
            OR EXISTS (SELECT 1 FROM aries.executions e
                        WHERE e.queue_name = q.name AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
                          AND e.lease_owner IS NULL AND e.available_at <= p_now
                          AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
            OR EXISTS (SELECT 1 FROM aries.executions e
                        WHERE e.queue_name = q.name AND e.lease_owner IS NOT NULL AND e.lease_expires_at < p_now
                          AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)))
     ORDER BY q.name
  LOOP
    EXIT WHEN v_room <= 0;
    RETURN QUERY SELECT * FROM aries.admit_from_queue(v_queue, p_worker, p_workflow_keys, v_room, p_lease_ms,
                                                      p_running, p_now);
    GET DIAGNOSTICS v_admitted = ROW_COUNT;
    v_room := v_room - v_admitted;
  END LOOP;
END $$;

--
-- Name: append_journal(uuid, bigint, text, integer, text, integer, jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.append_journal(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer, p_step_key text, p_attempt integer, p_payload jsonb) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_lsn bigint := pg_catalog.nextval('aries.journal_lsn_seq');
BEGIN
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum)
  VALUES (v_lsn, p_execution_id, p_prev_lsn, p_kind, p_seq, p_step_key, p_attempt, p_payload,
          aries.journal_checksum(p_execution_id, p_prev_lsn, p_kind, p_seq, p_step_key, p_attempt, p_payload));
  RETURN v_lsn;
END $$;

--
-- Name: apply_durability(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.apply_durability(p_class text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF aries.durability_rank(p_class) IS NULL THEN
    RAISE EXCEPTION 'unknown durability class "%": use off, local, remote_write, on or remote_apply', p_class
      USING ERRCODE = '22023';
  END IF;
  PERFORM pg_catalog.set_config('synchronous_commit', p_class, true);
END $$;

--
-- Name: apply_step_requests(jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.apply_step_requests(p_requests jsonb, OUT execution_ids uuid[], OUT attempts integer[], OUT error_codes text[], OUT error_messages text[], OUT recorded integer, OUT started boolean) RETURNS record
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
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

--
-- Name: auto_recover_failures(interval, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.auto_recover_failures(p_max_age interval DEFAULT '01:00:00'::interval, p_max_per_execution integer DEFAULT 3) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: await_waits(uuid, bigint, text[], text[]); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.await_waits(p_execution_id uuid, p_token bigint, p_open text[], p_cancel text[] DEFAULT '{}'::text[]) RETURNS TABLE(step_key text, outcome text, output jsonb, error jsonb, resolved_lsn bigint, status text, available_at timestamp with time zone, due_in_ms double precision)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  v_now timestamptz := aries.now();
  w record;
  v_lsn bigint;
  v_status text;
  v_due timestamptz;
BEGIN
  IF pg_catalog.cardinality(p_cancel) > 0 THEN
    PERFORM aries.cancel_waits(p_execution_id, p_cancel, 'lost a race to another wait');
    SELECT e.last_lsn INTO v.last_lsn FROM aries.executions e WHERE e.id = p_execution_id; -- its records came first
  END IF;
  SELECT c.* INTO w FROM (
    SELECT o.step_key, o.seq, o.attempt, o.kind, o.wake_at, x.event_at, x.outcome, x.output, x.error, x.signal_id, o.child_id
      FROM (SELECT wt.step_key, s.seq, s.attempt, wt.kind, wt.wake_at, wt.signal_name, wt.child_id, wt.created_at
              FROM aries.waits wt
              JOIN aries.steps s ON s.execution_id = wt.execution_id AND s.step_key = wt.step_key
             WHERE wt.execution_id = p_execution_id AND wt.step_key = ANY (p_open) AND s.status = 'WAITING') o
      LEFT JOIN LATERAL (SELECT sg.id, sg.sent_at, sg.payload FROM aries.signals sg
                          WHERE o.kind = 'signal' AND sg.execution_id = p_execution_id AND sg.name = o.signal_name
                            AND sg.consumed_by IS NULL
                          ORDER BY sg.id LIMIT 1) sig ON true
      LEFT JOIN LATERAL (SELECT ch.status, ch.output, ch.error, ch.updated_at FROM aries.executions ch
                          WHERE o.kind = 'child' AND ch.id = o.child_id) child ON true
     CROSS JOIN LATERAL (SELECT * FROM (VALUES
         (CASE WHEN o.kind = 'sleep' AND o.wake_at <= v_now THEN o.wake_at END, 'completed', NULL::jsonb, NULL::jsonb, NULL::bigint),
         (CASE WHEN sig.id IS NOT NULL THEN greatest(sig.sent_at, o.created_at) END, 'completed', sig.payload, NULL, sig.id),
         (CASE WHEN child.status IN ('SUB_COMMITTED', 'COMPLETED') THEN child.updated_at END, 'completed', child.output, NULL, NULL),
         (CASE WHEN child.status IN ('FAILED', 'COMPENSATED', 'CANCELLED') THEN child.updated_at END, 'failed', NULL,
          pg_catalog.jsonb_build_object('name', 'ChildWorkflowFailedError', 'code', 'CHILD_FAILED',
            'message', pg_catalog.format('child execution %s ended %s: %s', o.child_id, child.status,
                                         coalesce(child.error ->> 'message', 'no message')),
            'childExecutionId', o.child_id, 'childStatus', child.status,
            'failureType', CASE WHEN child.status = 'FAILED' THEN coalesce(child.error ->> 'failureType', 'PERMANENT')
                                ELSE 'PERMANENT' END,
            'childError', child.error), NULL),
         (CASE WHEN o.kind <> 'sleep' AND o.wake_at <= v_now THEN o.wake_at END, 'failed', NULL,
          pg_catalog.jsonb_build_object('name', 'WaitTimeoutError', 'code', 'WAIT_TIMEOUT',
            'message', pg_catalog.format('%s "%s" timed out at %s', CASE o.kind WHEN 'signal' THEN 'the wait for signal "' || o.signal_name || '" under key' ELSE 'child' END,
                                         o.step_key, o.wake_at),
            'kind', o.kind, 'signal', o.signal_name, 'childExecutionId', o.child_id, 'timedOutAt', o.wake_at), NULL)
       ) ev (event_at, outcome, output, error, signal_id)
       WHERE ev.event_at IS NOT NULL
       ORDER BY ev.event_at LIMIT 1) x
     ORDER BY x.event_at, o.seq LIMIT 1) c;

  IF FOUND THEN
    IF w.outcome = 'completed' THEN
      v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_completed', w.seq, w.step_key, w.attempt, w.output);
      UPDATE aries.steps s SET status = 'COMPLETED', output_lsn = v_lsn, completed_at = v_now, ended_at = v_now
       WHERE s.execution_id = p_execution_id AND s.step_key = w.step_key;
      UPDATE aries.executions e SET last_lsn = v_lsn, step_count = e.step_count + 1, updated_at = v_now
       WHERE e.id = p_execution_id;
    ELSE
      v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_failed', w.seq, w.step_key, w.attempt, w.error);
      UPDATE aries.steps s SET status = 'FAILED', error = w.error, ended_at = v_now
       WHERE s.execution_id = p_execution_id AND s.step_key = w.step_key;
      UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = v_now WHERE e.id = p_execution_id;
      -- A child that timed out is cancelled, unless it is to be abandoned.
      IF w.kind = 'child' AND w.error ->> 'code' = 'WAIT_TIMEOUT' THEN
        PERFORM aries.cancel_execution(ch.id, pg_catalog.format('its parent %s stopped waiting for it: %s', p_execution_id, w.error ->> 'message'),
                                       true)
           FROM aries.executions ch
          WHERE ch.id = w.child_id AND ch.parent_close = 'cancel'
            AND ch.status IN ('PENDING', 'RUNNING', 'SLEEPING', 'WAITING');
      END IF;
    END IF;
    IF w.signal_id IS NOT NULL THEN
      UPDATE aries.signals sg SET consumed_by = w.step_key, consumed_at = v_now WHERE sg.id = w.signal_id;
    END IF;
    UPDATE aries.waits wt SET resolved_at = v_now, resolved_lsn = v_lsn
     WHERE wt.execution_id = p_execution_id AND wt.step_key = w.step_key;
    RETURN QUERY SELECT w.step_key, w.outcome, w.output, w.error, v_lsn, 'RUNNING'::text, NULL::timestamptz,
                        NULL::double precision;
    RETURN;
  END IF;

  -- Nothing has come: the execution gives back its lease and its worker slot until it is due.
  SELECT CASE WHEN pg_catalog.bool_and(wt.kind = 'sleep') THEN 'SLEEPING' ELSE 'WAITING' END,
         least(pg_catalog.min(wt.wake_at), v.deadline_at)
    INTO v_status, v_due
    FROM aries.waits wt
   WHERE wt.execution_id = p_execution_id AND wt.step_key = ANY (p_open) AND wt.resolved_at IS NULL;
  IF v_status IS NULL THEN
    RAISE EXCEPTION 'execution % has none of the open waits % to wait for', p_execution_id, p_open
      USING ERRCODE = 'AR011';
  END IF;
  v_due := coalesce(v_due, 'infinity'::timestamptz);
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_suspended', NULL, NULL, NULL,
    pg_catalog.jsonb_build_object('status', v_status, 'until', v_due, 'waits', pg_catalog.to_jsonb(p_open)));
  UPDATE aries.executions e
     SET status = v_status, lease_owner = NULL, lease_expires_at = NULL, available_at = v_due,
         last_lsn = v_lsn, updated_at = v_now
   WHERE e.id = p_execution_id;
  RETURN QUERY SELECT NULL::text, 'suspended'::text, NULL::jsonb, NULL::jsonb, v_lsn, v_status, v_due,
                      CASE WHEN pg_catalog.isfinite(v_due) THEN pg_catalog.date_part('epoch', v_due - v_now) * 1000 END;
END $$;

--
-- Name: begin_compensation(uuid, bigint, jsonb, text, text, integer, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.begin_compensation(p_execution_id uuid, p_token bigint, p_error jsonb, p_source text, p_step_key text DEFAULT NULL::text, p_attempt integer DEFAULT NULL::integer, p_retries_exhausted boolean DEFAULT false) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: begin_step(uuid, bigint, integer, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.begin_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text) RETURNS integer
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  SELECT aries.record_steps(p_execution_id, p_token, NULL, p_seq, p_step_key)
$$;

--
-- Name: begin_wait(uuid, bigint, integer, text, text, double precision, timestamp with time zone, text, uuid); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.begin_wait(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_kind text, p_delay_ms double precision DEFAULT NULL::double precision, p_until timestamp with time zone DEFAULT NULL::timestamp with time zone, p_signal_name text DEFAULT NULL::text, p_child_id uuid DEFAULT NULL::uuid) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  v_step record;
  v_wake timestamptz;
  v_lsn bigint;
BEGIN
  IF p_kind IS NULL OR p_kind NOT IN ('sleep', 'signal', 'child') THEN
    RAISE EXCEPTION 'a wait is a sleep, a signal wait or a child, not %', coalesce(p_kind, 'NULL') USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms IS NOT NULL AND (p_delay_ms < 0 OR p_delay_ms = 'Infinity'::double precision OR p_delay_ms = 'NaN'::double precision) THEN
    RAISE EXCEPTION 'wait "%": the delay must be a finite number of milliseconds >= 0, got %', p_step_key, p_delay_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_kind = 'sleep' AND p_delay_ms IS NULL AND p_until IS NULL THEN
    RAISE EXCEPTION 'sleep "%" needs a delay or a time to sleep until', p_step_key USING ERRCODE = 'AR011';
  END IF;
  IF (p_kind = 'signal') <> (p_signal_name IS NOT NULL AND p_signal_name <> '') THEN
    RAISE EXCEPTION 'wait "%": only a signal wait names a signal, and it needs a non-empty name', p_step_key USING ERRCODE = 'AR011';
  END IF;
  SELECT s.status, s.kind, s.seq, s.attempt INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  IF FOUND THEN
    IF v_step.kind = p_kind AND v_step.status = 'WAITING' THEN
      RETURN (SELECT w.wake_at FROM aries.waits w WHERE w.execution_id = p_execution_id AND w.step_key = p_step_key);
    END IF;
    IF v_step.kind = p_kind AND v_step.status = 'ROLLED_BACK' THEN
      -- Voided by a rollback to a checkpoint: the wait begins again, as its next attempt, and gives back
      -- the signal it had consumed (that consumption was voided with it).
      IF EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq = p_seq AND s.step_key <> p_step_key) THEN
        RAISE EXCEPTION 'execution % recorded a different step at position % than "%"; the workflow code no longer matches its journal',
          p_execution_id, p_seq, p_step_key USING ERRCODE = 'AR006';
      END IF;
      v_wake := coalesce(p_until, aries.now() + p_delay_ms * interval '1 millisecond');
      v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_waiting', p_seq, p_step_key, v_step.attempt + 1,
        pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('kind', p_kind, 'until', v_wake, 'signal', p_signal_name,
                                                                   'child', p_child_id, 'again', true)));
      UPDATE aries.steps s SET status = 'WAITING', seq = p_seq, attempt = v_step.attempt + 1, error = NULL, output_lsn = NULL,
                               completed_at = NULL, ended_at = NULL, started_at = aries.now()
       WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
      UPDATE aries.waits w SET wake_at = v_wake, created_at = aries.now(), resolved_at = NULL, resolved_lsn = NULL
       WHERE w.execution_id = p_execution_id AND w.step_key = p_step_key;
      UPDATE aries.signals sg SET consumed_by = NULL, consumed_at = NULL
       WHERE sg.execution_id = p_execution_id AND sg.consumed_by = p_step_key;
      UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
      RETURN v_wake;
    END IF;
    RAISE EXCEPTION 'execution % recorded step "%" as a % (%), but the workflow code now begins a % wait under its key; the workflow code no longer matches its journal',
      p_execution_id, p_step_key, v_step.kind, v_step.status, p_kind USING ERRCODE = 'AR006';
  END IF;
  IF EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq = p_seq) THEN
    RAISE EXCEPTION 'execution % recorded a different step at position % than "%"; the workflow code no longer matches its journal',
      p_execution_id, p_seq, p_step_key USING ERRCODE = 'AR006';
  END IF;
  v_wake := coalesce(p_until, aries.now() + p_delay_ms * interval '1 millisecond');
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_waiting', p_seq, p_step_key, 1,
    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('kind', p_kind, 'until', v_wake, 'signal', p_signal_name,
                                                               'child', p_child_id)));
  INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt, kind, started_at)
  VALUES (p_execution_id, p_step_key, p_seq, 'WAITING', 1, p_kind, aries.now());
  INSERT INTO aries.waits (execution_id, step_key, kind, wake_at, signal_name, child_id)
  VALUES (p_execution_id, p_step_key, p_kind, v_wake, p_signal_name, p_child_id);
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  RETURN v_wake;
END $$;

--
-- Name: cancel_children(uuid, text, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.cancel_children(p_parent_id uuid, p_reason text, p_compensate boolean DEFAULT false) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_child uuid;
  v_count integer := 0;
BEGIN
  FOR v_child IN SELECT ch.id FROM aries.executions ch
                  WHERE ch.parent_id = p_parent_id AND ch.parent_close = 'cancel'
                    AND ch.status IN ('PENDING', 'RUNNING', 'SLEEPING', 'WAITING')
                  ORDER BY ch.id LOOP
    PERFORM aries.cancel_execution(v_child, p_reason, p_compensate);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;

--
-- Name: cancel_execution(uuid, text, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL::text, p_compensate boolean DEFAULT false) RETURNS TABLE(previous_status text, workflow_name text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions;
  v_lsn bigint;
  v_reason text := coalesce(p_reason, 'cancelled by an operator');
  v_error jsonb;
  v_compensate boolean;
BEGIN
  -- the reason becomes the execution's error, shown on every list page: bounded like an error's message
  IF pg_catalog.length(p_reason) > 4096 THEN
    RAISE EXCEPTION 'the reason is % characters; the limit is 4096', pg_catalog.length(p_reason) USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.status IN ('COMPLETED', 'SUB_COMMITTED', 'COMPENSATED', 'CANCELLED') THEN
    RAISE EXCEPTION 'execution % is % and cannot be cancelled: it is finished', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  v_compensate := coalesce(p_compensate, false) AND v.status <> 'PENDING';
  IF v_compensate AND v.status = 'COMPENSATING' THEN
    RETURN QUERY SELECT v.status, v.workflow_name;
    RETURN;
  END IF;
  v_error := pg_catalog.jsonb_build_object('name', 'CancelledError', 'code', 'CANCELLED', 'message', v_reason);
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_cancelled', NULL, NULL, NULL,
                                pg_catalog.jsonb_build_object('reason', p_reason, 'previousStatus', v.status,
                                                              'compensate', v_compensate));
  UPDATE aries.executions e SET last_lsn = v_lsn WHERE e.id = p_execution_id;
  PERFORM aries.cancel_waits(p_execution_id,
    ARRAY(SELECT wt.step_key FROM aries.waits wt WHERE wt.execution_id = p_execution_id AND wt.resolved_at IS NULL),
    v_reason, v_compensate);
  UPDATE aries.steps s
     SET status = 'CANCELLED', ended_at = aries.now(),
         error = pg_catalog.jsonb_build_object('name', 'CancelledError', 'message', v_reason)
   WHERE s.execution_id = p_execution_id AND s.status IN ('RUNNING', 'RETRYING');
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'cancel'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered;
  IF v_compensate THEN
    PERFORM aries.record_failure(p_execution_id, 'PARTIAL', 'compensate', 'step', v_error, NULL, NULL, NULL, false);
    UPDATE aries.executions e
       SET status = 'COMPENSATING', lease_owner = NULL, lease_expires_at = NULL, lease_token = e.lease_token + 1,
           available_at = aries.now(), error = v_error, updated_at = aries.now()
     WHERE e.id = p_execution_id;
    PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
  ELSE
    UPDATE aries.executions e
       SET status = 'CANCELLED', lease_owner = NULL, lease_expires_at = NULL, lease_token = e.lease_token + 1,
           error = v_error, finished_at = aries.now(), updated_at = aries.now()
     WHERE e.id = p_execution_id;
  END IF;
  RETURN QUERY SELECT v.status, v.workflow_name;
END $$;

--
-- Name: cancel_waits(uuid, text[], text, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.cancel_waits(p_execution_id uuid, p_keys text[], p_reason text, p_compensate_children boolean DEFAULT true) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  w record;
  v_lsn bigint;
  v_count integer := 0;
BEGIN
  IF p_keys IS NULL OR pg_catalog.cardinality(p_keys) = 0 THEN
    RETURN 0;
  END IF;
  FOR w IN SELECT s.step_key, s.seq, s.attempt, wt.kind, wt.child_id FROM aries.steps s
             JOIN aries.waits wt ON wt.execution_id = s.execution_id AND wt.step_key = s.step_key
            WHERE s.execution_id = p_execution_id AND s.step_key = ANY (p_keys) AND s.status = 'WAITING'
            ORDER BY s.seq LOOP
    v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                  'step_cancelled', w.seq, w.step_key, w.attempt, pg_catalog.jsonb_build_object('reason', p_reason));
    UPDATE aries.steps s SET status = 'CANCELLED', ended_at = aries.now(),
                             error = pg_catalog.jsonb_build_object('name', 'CancelledError', 'message', p_reason)
     WHERE s.execution_id = p_execution_id AND s.step_key = w.step_key;
    UPDATE aries.waits wt SET resolved_at = aries.now(), resolved_lsn = v_lsn
     WHERE wt.execution_id = p_execution_id AND wt.step_key = w.step_key;
    UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
    IF w.kind = 'child' THEN
      PERFORM aries.cancel_execution(ch.id, pg_catalog.format('its parent %s cancelled the wait for it: %s', p_execution_id, p_reason),
                                     p_compensate_children)
         FROM aries.executions ch
        WHERE ch.id = w.child_id AND ch.parent_close = 'cancel'
          AND ch.status IN ('PENDING', 'RUNNING', 'SLEEPING', 'WAITING');
    END IF;
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;

--
-- Name: check_queue_limits(text, integer, integer, integer, integer, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.check_queue_limits(p_name text, p_concurrency integer, p_worker_concurrency integer, p_key_concurrency integer, p_rate_limit integer, p_rate_period_ms bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_limit record;
BEGIN
  IF p_name IS NULL OR p_name = '' OR pg_catalog.octet_length(p_name) > 200 THEN
    RAISE EXCEPTION 'a queue name must be a non-empty string of at most 200 bytes, got %',
      coalesce(pg_catalog.quote_literal(pg_catalog.left(p_name, 40)), 'NULL') USING ERRCODE = 'AR011';
  END IF;
  FOR v_limit IN SELECT * FROM (VALUES ('concurrency', p_concurrency::bigint),
                                       ('workerConcurrency', p_worker_concurrency::bigint),
                                       ('keyConcurrency', p_key_concurrency::bigint),
                                       ('rateLimit.limit', p_rate_limit::bigint),
                                       ('rateLimit.periodMs', p_rate_period_ms)) AS l (what, value)
  LOOP
    IF v_limit.value IS NOT NULL AND v_limit.value <= 0 THEN
      RAISE EXCEPTION 'queue "%": % must be a positive integer, got %', p_name, v_limit.what, v_limit.value
        USING ERRCODE = 'AR011';
    END IF;
  END LOOP;
END $$;

--
-- Name: check_retention_durations(bigint, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.check_retention_durations(p_finished_ms bigint, p_idempotency_keys_ms bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF p_finished_ms <= 0 THEN
    RAISE EXCEPTION 'retention finishedMs must be a positive number of milliseconds, got %', p_finished_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_keys_ms <= 0 THEN
    RAISE EXCEPTION 'retention idempotencyKeysMs must be a positive number of milliseconds, got %',
      p_idempotency_keys_ms USING ERRCODE = 'AR011';
  END IF;
END $$;

--
-- Name: check_start_placement(text, text, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.check_start_placement(p_queue text, p_queue_key text, p_delay_ms bigint) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO ''
    AS $$
BEGIN
  IF p_queue = '' THEN
    RAISE EXCEPTION 'a start''s queue must be a non-empty queue name' USING ERRCODE = 'AR011';
  END IF;
  IF p_queue_key = '' OR pg_catalog.octet_length(p_queue_key) > 512 THEN
    RAISE EXCEPTION 'a queue key must be a non-empty string of at most 512 bytes' USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms < 0 THEN
    RAISE EXCEPTION 'a start''s delay must be at least 0 ms, got %', p_delay_ms USING ERRCODE = 'AR011';
  END IF;
END $$;

--
-- Name: checkpoint_checksum(uuid, bigint, jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.checkpoint_checksum(p_execution_id uuid, p_lsn bigint, p_state jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT pg_catalog.md5(p_execution_id::text || ':' || p_lsn::text || ':' || p_state::text)
$$;

--
-- Name: child_execution_id(uuid, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.child_execution_id(p_parent_id uuid, p_step_key text) RETURNS uuid
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  SELECT pg_catalog.md5('aries-child:' || p_parent_id::text || ':' || p_step_key)::uuid
$$;

--
-- Name: claim_due_schedules(integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.claim_due_schedules(p_limit integer) RETURNS TABLE(name text, cron text, timezone text, misfire text, max_lateness_ms bigint, next_fire_at timestamp with time zone, last_slot_at timestamp with time zone, sql_action text, db_now timestamp with time zone)
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  SELECT s.name, s.cron, s.timezone, s.misfire, s.max_lateness_ms, s.next_fire_at, s.last_slot_at, s.sql_action,
         aries.now()
    FROM aries.schedules s
   WHERE NOT s.paused AND s.next_fire_at <= aries.now()
   ORDER BY s.next_fire_at, s.name
   LIMIT p_limit
     FOR UPDATE OF s SKIP LOCKED
$$;

--
-- Name: claim_executions(text, text[], integer, integer, uuid[]); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer, p_lease_ms integer, p_running uuid[] DEFAULT '{}'::uuid[]) RETURNS TABLE(id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint, claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision, queue_name text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_ids uuid[];
BEGIN
  WITH expired AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'RUNNING' AND e.lease_expires_at < v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), compensating AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'COMPENSATING' AND e.queue_name IS NULL
       AND ((e.lease_owner IS NULL AND e.available_at <= v_now) OR e.lease_expires_at < v_now)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), woken AS (
    SELECT e.id FROM aries.executions e
     WHERE e.status IN ('SLEEPING', 'WAITING') AND e.available_at <= v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), due AS (
    -- Not one the worker is still running: a retry due at once, or a hand-back, can become PENDING
    -- before the run that wrote it has returned.
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'PENDING' AND e.available_at <= v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), chosen AS (
    SELECT x.id, x.old_owner, x.expired_at FROM expired x
    UNION ALL
    SELECT c.id, c.old_owner, c.expired_at FROM compensating c
    UNION ALL
    SELECT k.id, NULL, NULL FROM woken k
    UNION ALL
    SELECT d.id, NULL, NULL FROM due d
    LIMIT p_limit
  )
  SELECT pg_catalog.array_agg(c.id) INTO v_ids FROM chosen c;
  IF v_ids IS NOT NULL THEN
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, v_ids, p_lease_ms, v_now);
  END IF;
  IF coalesce(pg_catalog.cardinality(v_ids), 0) < p_limit THEN
    RETURN QUERY SELECT * FROM aries.admit_queued(p_worker, p_workflow_keys, p_limit - coalesce(pg_catalog.cardinality(v_ids), 0),
                                                  p_lease_ms, p_running, v_now);
  END IF;
END $$;

--
-- Name: clear_retention_policy(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.clear_retention_policy(p_workflow text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
  DELETE FROM aries.retention_policies p WHERE p.workflow_name = coalesce(p_workflow, '*');
  RETURN FOUND;
END $$;

--
-- Name: commit_intents_asynchronously(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.commit_intents_asynchronously() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF pg_catalog.current_setting('fsync') = 'on' THEN
    PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
  END IF;
END $$;

--
-- Name: compensate_child(uuid, bigint, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.compensate_child(p_execution_id uuid, p_token bigint, p_step_key text) RETURNS TABLE(outcome text, child_id uuid, child_status text, child_error jsonb)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_step aries.steps := aries.lock_compensation(p_execution_id, p_token, p_step_key);
  c aries.executions;
  v_lsn bigint;
  v_attempt integer := v_step.compensation_attempt;
BEGIN
  SELECT ch.* INTO c FROM aries.executions ch
   WHERE ch.id = (SELECT wt.child_id FROM aries.waits wt WHERE wt.execution_id = p_execution_id AND wt.step_key = p_step_key)
     FOR UPDATE;
  IF v_step.compensation_status = 'COMPLETED' THEN
    RETURN QUERY SELECT 'done'::text, c.id, c.status, c.error;
    RETURN;
  END IF;
  IF c.status IN ('COMPENSATED', 'CANCELLED', 'COMPLETED') OR c.id IS NULL THEN
    IF v_step.compensation_status IS NULL OR v_step.compensation_status <> 'RUNNING' THEN
      v_attempt := aries.record_compensation(p_execution_id, p_token, p_step_key, 'started');
    END IF;
    PERFORM aries.record_compensation(p_execution_id, p_token, p_step_key, 'completed', v_attempt,
      pg_catalog.jsonb_build_object('child', c.id, 'childStatus', c.status));
    RETURN QUERY SELECT 'done'::text, c.id, c.status, c.error;
    RETURN;
  END IF;
  IF c.status = 'FAILED' THEN
    RETURN QUERY SELECT 'failed'::text, c.id, c.status, c.error;
    RETURN;
  END IF;
  IF c.status = 'SUB_COMMITTED' THEN
    IF v_step.compensation_status IS NULL OR v_step.compensation_status <> 'RUNNING' THEN
      PERFORM aries.record_compensation(p_execution_id, p_token, p_step_key, 'started');
    END IF;
    v_lsn := aries.append_journal(c.id, c.last_lsn, 'execution_compensating', NULL, NULL, NULL,
      pg_catalog.jsonb_build_object('reason', pg_catalog.format('compensated with its parent %s', p_execution_id)));
    UPDATE aries.executions e
       SET status = 'COMPENSATING', output = NULL, available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now(),
           error = pg_catalog.jsonb_build_object('name', 'ParentCompensatingError', 'code', 'PARENT_COMPENSATING',
             'message', pg_catalog.format('compensated with its parent %s', p_execution_id))
     WHERE e.id = c.id;
    PERFORM pg_catalog.pg_notify('aries_wakeup', c.workflow_name);
  END IF;
  -- The child is being undone (or still runs its compensations): the parent waits for it, holding nothing.
  UPDATE aries.executions e SET lease_owner = NULL, lease_expires_at = NULL, available_at = 'infinity', updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN QUERY SELECT 'waiting'::text, c.id, 'COMPENSATING'::text, NULL::jsonb;
END $$;

--
-- Name: complete_execution(uuid, bigint, jsonb, jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.complete_execution(p_execution_id uuid, p_token bigint, p_output jsonb, p_completed jsonb DEFAULT NULL::jsonb) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions;
  v_done record;
  v_lsn bigint;
  v_status text := 'COMPLETED';
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF v.lease_token = p_token AND v.status IN ('COMPLETED', 'SUB_COMMITTED') THEN
    RETURN;
  END IF;
  v := aries.lock_owned_execution(p_execution_id, p_token, 'COMPLETED');
  IF p_completed IS NOT NULL THEN
    v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'execution_id', p_execution_id, 'token', p_token, 'completed', p_completed)));
    IF v_done.error_codes[1] IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
    END IF;
  END IF;
  IF v.parent_id IS NOT NULL AND EXISTS (SELECT 1 FROM aries.executions p WHERE p.id = v.parent_id
                                          AND p.status NOT IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')) THEN
    v_status := 'SUB_COMMITTED';
  END IF;
  v_lsn := aries.append_journal(p_execution_id,
                                (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                CASE v_status WHEN 'COMPLETED' THEN 'execution_completed' ELSE 'execution_sub_committed' END,
                                NULL, NULL, NULL, p_output);
  UPDATE aries.executions e
     SET status = v_status, output = p_output, lease_owner = NULL, lease_expires_at = NULL,
         last_lsn = v_lsn, finished_at = CASE v_status WHEN 'COMPLETED' THEN aries.now() END,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;

--
-- Name: complete_step(uuid, bigint, integer, text, integer, jsonb, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.complete_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_attempt integer, p_output jsonb, p_checkpoint boolean DEFAULT false) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  PERFORM aries.record_steps(p_execution_id, p_token,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'seq', p_seq, 'key', p_step_key, 'attempt', p_attempt, 'checkpoint', p_checkpoint))
      || CASE WHEN p_output IS NULL THEN '{}'::jsonb ELSE pg_catalog.jsonb_build_object('output', p_output) END));
  RETURN (SELECT s.output_lsn FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key);
END $$;

--
-- Name: create_execution(uuid, text, text, jsonb, text, bigint, uuid, text, text, text, text, integer, timestamp with time zone, text, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.create_execution(p_id uuid, p_workflow text, p_version text, p_input jsonb, p_idempotency_key text, p_timeout_ms bigint, p_parent_id uuid DEFAULT NULL::uuid, p_parent_step_key text DEFAULT NULL::text, p_parent_close text DEFAULT NULL::text, p_queue text DEFAULT NULL::text, p_queue_key text DEFAULT NULL::text, p_priority integer DEFAULT 0, p_available_at timestamp with time zone DEFAULT NULL::timestamp with time zone, p_debounce_key text DEFAULT NULL::text, p_debounce_deadline timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
  v_lsn bigint;
  v_inserted uuid;
BEGIN
  IF p_timeout_ms IS NOT NULL AND p_timeout_ms <= 0 THEN
    RAISE EXCEPTION 'an execution''s timeout must be a positive number of milliseconds, got %', p_timeout_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM aries.retained_execution(p_idempotency_key)) THEN
    RETURN false;
  END IF;
  v_lsn := pg_catalog.nextval('aries.journal_lsn_seq');
  INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn,
                                     parent_id, parent_step_key, parent_close, deadline_at, queue_name, queue_key,
                                     priority, available_at, debounce_key, debounce_deadline)
  VALUES (p_id, p_workflow, p_version, p_input, p_idempotency_key, v_lsn, p_parent_id, p_parent_step_key,
          p_parent_close, aries.now() + p_timeout_ms * interval '1 millisecond', p_queue,
          CASE WHEN p_queue IS NOT NULL THEN coalesce(p_queue_key, '') END, coalesce(p_priority, 0),
          coalesce(p_available_at, aries.now()), p_debounce_key, p_debounce_deadline)
  ON CONFLICT DO NOTHING
  RETURNING e.id INTO v_inserted;
  IF v_inserted IS NULL THEN
    RETURN false;
  END IF;
  -- A purge that moved this key to the retained keys committed while the insert waited on its row: the
  -- key is taken after all, so the row just inserted (nothing refers to it yet) is taken back.
  IF p_idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM aries.retained_execution(p_idempotency_key)) THEN
    DELETE FROM aries.executions e WHERE e.id = v_inserted;
    RETURN false;
  END IF;
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
  SELECT v_lsn, p_id, NULL, 'execution_started', p.payload,
         aries.journal_checksum(p_id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
    FROM (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', p_version,
                                               'input', p_input) AS payload) p;
  PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
  RETURN true;
END $$;

--
-- Name: debounce_start(text, text, jsonb, bigint, text, text, integer, text, bigint, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.debounce_start(p_workflow text, p_version text, p_input jsonb, p_timeout_ms bigint, p_queue text, p_queue_key text, p_priority integer, p_key text, p_delay_ms bigint, p_max_delay_ms bigint) RETURNS TABLE(execution_id uuid, created boolean, status text, debounced boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_pending record;
  v_lsn bigint;
  v_id uuid;
BEGIN
  IF p_key IS NULL OR p_key = '' OR pg_catalog.octet_length(p_key) > 512 THEN
    RAISE EXCEPTION 'a debounce key must be a non-empty string of at most 512 bytes' USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms IS NULL OR p_delay_ms < 0 THEN
    RAISE EXCEPTION 'debounce "%": delayMs must be at least 0, got %', p_key, coalesce(p_delay_ms::text, 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF p_max_delay_ms < 0 THEN
    RAISE EXCEPTION 'debounce "%": maxDelayMs must be at least 0, got %', p_key, p_max_delay_ms USING ERRCODE = 'AR011';
  END IF;
  FOR i IN 1..100 LOOP
    SELECT e.id, e.last_lsn, e.debounce_deadline INTO v_pending FROM aries.executions e
     WHERE e.workflow_name = p_workflow AND e.debounce_key = p_key AND e.status = 'PENDING'
       FOR UPDATE;
    IF FOUND THEN
      v_lsn := aries.append_journal(v_pending.id, v_pending.last_lsn, 'execution_input_replaced', NULL, NULL, NULL,
                                    pg_catalog.jsonb_build_object('input', p_input));
      UPDATE aries.executions e
         SET input = p_input, last_lsn = v_lsn, updated_at = v_now,
             available_at = least(v_now + p_delay_ms * interval '1 millisecond', e.debounce_deadline)
       WHERE e.id = v_pending.id;
      RETURN QUERY SELECT v_pending.id, false, 'PENDING'::text, true;
      RETURN;
    END IF;
    v_id := gen_random_uuid();
    IF aries.create_execution(v_id, p_workflow, p_version, p_input, NULL, p_timeout_ms,
                              p_queue => p_queue, p_queue_key => p_queue_key, p_priority => p_priority,
                              p_available_at => least(v_now + p_delay_ms * interval '1 millisecond',
                                                      v_now + p_max_delay_ms * interval '1 millisecond'),
                              p_debounce_key => p_key,
                              p_debounce_deadline => v_now + p_max_delay_ms * interval '1 millisecond') THEN
      RETURN QUERY SELECT v_id, true, 'PENDING'::text, false;
      RETURN;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'debounce "%": could not start or join a pending execution (too much contention)', p_key
    USING ERRCODE = '40001';
END $$;

--
-- Name: delete_schedule(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.delete_schedule(p_name text) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  IF v.sql_action IS NOT NULL THEN
    RAISE EXCEPTION 'schedule "%" is built in: pause it instead of deleting it', p_name USING ERRCODE = 'AR011';
  END IF;
  DELETE FROM aries.schedules s WHERE s.name = p_name;
END $$;

--
-- Name: deregister_worker(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.deregister_worker(p_worker_id text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  UPDATE aries.workers w SET stopped_at = greatest(aries.now(), w.started_at)
   WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
  RETURN FOUND;
END $$;

--
-- Name: durability_rank(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.durability_rank(p_class text) RETURNS integer
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT CASE p_class WHEN 'off' THEN 0 WHEN 'local' THEN 1 WHEN 'remote_write' THEN 2 WHEN 'on' THEN 3
                      WHEN 'remote_apply' THEN 4 END
$$;

--
-- Name: durability_settings(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.durability_settings() RETURNS TABLE(fsync text, full_page_writes text, synchronous_commit text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT pg_catalog.current_setting('fsync'), pg_catalog.current_setting('full_page_writes'),
         pg_catalog.current_setting('synchronous_commit')
$$;

--
-- Name: error_preview(jsonb, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.error_preview(p_error jsonb, p_limit integer) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $_$
  SELECT CASE WHEN p_limit IS NULL OR p_error IS NULL OR pg_catalog.octet_length(p_error::text) <= p_limit
              THEN p_error
              ELSE pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                     'name', p_error -> 'name', 'code', p_error -> 'code',
                     'message', pg_catalog.left(p_error ->> 'message', 512),
                     '$truncated', true, 'bytes', pg_catalog.octet_length(p_error::text))) END
$_$;

--
-- Name: execution_stats(timestamp with time zone, timestamp with time zone, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.execution_stats(p_from timestamp with time zone, p_to timestamp with time zone, p_bucket_seconds integer) RETURNS TABLE(bucket_at timestamp with time zone, started bigint, completed bigint, failed bigint, compensated bigint, cancelled bigint, transient_failures bigint, permanent_failures bigint, partial_failures bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  WITH buckets AS (
    SELECT b AS bucket_at FROM pg_catalog.generate_series(p_from, p_to - pg_catalog.make_interval(secs => 1e-6),
                                                        pg_catalog.make_interval(secs => p_bucket_seconds)) b
  ),
  started AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.created_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) AS c
      FROM aries.executions e WHERE e.created_at >= p_from AND e.created_at < p_to GROUP BY 1
  ),
  finished AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.finished_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPLETED') AS completed,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATED') AS compensated,
           pg_catalog.count(*) FILTER (WHERE e.status = 'CANCELLED') AS cancelled
      FROM aries.executions e
     WHERE e.finished_at IS NOT NULL AND e.finished_at >= p_from AND e.finished_at < p_to GROUP BY 1
  ),
  failed AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.updated_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) AS c
      FROM aries.executions e
     WHERE e.status = 'FAILED' AND e.updated_at >= p_from AND e.updated_at < p_to GROUP BY 1
  ),
  failures AS (
    SELECT pg_catalog.floor(extract(epoch FROM f.failure_timestamp - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'TRANSIENT') AS transient,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'PERMANENT') AS permanent,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'PARTIAL') AS partial
      FROM aries.failures f WHERE f.failure_timestamp >= p_from AND f.failure_timestamp < p_to GROUP BY 1
  )
  SELECT b.bucket_at, coalesce(s.c, 0), coalesce(fi.completed, 0), coalesce(fa.c, 0), coalesce(fi.compensated, 0),
         coalesce(fi.cancelled, 0), coalesce(fl.transient, 0), coalesce(fl.permanent, 0), coalesce(fl.partial, 0)
    FROM buckets b
    LEFT JOIN started s ON s.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN finished fi ON fi.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN failed fa ON fa.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN failures fl ON fl.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
   ORDER BY b.bucket_at
$$;

--
-- Name: fail_execution(uuid, bigint, jsonb, text, text, text, integer, boolean, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.fail_execution(p_execution_id uuid, p_token bigint, p_error jsonb, p_failure_type text, p_source text, p_step_key text DEFAULT NULL::text, p_attempt integer DEFAULT NULL::integer, p_retries_exhausted boolean DEFAULT false, p_rollback_before_lsn bigint DEFAULT NULL::bigint) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: fail_step(uuid, bigint, integer, text, integer, jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.fail_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_attempt integer, p_error jsonb) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_step aries.steps;
  v_lsn bigint;
BEGIN
  SELECT * INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key AND s.seq = p_seq;
  IF NOT FOUND THEN
    INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt)
    VALUES (p_execution_id, p_step_key, p_seq, 'RUNNING', p_attempt);
  ELSIF v_step.status = 'FAILED' AND v_step.attempt = p_attempt THEN
    RETURN v.last_lsn;
  ELSIF v_step.status = 'COMPLETED' THEN
    RAISE EXCEPTION 'step "%" of execution % is already completed', p_step_key, p_execution_id
      USING ERRCODE = 'AR005';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_failed', p_seq, p_step_key, p_attempt, p_error);
  UPDATE aries.steps s SET status = 'FAILED', attempt = p_attempt, error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  RETURN v_lsn;
END $$;

--
-- Name: finish_compensation(uuid, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.finish_compensation(p_execution_id uuid, p_token bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: finish_executions(jsonb, uuid[]); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.finish_executions(p_requests jsonb, p_accepted uuid[]) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    SET jit TO 'off'
    AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_ids uuid[];
  v_lsns bigint[];
  v_prev bigint[];
  v_statuses text[];
  v_outputs jsonb[];
BEGIN
  SELECT pg_catalog.array_agg(n.id ORDER BY n.id), pg_catalog.array_agg(n.lsn ORDER BY n.id),
         pg_catalog.array_agg(n.last_lsn ORDER BY n.id), pg_catalog.array_agg(n.status ORDER BY n.id),
         pg_catalog.array_agg(n.output ORDER BY n.id)
    INTO v_ids, v_lsns, v_prev, v_statuses, v_outputs
    FROM (SELECT f.id, f.output, x.last_lsn,
                 CASE WHEN x.parent_id IS NOT NULL AND EXISTS (
                        SELECT 1 FROM aries.executions p WHERE p.id = x.parent_id
                           AND p.status NOT IN ('COMPLETED', 'COMPENSATED', 'CANCELLED'))
                      THEN 'SUB_COMMITTED' ELSE 'COMPLETED' END AS status,
                 pg_catalog.nextval('aries.journal_lsn_seq') AS lsn
            FROM (SELECT (a.r ->> 'execution_id')::uuid AS id, a.r -> 'finish' -> 'output' AS output
                    FROM pg_catalog.jsonb_array_elements(p_requests) a (r)
                   WHERE a.r ? 'finish') f
            -- LATERAL … LIMIT 1: an index probe whatever the table size was when the plan was cached.
            CROSS JOIN LATERAL (SELECT e.last_lsn, e.parent_id FROM aries.executions e
                                 WHERE e.id = f.id AND e.id = ANY (p_accepted) LIMIT 1) x
           ORDER BY f.id) n;
  IF v_ids IS NULL THEN
    RETURN 0;
  END IF;
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum, created_at)
  SELECT u.lsn, u.id, u.prev,
         CASE u.status WHEN 'COMPLETED' THEN 'execution_completed' ELSE 'execution_sub_committed' END, u.output,
         aries.journal_checksum(u.id, u.prev,
                                CASE u.status WHEN 'COMPLETED' THEN 'execution_completed' ELSE 'execution_sub_committed' END,
                                NULL, NULL, NULL, u.output), v_now
    FROM ROWS FROM (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_lsns), pg_catalog.unnest(v_prev),
                    pg_catalog.unnest(v_statuses), pg_catalog.unnest(v_outputs)) u (id, lsn, prev, status, output)
   ORDER BY u.lsn;
  -- `e.id = ANY (v_ids)` keeps the update a primary-key probe per execution under a cached plan.
  UPDATE aries.executions e
     SET status = u.status, output = u.output, lease_owner = NULL, lease_expires_at = NULL, last_lsn = u.lsn,
         finished_at = CASE u.status WHEN 'COMPLETED' THEN v_now END, updated_at = v_now
    FROM ROWS FROM (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_lsns), pg_catalog.unnest(v_statuses),
                    pg_catalog.unnest(v_outputs)) u (id, lsn, status, output)
   WHERE e.id = ANY (v_ids) AND e.id = u.id;
  RETURN pg_catalog.cardinality(v_ids);
END $$;

--
-- Name: fire_schedule(text, timestamp with time zone[], timestamp with time zone, timestamp with time zone, integer, timestamp with time zone, timestamp with time zone, integer, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.fire_schedule(p_name text, p_start_slots timestamp with time zone[], p_skipped_from timestamp with time zone, p_skipped_through timestamp with time zone, p_skipped_count integer, p_missed_from timestamp with time zone, p_missed_through timestamp with time zone, p_missed_count integer, p_next_fire_at timestamp with time zone) RETURNS TABLE(slot_at timestamp with time zone, execution_id uuid, created boolean, action_result bigint)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
#variable_conflict use_column
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
  v_slot timestamptz;
  v_slot_id bigint;
  v_execution_id uuid;
  v_created boolean;
  v_result bigint;
  v_newest timestamptz := v.last_slot_at;
BEGIN
  IF p_next_fire_at IS NULL THEN
    RAISE EXCEPTION 'fire_schedule needs the next fire time of schedule "%"', p_name USING ERRCODE = 'AR011';
  END IF;
  IF p_skipped_from IS NOT NULL AND p_skipped_from >= v.next_fire_at THEN
    INSERT INTO aries.schedule_slots (schedule_name, slot_at, through_at, slot_count, status)
    VALUES (p_name, p_skipped_from, nullif(p_skipped_through, p_skipped_from), coalesce(p_skipped_count, 1), 'skipped')
    ON CONFLICT (schedule_name, slot_at) WHERE status <> 'manual' DO NOTHING;
    v_newest := GREATEST(v_newest, coalesce(p_skipped_through, p_skipped_from));
  END IF;
  IF p_missed_from IS NOT NULL AND p_missed_from >= v.next_fire_at THEN
    INSERT INTO aries.schedule_slots (schedule_name, slot_at, through_at, slot_count, status)
    VALUES (p_name, p_missed_from, nullif(p_missed_through, p_missed_from), coalesce(p_missed_count, 1), 'missed')
    ON CONFLICT (schedule_name, slot_at) WHERE status <> 'manual' DO NOTHING;
    v_newest := GREATEST(v_newest, coalesce(p_missed_through, p_missed_from));
  END IF;
  FOR v_slot IN SELECT DISTINCT u.s FROM pg_catalog.unnest(coalesce(p_start_slots, '{}')) u (s)
                 WHERE u.s >= v.next_fire_at ORDER BY u.s
  LOOP
    v_newest := GREATEST(v_newest, v_slot);
    INSERT INTO aries.schedule_slots (schedule_name, slot_at, status) VALUES (p_name, v_slot, 'started')
    ON CONFLICT (schedule_name, slot_at) WHERE status <> 'manual' DO NOTHING
    RETURNING id INTO v_slot_id;
    CONTINUE WHEN v_slot_id IS NULL;
    v_execution_id := NULL;
    v_created := false;
    v_result := NULL;
    IF v.sql_action IS NOT NULL THEN
      v_result := aries.run_schedule_action(v.sql_action);
    ELSE
      SELECT x.execution_id, x.created INTO v_execution_id, v_created
        FROM aries.start_execution(v.workflow_name, v.workflow_version, v.input,
                                   aries.schedule_slot_key(p_name, v_slot)) x;
    END IF;
    UPDATE aries.schedule_slots ss SET execution_id = v_execution_id, action_result = v_result WHERE ss.id = v_slot_id;
    RETURN QUERY SELECT v_slot, v_execution_id, v_created, v_result;
  END LOOP;
  UPDATE aries.schedules s
     SET next_fire_at = GREATEST(s.next_fire_at, p_next_fire_at,
                                            v_newest + interval '1 millisecond'),
         last_slot_at = v_newest
   WHERE s.name = p_name;
END $$;

--
-- Name: follow_execution_end(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.follow_execution_end() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  c record;
  v_lsn bigint;
  v_parent_status text;
  v_parent_workflow text;
  v_parent_waits boolean;
BEGIN
  IF NEW.parent_id IS NOT NULL AND NEW.status IN ('SUB_COMMITTED', 'COMPLETED', 'FAILED', 'COMPENSATED', 'CANCELLED')
     AND OLD.status <> 'SUB_COMMITTED'
     AND EXISTS (SELECT 1 FROM aries.waits wt WHERE wt.child_id = NEW.id AND wt.execution_id = NEW.parent_id
                                              AND wt.resolved_at IS NULL) THEN
    -- The parent's row is locked even while it RUNS (and only made due once it waits): its worker's
    -- await_waits, which locks it too, then either reads this child's end once this commits, or has
    -- suspended it first, and this UPDATE, waiting for that lock, sees it WAITING. Without the lock, an
    -- end committed just after the parent looked and before it suspended would wake nothing.
    UPDATE aries.executions p
       SET available_at = CASE WHEN p.status IN ('SLEEPING', 'WAITING') THEN aries.now() ELSE p.available_at END
     WHERE p.id = NEW.parent_id AND p.status IN ('RUNNING', 'SLEEPING', 'WAITING')
    RETURNING p.status, p.workflow_name INTO v_parent_status, v_parent_workflow;
    IF v_parent_status IN ('SLEEPING', 'WAITING') THEN
      PERFORM pg_catalog.pg_notify('aries_wakeup', v_parent_workflow);
    END IF;
  END IF;
  -- A child undone with its parent's saga: the parent, waiting for it while COMPENSATING, goes on. Its row
  -- is locked while its worker still holds it, for the same reason (aries.compensate_child locks it too).
  IF NEW.parent_id IS NOT NULL AND OLD.status = 'COMPENSATING' THEN
    UPDATE aries.executions p
       SET available_at = CASE WHEN p.lease_owner IS NULL THEN aries.now() ELSE p.available_at END
     WHERE p.id = NEW.parent_id AND p.status = 'COMPENSATING'
    RETURNING p.lease_owner IS NULL, p.workflow_name INTO v_parent_waits, v_parent_workflow;
    IF v_parent_waits THEN
      PERFORM pg_catalog.pg_notify('aries_wakeup', v_parent_workflow);
    END IF;
  END IF;
  IF NOT NEW.has_children THEN
    RETURN NULL;
  END IF;
  IF NEW.status IN ('COMPENSATING', 'CANCELLED') THEN
    PERFORM aries.cancel_children(NEW.id, pg_catalog.format('its parent %s is %s', NEW.id, NEW.status),
                                  NEW.status = 'COMPENSATING');
  END IF;
  -- SUB_COMMITTED children commit with a parent that completes or is cancelled; a parent's saga undoes
  -- them in order (aries.compensate_child), and one it did not reach is undone when the parent is COMPENSATED.
  IF NEW.status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED') THEN
    FOR c IN SELECT ch.id, ch.last_lsn, ch.workflow_name FROM aries.executions ch
              WHERE ch.parent_id = NEW.id AND ch.status = 'SUB_COMMITTED' ORDER BY ch.id FOR UPDATE LOOP
      IF NEW.status = 'COMPENSATED' THEN
        v_lsn := aries.append_journal(c.id, c.last_lsn, 'execution_compensating', NULL, NULL, NULL,
          pg_catalog.jsonb_build_object('reason', pg_catalog.format('its parent %s was compensated', NEW.id)));
        UPDATE aries.executions e
           SET status = 'COMPENSATING', output = NULL, available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now(),
               error = pg_catalog.jsonb_build_object('name', 'ParentCompensatingError', 'code', 'PARENT_COMPENSATING',
                 'message', pg_catalog.format('compensated with its parent %s', NEW.id))
         WHERE e.id = c.id;
        PERFORM pg_catalog.pg_notify('aries_wakeup', c.workflow_name);
      ELSE
        v_lsn := aries.append_journal(c.id, c.last_lsn, 'execution_completed', NULL, NULL, NULL,
          pg_catalog.jsonb_build_object('committedWith', NEW.id));
        UPDATE aries.executions e SET status = 'COMPLETED', last_lsn = v_lsn, finished_at = aries.now(),
                                      updated_at = aries.now()
         WHERE e.id = c.id;
      END IF;
    END LOOP;
  END IF;
  RETURN NULL;
END $$;

--
-- Name: grant_claims(text, uuid[], integer, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.grant_claims(p_worker text, p_ids uuid[], p_lease_ms integer, p_now timestamp with time zone) RETURNS TABLE(id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint, claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision, queue_name text)
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  WITH chosen AS (
    SELECT e.id, e.lease_owner AS old_owner, CASE WHEN e.lease_owner IS NOT NULL THEN e.lease_expires_at END AS expired_at
      FROM aries.executions e WHERE e.id = ANY (p_ids)
  ), node_faults AS (
    INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                                details, recovered, recovered_at, recovered_by)
    SELECT c.id, 'TRANSIENT',
           pg_catalog.format('worker %s stopped renewing its lease (it expired at %s); the execution was resumed by worker %s',
                             c.old_owner, c.expired_at, p_worker),
           'retry', 'node', pg_catalog.jsonb_build_object('worker', c.old_owner, 'lease_expired_at', c.expired_at),
           true, p_now, 'worker'
      FROM chosen c WHERE c.old_owner IS NOT NULL
  ), retried AS (
    UPDATE aries.failures f SET recovered = true, recovered_at = p_now, recovered_by = 'worker'
      FROM chosen c
     WHERE f.execution_id = c.id AND NOT f.recovered AND f.failure_type = 'TRANSIENT'
  )
  UPDATE aries.executions e
     SET status = CASE WHEN e.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'RUNNING' END,
         lease_owner = p_worker, lease_token = e.lease_token + 1,
         lease_expires_at = p_now + p_lease_ms * interval '1 millisecond',
         claim_count = e.claim_count + 1, started_at = coalesce(e.started_at, p_now), updated_at = p_now,
         debounce_key = NULL
    FROM chosen c
   WHERE e.id = c.id
  RETURNING e.id, e.workflow_name, e.workflow_version, e.input, e.lease_token, e.claim_count,
            c.expired_at IS NOT NULL, e.status = 'COMPENSATING',
            pg_catalog.date_part('epoch', e.deadline_at - p_now) * 1000, e.queue_name
$$;

--
-- Name: guard_execution_transition(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.guard_execution_transition() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM aries.execution_transitions t
                 WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
    RAISE EXCEPTION 'illegal transition of execution % from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'AR003';
  END IF;
  RETURN NEW;
END $$;

--
-- Name: heartbeat_worker(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.heartbeat_worker(p_worker_id text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  UPDATE aries.workers w SET heartbeat_at = greatest(w.heartbeat_at, aries.now())
   WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
  RETURN FOUND;
END $$;

--
-- Name: journal_checksum(uuid, bigint, text, integer, text, integer, jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.journal_checksum(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer, p_step_key text, p_attempt integer, p_payload jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
  SELECT pg_catalog.md5(p_execution_id::text || E'\x1f' || coalesce(p_prev_lsn::text, '-') || E'\x1f' || p_kind
         || E'\x1f' || coalesce(p_seq::text, '-') || E'\x1f' || coalesce(p_step_key, '-') || E'\x1f'
         || coalesce(p_attempt::text, '-') || E'\x1f' || coalesce(p_payload::text, '-'))
$$;

--
-- Name: now(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.now() RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
  SELECT coalesce(nullif(pg_catalog.current_setting('aries.now', true), '')::timestamptz, pg_catalog.now())
$$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: failures; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.failures (
    failure_id uuid DEFAULT gen_random_uuid() NOT NULL,
    execution_id uuid NOT NULL,
    failure_type text NOT NULL,
    failure_message text NOT NULL,
    failure_timestamp timestamp with time zone DEFAULT aries.now() NOT NULL,
    recovery_strategy text NOT NULL,
    recovered boolean DEFAULT false NOT NULL,
    source text NOT NULL,
    step_key text,
    attempt integer,
    error_class text,
    stack text,
    details jsonb,
    retries_exhausted boolean DEFAULT false NOT NULL,
    checkpoint_id uuid,
    recovered_at timestamp with time zone,
    recovered_by text,
    CONSTRAINT failures_failure_type_check CHECK ((failure_type = ANY (ARRAY['TRANSIENT'::text, 'PERMANENT'::text, 'PARTIAL'::text]))),
    CONSTRAINT failures_recovered_by_check CHECK ((recovered_by = ANY (ARRAY['worker'::text, 'operator'::text, 'sweep'::text, 'cancel'::text]))),
    CONSTRAINT failures_recovered_check CHECK ((recovered = (recovered_at IS NOT NULL))),
    CONSTRAINT failures_recovery_strategy_check CHECK ((recovery_strategy = ANY (ARRAY['retry'::text, 'rollback'::text, 'compensate'::text, 'none'::text]))),
    CONSTRAINT failures_source_check CHECK ((source = ANY (ARRAY['node'::text, 'network'::text, 'data'::text, 'step'::text])))
);

--
-- Name: list_failures(uuid, boolean, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.list_failures(p_execution_id uuid DEFAULT NULL::uuid, p_unrecovered_only boolean DEFAULT false, p_limit integer DEFAULT 100) RETURNS SETOF aries.failures
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT * FROM aries.failures f
   WHERE (p_execution_id IS NULL OR f.execution_id = p_execution_id) AND (NOT p_unrecovered_only OR NOT f.recovered)
   ORDER BY f.failure_timestamp DESC, f.failure_id
   LIMIT p_limit
$$;

--
-- Name: list_queues(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.list_queues(p_name text DEFAULT NULL::text) RETURNS TABLE(name text, concurrency integer, worker_concurrency integer, key_concurrency integer, rate_limit integer, rate_period_ms bigint, paused boolean, source text, created_at timestamp with time zone, updated_at timestamp with time zone, pending bigint, delayed bigint, running bigint, waiting bigint, oldest_due_ms double precision, started_in_window bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT q.name, q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit, q.rate_period_ms, q.paused,
         q.source, q.created_at, q.updated_at,
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()),
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at > aries.now()),
         (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.queue_name = q.name AND e.lease_owner IS NOT NULL),
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status IN ('SLEEPING', 'WAITING')),
         (SELECT pg_catalog.date_part('epoch', aries.now() - pg_catalog.min(e.available_at)) * 1000 FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()),
         CASE WHEN q.rate_limit IS NOT NULL THEN
           (SELECT pg_catalog.count(*) FROM aries.executions e
             WHERE e.queue_name = q.name AND e.started_at > aries.now() - q.rate_period_ms * interval '1 millisecond'
               AND e.started_at <= aries.now()) END
    FROM aries.queues q
   WHERE p_name IS NULL OR q.name = p_name
   ORDER BY q.name
$$;

--
-- Name: list_schedules(integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.list_schedules(p_recent integer DEFAULT 5) RETURNS TABLE(name text, cron text, timezone text, workflow_name text, workflow_version text, input jsonb, sql_action text, misfire text, max_lateness_ms bigint, paused boolean, next_fire_at timestamp with time zone, last_slot_at timestamp with time zone, created_at timestamp with time zone, updated_at timestamp with time zone, recent_slots jsonb)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT s.name, s.cron, s.timezone, s.workflow_name, s.workflow_version, s.input, s.sql_action, s.misfire,
         s.max_lateness_ms, s.paused, s.next_fire_at, s.last_slot_at, s.created_at, s.updated_at,
         coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) ORDER BY r.id DESC)
                     FROM aries.read_schedule_slots(s.name, p_recent) r), '[]'::jsonb)
    FROM aries.schedules s
   ORDER BY s.name
$$;

--
-- Name: list_step_previews(uuid, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.list_step_previews(p_execution_id uuid, p_truncate_above integer DEFAULT NULL::integer) RETURNS TABLE(execution_id uuid, step_key text, seq integer, status text, attempt integer, output jsonb, output_is_null boolean, error jsonb, started_at timestamp with time zone, completed_at timestamp with time zone, compensation_status text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT s.execution_id, s.step_key, s.seq, s.status, s.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.lsn IS NOT NULL AND j.payload IS NULL, aries.error_preview(s.error, p_truncate_above), s.started_at, s.completed_at, s.compensation_status
    FROM aries.steps s LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id
   ORDER BY s.seq
$$;

--
-- Name: list_workers(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.list_workers() RETURNS TABLE(worker text, status text, host text, pid integer, workflows text[], concurrency integer, lease_ms integer, started_at timestamp with time zone, heartbeat_at timestamp with time zone, stopped_at timestamp with time zone, executions bigint, compensating bigint, earliest_lease_expiry timestamp with time zone, latest_lease_expiry timestamp with time zone, expired bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  WITH leases AS (
    SELECT e.lease_owner, pg_catalog.count(*) AS executions,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATING') AS compensating,
           pg_catalog.min(e.lease_expires_at) AS earliest, pg_catalog.max(e.lease_expires_at) AS latest,
           pg_catalog.count(*) FILTER (WHERE e.lease_expires_at < aries.now()) AS expired
      FROM aries.executions e
     WHERE e.lease_owner IS NOT NULL
     GROUP BY e.lease_owner
  ), listed AS (
    SELECT coalesce(w.worker_id, l.lease_owner) AS worker,
           CASE WHEN w.worker_id IS NOT NULL THEN aries.worker_status(w.heartbeat_at, w.stopped_at, w.lease_ms, aries.now())
                WHEN l.latest >= aries.now() THEN 'live' ELSE 'stale' END AS status,
           w.host, w.pid, w.workflows, w.concurrency, w.lease_ms, w.started_at, w.heartbeat_at, w.stopped_at,
           coalesce(l.executions, 0) AS executions, coalesce(l.compensating, 0) AS compensating,
           l.earliest, l.latest, coalesce(l.expired, 0) AS expired
      FROM aries.workers w
      FULL JOIN leases l ON l.lease_owner = w.worker_id
  )
  SELECT x.worker, x.status, x.host, x.pid, x.workflows, x.concurrency, x.lease_ms, x.started_at,
         x.heartbeat_at, x.stopped_at, x.executions, x.compensating, x.earliest, x.latest, x.expired
    FROM listed x
   ORDER BY x.status <> 'live', x.worker
$$;

--
-- Name: steps; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.steps (
    execution_id uuid NOT NULL,
    step_key text NOT NULL,
    seq integer NOT NULL,
    status text NOT NULL,
    attempt integer DEFAULT 1 NOT NULL,
    output_lsn bigint,
    error jsonb,
    started_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    completed_at timestamp with time zone,
    attempt_base integer DEFAULT 0 NOT NULL,
    compensation_status text,
    compensation_attempt integer DEFAULT 0 NOT NULL,
    compensation_attempt_base integer DEFAULT 0 NOT NULL,
    compensation_error jsonb,
    compensated_at timestamp with time zone,
    kind text DEFAULT 'step'::text NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT steps_attempt_check CHECK ((attempt >= 1)),
    CONSTRAINT steps_compensated_check CHECK (((compensation_status IS NULL) OR (status = 'COMPLETED'::text))),
    CONSTRAINT steps_compensation_status_check CHECK ((compensation_status = ANY (ARRAY['RUNNING'::text, 'COMPLETED'::text, 'FAILED'::text, 'RETRYING'::text]))),
    CONSTRAINT steps_completed_at_check CHECK (((status = 'COMPLETED'::text) = (completed_at IS NOT NULL))),
    CONSTRAINT steps_kind_check CHECK ((kind = ANY (ARRAY['step'::text, 'transaction'::text, 'sleep'::text, 'signal'::text, 'child'::text]))),
    CONSTRAINT steps_output_check CHECK (((status = 'COMPLETED'::text) = (output_lsn IS NOT NULL))),
    CONSTRAINT steps_seq_check CHECK (((seq >= 0) OR (status = 'ROLLED_BACK'::text))),
    CONSTRAINT steps_status_check CHECK ((status = ANY (ARRAY['RUNNING'::text, 'COMPLETED'::text, 'FAILED'::text, 'RETRYING'::text, 'ROLLED_BACK'::text, 'WAITING'::text, 'CANCELLED'::text]))),
    CONSTRAINT steps_step_key_check CHECK ((step_key <> ''::text)),
    CONSTRAINT steps_waiting_check CHECK (((status <> 'WAITING'::text) OR (kind = ANY (ARRAY['sleep'::text, 'signal'::text, 'child'::text]))))
);

--
-- Name: lock_compensation(uuid, bigint, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.lock_compensation(p_execution_id uuid, p_token bigint, p_step_key text) RETURNS aries.steps
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: executions; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.executions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    workflow_name text NOT NULL,
    workflow_version text NOT NULL,
    status text DEFAULT 'PENDING'::text NOT NULL,
    input jsonb,
    output jsonb,
    error jsonb,
    idempotency_key text,
    available_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    lease_owner text,
    lease_token bigint DEFAULT 0 NOT NULL,
    lease_expires_at timestamp with time zone,
    claim_count integer DEFAULT 0 NOT NULL,
    step_count integer DEFAULT 0 NOT NULL,
    last_lsn bigint,
    created_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    updated_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    parent_id uuid,
    parent_step_key text,
    parent_close text,
    deadline_at timestamp with time zone,
    has_children boolean DEFAULT false NOT NULL,
    queue_name text,
    queue_key text,
    priority integer DEFAULT 0 NOT NULL,
    debounce_key text,
    debounce_deadline timestamp with time zone,
    CONSTRAINT executions_check1 CHECK (((status = ANY (ARRAY['COMPLETED'::text, 'COMPENSATED'::text, 'CANCELLED'::text])) = (finished_at IS NOT NULL))),
    CONSTRAINT executions_check2 CHECK (((status = ANY (ARRAY['COMPLETED'::text, 'SUB_COMMITTED'::text])) OR (output IS NULL))),
    CONSTRAINT executions_idempotency_key_check CHECK (((idempotency_key IS NULL) OR (idempotency_key <> ''::text))),
    CONSTRAINT executions_lease_check CHECK (((lease_owner IS NULL) = (lease_expires_at IS NULL))),
    CONSTRAINT executions_leased_status_check CHECK (((lease_owner IS NULL) OR (status = ANY (ARRAY['RUNNING'::text, 'COMPENSATING'::text])))),
    CONSTRAINT executions_parent_check CHECK ((((parent_id IS NULL) = (parent_step_key IS NULL)) AND ((parent_id IS NULL) = (parent_close IS NULL)))),
    CONSTRAINT executions_parent_close_check CHECK ((parent_close = ANY (ARRAY['cancel'::text, 'abandon'::text]))),
    CONSTRAINT executions_queue_check CHECK (((queue_name IS NULL) = (queue_key IS NULL))),
    CONSTRAINT executions_running_leased_check CHECK (((status <> 'RUNNING'::text) OR (lease_owner IS NOT NULL))),
    CONSTRAINT executions_sub_committed_check CHECK (((status <> 'SUB_COMMITTED'::text) OR (parent_id IS NOT NULL)))
);

--
-- Name: lock_owned_execution(uuid, bigint, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.lock_owned_execution(p_execution_id uuid, p_token bigint, p_done_status text DEFAULT NULL::text) RETURNS aries.executions
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: schedules; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.schedules (
    name text NOT NULL,
    cron text NOT NULL,
    timezone text DEFAULT 'UTC'::text NOT NULL,
    workflow_name text,
    workflow_version text,
    input jsonb,
    sql_action text,
    misfire text DEFAULT 'skip'::text NOT NULL,
    max_lateness_ms bigint DEFAULT 60000 NOT NULL,
    paused boolean DEFAULT false NOT NULL,
    next_fire_at timestamp with time zone NOT NULL,
    last_slot_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    updated_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    CONSTRAINT schedules_action_check CHECK (((workflow_name IS NULL) <> (sql_action IS NULL))),
    CONSTRAINT schedules_builtin_check CHECK (((sql_action IS NOT NULL) = (name ~~ 'aries.%'::text))),
    CONSTRAINT schedules_check CHECK ((last_slot_at < next_fire_at)),
    CONSTRAINT schedules_cron_check CHECK (((cron <> ''::text) AND (octet_length(cron) <= 256))),
    CONSTRAINT schedules_input_check CHECK (((sql_action IS NULL) OR (input IS NULL))),
    CONSTRAINT schedules_max_lateness_ms_check CHECK ((max_lateness_ms > 0)),
    CONSTRAINT schedules_misfire_check CHECK ((misfire = ANY (ARRAY['skip'::text, 'once'::text, 'all'::text]))),
    CONSTRAINT schedules_name_check CHECK (((name <> ''::text) AND (octet_length(name) <= 256))),
    CONSTRAINT schedules_sql_action_check CHECK ((sql_action = ANY (ARRAY['auto_recover_failures'::text, 'purge_finished'::text]))),
    CONSTRAINT schedules_timezone_check CHECK (((timezone <> ''::text) AND (octet_length(timezone) <= 64))),
    CONSTRAINT schedules_updated_check CHECK ((updated_at >= created_at)),
    CONSTRAINT schedules_version_check CHECK (((workflow_version IS NULL) OR (workflow_name IS NOT NULL))),
    CONSTRAINT schedules_workflow_name_check CHECK ((workflow_name <> ''::text)),
    CONSTRAINT schedules_workflow_version_check CHECK ((workflow_version <> ''::text))
);

--
-- Name: lock_schedule(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.lock_schedule(p_name text) RETURNS aries.schedules
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.schedules;
BEGIN
  SELECT * INTO v FROM aries.schedules s WHERE s.name = p_name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'schedule "%" not found', p_name USING ERRCODE = 'AR014';
  END IF;
  RETURN v;
END $$;

--
-- Name: next_queue_admission(text[]); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.next_queue_admission(p_workflow_keys text[]) RETURNS double precision
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT pg_catalog.min(pg_catalog.date_part('epoch', w.started_at + q.rate_period_ms * interval '1 millisecond'
                                                      - aries.now()) * 1000)
    FROM aries.queues q
   CROSS JOIN LATERAL (
     -- Counted without the upper bound, as admit_from_queue counts the window.
     SELECT e.started_at FROM aries.executions e
      WHERE e.queue_name = q.name AND e.started_at > aries.now() - q.rate_period_ms * interval '1 millisecond'
      ORDER BY e.started_at DESC
     OFFSET q.rate_limit - 1 LIMIT 1) w
   WHERE q.rate_limit IS NOT NULL AND NOT q.paused
     AND EXISTS (SELECT 1 FROM aries.executions e
                  WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()
                    AND e.started_at IS NULL
                    AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
$$;

--
-- Name: notify_queue_slot_freed(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.notify_queue_slot_freed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM aries.queues q
              WHERE q.name = NEW.queue_name
                AND (q.concurrency IS NOT NULL OR q.worker_concurrency IS NOT NULL OR q.key_concurrency IS NOT NULL)) THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', 'queue:' || NEW.queue_name);
  END IF;
  RETURN NULL;
END $$;

--
-- Name: pause_schedule(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.pause_schedule(p_name text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  UPDATE aries.schedules s SET paused = true, updated_at = GREATEST(aries.now(), s.created_at)
   WHERE s.name = p_name;
  RETURN v.paused;
END $$;

--
-- Name: payload_preview(jsonb, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.payload_preview(p_payload jsonb, p_limit integer) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $_$
  SELECT CASE WHEN p_limit IS NULL OR p_payload IS NULL OR pg_catalog.octet_length(p_payload::text) <= p_limit
              THEN p_payload
              ELSE pg_catalog.jsonb_build_object('$truncated', true, 'bytes', pg_catalog.octet_length(p_payload::text),
                                                 'preview', pg_catalog.left(p_payload::text, 2048)) END
$_$;

--
-- Name: purges; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.purges (
    id bigint NOT NULL,
    execution_id uuid NOT NULL,
    workflow_name text NOT NULL,
    workflow_version text NOT NULL,
    status text NOT NULL,
    purged_by text NOT NULL,
    database_user text NOT NULL,
    reason text,
    purged_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    executions integer NOT NULL,
    steps integer NOT NULL,
    journal_records integer NOT NULL,
    checkpoints integer NOT NULL,
    failures integer NOT NULL,
    signals integer NOT NULL,
    waits integer NOT NULL,
    CONSTRAINT purges_executions_check CHECK ((executions >= 1)),
    CONSTRAINT purges_purged_by_check CHECK (((purged_by <> ''::text) AND (length(purged_by) <= 256))),
    CONSTRAINT purges_reason_check CHECK ((length(reason) <= 4096))
);

--
-- Name: purge_execution(uuid, text, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.purge_execution(p_execution_id uuid, p_purged_by text, p_reason text DEFAULT NULL::text) RETURNS aries.purges
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions;
  v_root uuid;
  v_ids uuid[];
  v_busy record;
  v_audit aries.purges;
BEGIN
  IF p_purged_by IS NULL OR p_purged_by = '' OR pg_catalog.length(p_purged_by) > 256 THEN
    RAISE EXCEPTION 'a purge names who purges (1 to 256 characters), got %', coalesce(pg_catalog.quote_literal(p_purged_by), 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF pg_catalog.length(p_reason) > 4096 THEN
    RAISE EXCEPTION 'the purge reason is % characters; the limit is 4096', pg_catalog.length(p_reason) USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.parent_id IS NOT NULL THEN
    WITH RECURSIVE up AS (
      SELECT e.id, e.parent_id FROM aries.executions e WHERE e.id = v.parent_id
      UNION ALL
      SELECT p.id, p.parent_id FROM up u JOIN aries.executions p ON p.id = u.parent_id
    )
    SELECT u.id INTO v_root FROM up u WHERE u.parent_id IS NULL;
    RAISE EXCEPTION 'execution % is a child of execution %: a child is purged with its tree, purge top-level execution % instead',
      p_execution_id, v.parent_id, coalesce(v_root, v.parent_id) USING ERRCODE = 'AR018';
  END IF;
  WITH RECURSIVE tree AS (
    SELECT p_execution_id AS id
    UNION ALL
    SELECT c.id FROM tree t JOIN aries.executions c ON c.parent_id = t.id
  )
  SELECT pg_catalog.array_agg(t.id ORDER BY t.id) INTO v_ids FROM tree t;
  PERFORM 1 FROM aries.executions e WHERE e.id = ANY (v_ids) ORDER BY e.id FOR UPDATE;
  SELECT e.id, e.status INTO v_busy FROM aries.executions e
   WHERE e.id = ANY (v_ids) AND e.status NOT IN ('COMPLETED', 'COMPENSATED', 'CANCELLED', 'FAILED')
   ORDER BY e.id = p_execution_id DESC, e.id LIMIT 1;
  IF FOUND THEN
    IF v_busy.id = p_execution_id THEN
      RAISE EXCEPTION 'execution % is % and cannot be purged: cancel it first', p_execution_id, v_busy.status
        USING ERRCODE = 'AR017';
    END IF;
    RAISE EXCEPTION 'execution % cannot be purged: its child execution % is %; cancel it first',
      p_execution_id, v_busy.id, v_busy.status USING ERRCODE = 'AR017';
  END IF;
  INSERT INTO aries.purges (execution_id, workflow_name, workflow_version, status, purged_by, database_user, reason,
                            executions, steps, journal_records, checkpoints, failures, signals, waits)
  SELECT v.id, v.workflow_name, v.workflow_version, v.status, p_purged_by, SESSION_USER, p_reason,
         pg_catalog.cardinality(v_ids),
         (SELECT pg_catalog.count(*) FROM aries.steps s WHERE s.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.journal j WHERE j.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.checkpoints c WHERE c.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.failures f WHERE f.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.signals g WHERE g.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.waits w WHERE w.execution_id = ANY (v_ids))
  RETURNING * INTO v_audit;
  DELETE FROM aries.retained_idempotency_keys k WHERE k.execution_id = ANY (v_ids);
  DELETE FROM aries.executions e WHERE e.id = ANY (v_ids);
  RETURN v_audit;
END $$;

--
-- Name: purge_finished(integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.purge_finished(p_batch integer DEFAULT 1000) RETURNS TABLE(executions integer, keys_kept integer, keys_expired integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_policy record;
  v_left integer := p_batch;
  v_roots uuid[];
  v_parents uuid[];
  v_ids uuid[];
  v_executions integer := 0;
  v_kept integer := 0;
  v_expired integer;
  v_count integer;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'purge_finished needs a batch size of at least 1, got %', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  FOR v_policy IN
    SELECT n.name,
           CASE WHEN own.workflow_name IS NULL THEN dflt.finished_ms ELSE own.finished_ms END AS finished_ms,
           CASE WHEN own.workflow_name IS NULL THEN dflt.idempotency_keys_ms ELSE own.idempotency_keys_ms END AS keys_ms
      FROM (SELECT DISTINCT w.name FROM aries.workflows w) n
      LEFT JOIN aries.retention_policies own ON own.workflow_name = n.name
      LEFT JOIN aries.retention_policies dflt ON dflt.workflow_name = '*'
     WHERE CASE WHEN own.workflow_name IS NULL THEN dflt.finished_ms ELSE own.finished_ms END IS NOT NULL
     ORDER BY n.name
  LOOP
    EXIT WHEN v_left <= 0;
    SELECT pg_catalog.array_agg(c.id), pg_catalog.array_agg(c.id) FILTER (WHERE c.has_children)
      INTO v_roots, v_parents
      FROM (SELECT e.id, e.has_children FROM aries.executions e
             WHERE e.workflow_name = v_policy.name AND e.finished_at IS NOT NULL AND e.parent_id IS NULL
               AND e.finished_at < v_now - v_policy.finished_ms * interval '1 millisecond'
               -- a parent with an unfinished child takes no room in the batch (it would, at its head, for ever)
               AND NOT (e.has_children AND EXISTS (SELECT 1 FROM aries.executions c
                                                    WHERE c.parent_id = e.id AND c.finished_at IS NULL))
             ORDER BY e.finished_at
             LIMIT v_left
             FOR UPDATE SKIP LOCKED) c;
    CONTINUE WHEN v_roots IS NULL;
    v_left := v_left - pg_catalog.cardinality(v_roots);
    v_ids := v_roots;
    IF v_parents IS NOT NULL THEN
      -- Trees go whole or not at all: drop a root with any unfinished descendant, add the others'.
      WITH RECURSIVE tree AS (
        SELECT e.id AS root, e.id FROM aries.executions e WHERE e.id = ANY (v_parents)
        UNION ALL
        SELECT t.root, c.id FROM tree t JOIN aries.executions c ON c.parent_id = t.id
      ), kept AS (
        SELECT DISTINCT t.root FROM tree t JOIN aries.executions e ON e.id = t.id WHERE e.finished_at IS NULL
      )
      SELECT pg_catalog.array_agg(x.id) INTO v_ids
        FROM (SELECT r.id FROM pg_catalog.unnest(v_roots) AS r(id)
               WHERE r.id NOT IN (SELECT k.root FROM kept k)
              UNION ALL
              SELECT t.id FROM tree t WHERE t.id <> t.root AND t.root NOT IN (SELECT k.root FROM kept k)) x;
      CONTINUE WHEN v_ids IS NULL;
    END IF;
    IF v_policy.keys_ms IS NOT NULL AND v_policy.keys_ms > v_policy.finished_ms THEN
      INSERT INTO aries.retained_idempotency_keys (idempotency_key, workflow_name, execution_id, status,
                                                   finished_at, expires_at)
      SELECT e.idempotency_key, e.workflow_name, e.id, e.status, e.finished_at,
             e.finished_at + v_policy.keys_ms * interval '1 millisecond'
        FROM aries.executions e
       WHERE e.id = ANY (v_ids) AND e.idempotency_key IS NOT NULL AND e.finished_at IS NOT NULL
         AND e.finished_at + v_policy.keys_ms * interval '1 millisecond' > v_now
      ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS v_count = ROW_COUNT;
      v_kept := v_kept + v_count;
    END IF;
    DELETE FROM aries.executions e WHERE e.id = ANY (v_ids);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_executions := v_executions + v_count;
  END LOOP;
  DELETE FROM aries.retained_idempotency_keys k
   WHERE k.idempotency_key IN (SELECT x.idempotency_key FROM aries.retained_idempotency_keys x
                                WHERE x.expires_at <= v_now ORDER BY x.expires_at LIMIT p_batch
                                FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS v_expired = ROW_COUNT;
  RETURN QUERY SELECT v_executions, v_kept, v_expired;
END $$;

--
-- Name: queues; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.queues (
    name text NOT NULL,
    concurrency integer,
    worker_concurrency integer,
    key_concurrency integer,
    rate_limit integer,
    rate_period_ms bigint,
    paused boolean DEFAULT false NOT NULL,
    source text DEFAULT 'definition'::text NOT NULL,
    rr_key text,
    created_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    updated_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    CONSTRAINT queues_limits_check CHECK (((concurrency > 0) AND (worker_concurrency > 0) AND (key_concurrency > 0) AND (rate_limit > 0) AND (rate_period_ms > 0))),
    CONSTRAINT queues_name_check CHECK (((name <> ''::text) AND (octet_length(name) <= 200))),
    CONSTRAINT queues_rate_check CHECK (((rate_limit IS NULL) = (rate_period_ms IS NULL))),
    CONSTRAINT queues_source_check CHECK ((source = ANY (ARRAY['definition'::text, 'operator'::text])))
);

--
-- Name: queue_key_has_room(aries.queues, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.queue_key_has_room(p_queue aries.queues, p_key text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT p_queue.key_concurrency IS NULL OR p_key = ''
         OR (SELECT pg_catalog.count(*) FROM aries.executions e
              WHERE e.queue_name = p_queue.name AND e.queue_key = p_key AND e.lease_owner IS NOT NULL)
            < p_queue.key_concurrency
$$;

--
-- Name: read_journal(uuid, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.read_journal(p_execution_id uuid, p_after_lsn bigint DEFAULT NULL::bigint) RETURNS TABLE(lsn bigint, prev_lsn bigint, kind text, seq integer, step_key text, attempt integer, payload jsonb, payload_is_null boolean, checksum_ok boolean, created_at timestamp with time zone, execution_last_lsn bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT j.lsn, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload, j.payload IS NULL,
         j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                             j.attempt, j.payload),
         j.created_at,
         (SELECT e.last_lsn FROM aries.executions e WHERE e.id = j.execution_id)
    FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND (p_after_lsn IS NULL OR j.lsn > p_after_lsn)
   ORDER BY j.lsn
$$;

--
-- Name: read_journal_page(uuid, bigint, integer, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.read_journal_page(p_execution_id uuid, p_after_lsn bigint, p_limit integer, p_truncate_above integer DEFAULT NULL::integer) RETURNS TABLE(lsn bigint, prev_lsn bigint, kind text, seq integer, step_key text, attempt integer, payload jsonb, payload_is_null boolean, checksum_ok boolean, created_at timestamp with time zone, execution_last_lsn bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT j.lsn, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.payload IS NULL,
         j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload),
         j.created_at, NULL::bigint
    FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND j.lsn > coalesce(p_after_lsn, 0)
   ORDER BY j.lsn
   LIMIT p_limit
$$;

--
-- Name: read_schedule_slots(text, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.read_schedule_slots(p_name text, p_limit integer) RETURNS TABLE(id bigint, slot_at timestamp with time zone, through_at timestamp with time zone, slot_count integer, status text, execution_id uuid, execution_status text, action_result bigint, recorded_at timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT ss.id, ss.slot_at, ss.through_at, ss.slot_count, ss.status, ss.execution_id, e.status, ss.action_result,
         ss.recorded_at
    FROM aries.schedule_slots ss
    LEFT JOIN aries.executions e ON e.id = ss.execution_id
   WHERE ss.schedule_name = p_name
   ORDER BY ss.id DESC
   LIMIT p_limit
$$;

--
-- Name: read_step_records(uuid, integer, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.read_step_records(p_execution_id uuid, p_from_seq integer, p_to_seq integer) RETURNS TABLE(seq integer, step_key text, kind text, status text, attempt integer, output_lsn bigint, output jsonb, output_is_null boolean, record_found boolean, record_ok boolean, error jsonb, compensation_status text, compensation_attempt integer, compensation_attempt_base integer, wait_lsn bigint)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT s.seq, s.step_key, s.kind, s.status, s.attempt, s.output_lsn, j.payload,
         CASE WHEN s.status = 'COMPLETED' THEN j.payload IS NULL END, j.lsn IS NOT NULL,
         coalesce(j.execution_id = s.execution_id AND j.kind = 'step_completed' AND j.seq = s.seq
                  AND j.step_key = s.step_key AND j.attempt = s.attempt
                  AND j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                                          j.attempt, j.payload), false),
         s.error, s.compensation_status, s.compensation_attempt, s.compensation_attempt_base,
         (SELECT wt.resolved_lsn FROM aries.waits wt
           WHERE s.kind IN ('sleep', 'signal', 'child') AND wt.execution_id = s.execution_id AND wt.step_key = s.step_key)
    FROM aries.steps s
    LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id AND s.seq >= p_from_seq AND s.seq < p_to_seq
   ORDER BY s.seq
$$;

--
-- Name: record_compensation(uuid, bigint, text, text, integer, jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.record_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_event text, p_attempt integer DEFAULT NULL::integer, p_payload jsonb DEFAULT NULL::jsonb) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: record_failure(uuid, text, text, text, jsonb, text, integer, jsonb, boolean, uuid); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.record_failure(p_execution_id uuid, p_failure_type text, p_strategy text, p_source text, p_error jsonb, p_step_key text DEFAULT NULL::text, p_attempt integer DEFAULT NULL::integer, p_details jsonb DEFAULT NULL::jsonb, p_retries_exhausted boolean DEFAULT false, p_checkpoint_id uuid DEFAULT NULL::uuid) RETURNS uuid
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source, step_key,
                              attempt, error_class, stack, details, retries_exhausted, checkpoint_id)
  VALUES (p_execution_id, p_failure_type, coalesce(p_error ->> 'message', 'unknown error'), p_strategy, p_source,
          p_step_key, p_attempt, p_error ->> 'name', p_error ->> 'stack', coalesce(p_details, p_error -> 'details'),
          p_retries_exhausted, p_checkpoint_id)
  RETURNING failure_id
$$;

--
-- Name: record_steps(uuid, bigint, jsonb, integer, text, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.record_steps(p_execution_id uuid, p_token bigint, p_completed jsonb, p_start_seq integer DEFAULT NULL::integer, p_start_key text DEFAULT NULL::text, p_start_kind text DEFAULT 'step'::text) RETURNS integer
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: record_steps_batch(jsonb); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.record_steps_batch(p_requests jsonb) RETURNS TABLE(execution_id uuid, attempt integer, error_code text, error_message text)
    LANGUAGE plpgsql
    SET search_path TO ''
    SET plan_cache_mode TO 'force_generic_plan'
    AS $_$
DECLARE
  v_one_each boolean;
  v_rounds jsonb[];
  v_round jsonb;
  v_req jsonb;
  v_done record;
  v_id uuid[] := '{}';
  v_attempt integer[] := '{}';
  v_code text[] := '{}';
  v_message text[] := '{}';
  v_recorded integer := 0;
  v_started boolean := false;
  v_finishing boolean := p_requests @? '$[*].finish';
BEGIN
  SELECT pg_catalog.count(*) = pg_catalog.jsonb_array_length(p_requests) INTO v_one_each
    FROM (SELECT DISTINCT (a.r ->> 'execution_id')::uuid AS id FROM pg_catalog.jsonb_array_elements(p_requests) a (r)
           ORDER BY 1) i
    LEFT JOIN LATERAL (SELECT 1 FROM aries.executions e WHERE e.id = i.id FOR UPDATE) l ON true;
  IF v_one_each THEN
    v_rounds := ARRAY[p_requests];
  ELSE
    v_rounds := ARRAY(
      SELECT pg_catalog.jsonb_agg(a.r ORDER BY a.pos)
        FROM (SELECT a.r, a.pos,
                     pg_catalog.row_number() OVER (PARTITION BY (a.r ->> 'execution_id')::uuid ORDER BY a.pos) AS round
                FROM pg_catalog.jsonb_array_elements(p_requests) WITH ORDINALITY a (r, pos)) a
       GROUP BY a.round ORDER BY a.round);
  END IF;
  FOREACH v_round IN ARRAY v_rounds LOOP
    BEGIN
      v_done := aries.apply_step_requests(v_round);
      IF v_finishing THEN
        v_recorded := v_recorded + aries.finish_executions(v_round, ARRAY(
          SELECT u.id FROM ROWS FROM (pg_catalog.unnest(v_done.execution_ids), pg_catalog.unnest(v_done.error_codes)) u (id, code)
           WHERE u.code IS NULL));
      END IF;
      v_id := v_id || v_done.execution_ids;
      v_attempt := v_attempt || v_done.attempts;
      v_code := v_code || v_done.error_codes;
      v_message := v_message || v_done.error_messages;
      v_recorded := v_recorded + v_done.recorded;
      v_started := v_started OR v_done.started;
    EXCEPTION WHEN OTHERS THEN
      FOR v_req IN SELECT a.r FROM pg_catalog.jsonb_array_elements(v_round) a (r)
                    ORDER BY (a.r ->> 'execution_id')::uuid LOOP
        BEGIN
          v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(v_req));
          IF v_req ? 'finish' AND v_done.error_codes[1] IS NULL THEN
            v_recorded := v_recorded + aries.finish_executions(pg_catalog.jsonb_build_array(v_req), v_done.execution_ids);
          END IF;
          v_id := v_id || v_done.execution_ids;
          v_attempt := v_attempt || v_done.attempts;
          v_code := v_code || v_done.error_codes;
          v_message := v_message || v_done.error_messages;
          v_recorded := v_recorded + v_done.recorded;
          v_started := v_started OR v_done.started;
        EXCEPTION WHEN OTHERS THEN
          v_id := v_id || (v_req ->> 'execution_id')::uuid;
          v_attempt := v_attempt || NULL::integer;
          v_code := v_code || SQLSTATE;
          v_message := v_message || SQLERRM;
        END;
      END LOOP;
    END;
  END LOOP;
  IF v_finishing AND 'AR002' = ANY (v_code) THEN
    SELECT pg_catalog.array_agg(CASE WHEN d.done THEN NULL ELSE u.code END ORDER BY u.n),
           pg_catalog.array_agg(CASE WHEN d.done THEN NULL ELSE u.message END ORDER BY u.n)
      INTO v_code, v_message
      FROM ROWS FROM (pg_catalog.unnest(v_id), pg_catalog.unnest(v_code), pg_catalog.unnest(v_message))
           WITH ORDINALITY u (id, code, message, n)
      LEFT JOIN LATERAL (
        SELECT true AS done FROM pg_catalog.jsonb_array_elements(p_requests) a (r)
         WHERE u.code = 'AR002' AND a.r ? 'finish' AND (a.r ->> 'execution_id')::uuid = u.id
           AND EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = u.id AND e.lease_token = (a.r ->> 'token')::bigint
                          AND e.status IN ('COMPLETED', 'SUB_COMMITTED'))
         LIMIT 1) d ON true;
  END IF;
  IF v_recorded = 0 AND v_started THEN
    PERFORM aries.commit_intents_asynchronously();
  END IF;
  RETURN QUERY
  SELECT u.id, u.attempt, u.code, u.message
    FROM ROWS FROM (pg_catalog.unnest(v_id), pg_catalog.unnest(v_attempt), pg_catalog.unnest(v_code),
                    pg_catalog.unnest(v_message)) WITH ORDINALITY u (id, attempt, code, message, n)
   ORDER BY u.id, u.n;
END $_$;

--
-- Name: record_steps_durably(jsonb, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.record_steps_durably(p_requests jsonb, p_durability text DEFAULT 'on'::text) RETURNS TABLE(execution_id uuid, attempt integer, error_code text, error_message text)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  PERFORM aries.apply_durability(p_durability);
  RETURN QUERY SELECT * FROM aries.record_steps_batch(p_requests);
END $$;

--
-- Name: recover_from_failure(uuid, text, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.recover_from_failure(p_execution_id uuid, p_failure_type text DEFAULT NULL::text, p_recovered_by text DEFAULT 'operator'::text) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: recovery_checkpoint(uuid, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.recovery_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL::bigint) RETURNS TABLE(checkpoint_id uuid, lsn bigint, state_data jsonb)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: refuse_execution_born_running(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.refuse_execution_born_running() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  RAISE EXCEPTION 'an execution is created PENDING, not % (its other statuses are reached by transitions)', NEW.status
    USING ERRCODE = 'AR003';
END $$;

--
-- Name: refuse_journal_change(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.refuse_journal_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (% of lsn %)', pg_catalog.lower(TG_OP), OLD.lsn USING ERRCODE = 'AR008';
END $$;

--
-- Name: refuse_journal_delete(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.refuse_journal_delete() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_lsn bigint;
BEGIN
  SELECT g.lsn INTO v_lsn
    FROM (SELECT DISTINCT ON (d.execution_id) d.execution_id, d.lsn FROM deleted_records d) g
   WHERE EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = g.execution_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the journal is append-only (delete of lsn %)', v_lsn USING ERRCODE = 'AR008';
  END IF;
  RETURN NULL;
END $$;

--
-- Name: refuse_journal_truncate(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.refuse_journal_truncate() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (truncate)' USING ERRCODE = 'AR008';
END $$;

--
-- Name: refuse_late_step(uuid, text, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.refuse_late_step(p_execution_id uuid, p_step_key text, p_deadline timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF pg_catalog.clock_timestamp() > p_deadline THEN
    RAISE EXCEPTION 'step "%" of execution % is past its deadline (%): its attempt timed out and is not committed',
      p_step_key, p_execution_id, p_deadline USING ERRCODE = 'AR012';
  END IF;
END $$;

--
-- Name: refuse_step_undone(); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.refuse_step_undone() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  IF OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK') THEN
    RAISE EXCEPTION 'step "%" of execution % is COMPLETED: it cannot become % (only a rollback voids it)',
      OLD.step_key, OLD.execution_id, NEW.status USING ERRCODE = 'AR003';
  END IF;
  RAISE EXCEPTION 'the compensation of step "%" of execution % completed: it cannot become %', OLD.step_key,
    OLD.execution_id, coalesce(NEW.compensation_status, 'NULL') USING ERRCODE = 'AR003';
END $$;

--
-- Name: register_queue(text, integer, integer, integer, integer, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.register_queue(p_name text, p_concurrency integer DEFAULT NULL::integer, p_worker_concurrency integer DEFAULT NULL::integer, p_key_concurrency integer DEFAULT NULL::integer, p_rate_limit integer DEFAULT NULL::integer, p_rate_period_ms bigint DEFAULT NULL::bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  PERFORM aries.check_queue_limits(p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit,
                                   p_rate_period_ms);
  IF (p_rate_limit IS NULL) <> (p_rate_period_ms IS NULL) THEN
    RAISE EXCEPTION 'queue "%": a rate limit needs both limit and periodMs', p_name USING ERRCODE = 'AR011';
  END IF;
  INSERT INTO aries.queues AS q (name, concurrency, worker_concurrency, key_concurrency, rate_limit, rate_period_ms)
  VALUES (p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit, p_rate_period_ms)
  ON CONFLICT (name) DO UPDATE
     SET concurrency = excluded.concurrency, worker_concurrency = excluded.worker_concurrency,
         key_concurrency = excluded.key_concurrency, rate_limit = excluded.rate_limit,
         rate_period_ms = excluded.rate_period_ms, updated_at = aries.now()
   WHERE q.source = 'definition'
     AND (q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit, q.rate_period_ms)
         IS DISTINCT FROM (excluded.concurrency, excluded.worker_concurrency, excluded.key_concurrency,
                           excluded.rate_limit, excluded.rate_period_ms);
END $$;

--
-- Name: register_retention_policy(text, bigint, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.register_retention_policy(p_workflow text, p_finished_ms bigint, p_idempotency_keys_ms bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
BEGIN
  PERFORM aries.check_retention_durations(p_finished_ms, p_idempotency_keys_ms);
  IF p_finished_ms IS NULL AND p_idempotency_keys_ms IS NULL THEN
    DELETE FROM aries.retention_policies p WHERE p.workflow_name = p_workflow AND p.source = 'definition';
    RETURN;
  END IF;
  INSERT INTO aries.retention_policies AS p (workflow_name, finished_ms, idempotency_keys_ms, source)
  VALUES (p_workflow, p_finished_ms, p_idempotency_keys_ms, 'definition')
  ON CONFLICT (workflow_name) DO UPDATE
    SET finished_ms = excluded.finished_ms, idempotency_keys_ms = excluded.idempotency_keys_ms,
        updated_at = aries.now()
    WHERE p.source = 'definition'
      AND (p.finished_ms, p.idempotency_keys_ms) IS DISTINCT FROM (excluded.finished_ms, excluded.idempotency_keys_ms);
END $$;

--
-- Name: register_worker(text, text, integer, text[], integer, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.register_worker(p_worker_id text, p_host text, p_pid integer, p_workflows text[], p_concurrency integer, p_lease_ms integer) RETURNS timestamp with time zone
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  DELETE FROM aries.workers w
   WHERE w.worker_id <> p_worker_id
     AND coalesce(w.stopped_at, w.heartbeat_at)
         < v_now - greatest(interval '1 hour', 10 * w.lease_ms * interval '1 millisecond');
  INSERT INTO aries.workers AS w (worker_id, host, pid, workflows, concurrency, lease_ms, started_at, heartbeat_at)
  VALUES (p_worker_id, p_host, p_pid, p_workflows, p_concurrency, p_lease_ms, v_now, v_now)
  ON CONFLICT (worker_id) DO UPDATE
     SET host = excluded.host, pid = excluded.pid, workflows = excluded.workflows,
         concurrency = excluded.concurrency, lease_ms = excluded.lease_ms, started_at = v_now,
         heartbeat_at = v_now, stopped_at = NULL;
  RETURN v_now;
END $$;

--
-- Name: register_workflow(text, text, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.register_workflow(p_name text, p_version text, p_queue text DEFAULT NULL::text) RETURNS void
    LANGUAGE sql
    SET search_path TO ''
    AS $$
  INSERT INTO aries.workflows (name, version, queue_name) VALUES (p_name, p_version, p_queue)
  ON CONFLICT (name, version) DO UPDATE SET last_seen_at = pg_catalog.now(), queue_name = excluded.queue_name
$$;

--
-- Name: release_execution(uuid, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.release_execution(p_execution_id uuid, p_token bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: renew_leases(text, uuid[], bigint[], integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.renew_leases(p_worker text, p_ids uuid[], p_tokens bigint[], p_lease_ms integer) RETURNS TABLE(id uuid)
    LANGUAGE sql
    SET search_path TO ''
    AS $$
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

--
-- Name: resolve_queue(text, text, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.resolve_queue(p_workflow text, p_version text, p_queue text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
DECLARE
  v_queue text := p_queue;
BEGIN
  IF v_queue IS NULL THEN
    SELECT w.queue_name INTO v_queue FROM aries.workflows w WHERE w.name = p_workflow AND w.version = p_version;
  END IF;
  IF v_queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM aries.queues q WHERE q.name = v_queue) THEN
    RAISE EXCEPTION 'unknown queue "%" (starting workflow "%")', v_queue, p_workflow USING ERRCODE = 'AR013',
      HINT = 'define it with defineQueue and start through the SDK, or create it with aries.register_queue';
  END IF;
  RETURN v_queue;
END $$;

--
-- Name: resolve_workflow_version(text, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.resolve_workflow_version(p_workflow text, p_version text) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO ''
    AS $$
DECLARE
  v_version text := p_version;
BEGIN
  IF v_version IS NULL THEN
    SELECT w.version INTO v_version FROM aries.workflows w WHERE w.name = p_workflow
    ORDER BY w.registered_at DESC, w.version DESC LIMIT 1;
  END IF;
  IF v_version IS NULL OR NOT EXISTS (SELECT 1 FROM aries.workflows w
                                      WHERE w.name = p_workflow AND w.version = v_version) THEN
    RAISE EXCEPTION 'unknown workflow "%"%', p_workflow,
      CASE WHEN p_version IS NULL THEN '' ELSE ' version "' || p_version || '"' END
      USING ERRCODE = 'AR004',
            HINT = 'start a worker whose modules export it (workers register their workflows), or check the name';
  END IF;
  RETURN v_version;
END $$;

--
-- Name: resume_schedule(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.resume_schedule(p_name text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  UPDATE aries.schedules s SET paused = false, updated_at = GREATEST(aries.now(), s.created_at)
   WHERE s.name = p_name;
  RETURN v.paused;
END $$;

--
-- Name: retained_execution(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.retained_execution(p_idempotency_key text) RETURNS TABLE(execution_id uuid, workflow_name text, status text)
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT k.execution_id, k.workflow_name, k.status
    FROM aries.retained_idempotency_keys k
   WHERE k.idempotency_key = p_idempotency_key AND k.expires_at > aries.now()
$$;

--
-- Name: retry_compensation(uuid, bigint, text, integer, jsonb, integer, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.retry_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_attempt integer, p_error jsonb, p_delay_ms integer, p_source text) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: retry_step(uuid, bigint, integer, text, integer, jsonb, integer, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.retry_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_attempt integer, p_error jsonb, p_delay_ms integer, p_source text) RETURNS timestamp with time zone
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
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

--
-- Name: rollback_to_checkpoint(uuid, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.rollback_to_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL::bigint) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_checkpoint record;
  v_keys jsonb;
  v_state jsonb;
  v_lsn bigint;
  v_completed integer;
  v_target uuid;
BEGIN
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id, p_before_lsn);
  SELECT CASE WHEN k.step_progress ? 'rolled_back_to' THEN (k.step_progress ->> 'rolled_back_to')::uuid
              ELSE k.checkpoint_id END
    INTO v_target FROM aries.checkpoints k WHERE k.checkpoint_id = v_checkpoint.checkpoint_id;
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
             pg_catalog.jsonb_build_object('checkpoint_id', v_target,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'rolled_back', v_keys));
  v_state := coalesce(v_checkpoint.state_data, pg_catalog.jsonb_build_object('completed_steps', 0));
  INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum)
  VALUES (p_execution_id, v_lsn, v_state,
          pg_catalog.jsonb_build_object('completed', v_completed, 'rolled_back_to', v_target),
          aries.checkpoint_checksum(p_execution_id, v_lsn, v_state));
  UPDATE aries.executions e SET last_lsn = v_lsn, step_count = v_completed, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_target;
END $$;

--
-- Name: run_schedule_action(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.run_schedule_action(p_action text) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  CASE p_action
    WHEN 'auto_recover_failures' THEN RETURN aries.auto_recover_failures();
    WHEN 'purge_finished' THEN RETURN (SELECT p.executions FROM aries.purge_finished() p);
    ELSE RAISE EXCEPTION 'unknown schedule action "%"', p_action USING ERRCODE = 'AR011';
  END CASE;
END $$;

--
-- Name: schedule_slot_key(text, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.schedule_slot_key(p_name text, p_slot_at timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  SELECT 'aries:schedule:' || p_name || ':'
         || pg_catalog.to_char(p_slot_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

--
-- Name: send_signal(uuid, text, jsonb, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.send_signal(p_execution_id uuid, p_name text, p_payload jsonb DEFAULT NULL::jsonb, p_idempotency_key text DEFAULT NULL::text) RETURNS TABLE(signal_id bigint, duplicate boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.executions;
  v_id bigint;
  v_lsn bigint;
BEGIN
  IF p_name IS NULL OR p_name = '' THEN
    RAISE EXCEPTION 'a signal needs a non-empty name' USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_key = '' THEN
    RAISE EXCEPTION 'a signal''s idempotency key must not be empty' USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF p_idempotency_key IS NOT NULL THEN
    SELECT sg.id INTO v_id FROM aries.signals sg
     WHERE sg.execution_id = p_execution_id AND sg.idempotency_key = p_idempotency_key;
    IF FOUND THEN
      RETURN QUERY SELECT v_id, true;
      RETURN;
    END IF;
  END IF;
  IF v.status IN ('COMPLETED', 'SUB_COMMITTED', 'COMPENSATED', 'CANCELLED') THEN
    RAISE EXCEPTION 'execution % is % and cannot receive signal "%": it is finished', p_execution_id, v.status, p_name
      USING ERRCODE = 'AR003';
  END IF;
  INSERT INTO aries.signals (execution_id, name, payload, idempotency_key)
  VALUES (p_execution_id, p_name, p_payload, p_idempotency_key)
  RETURNING id INTO v_id;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'signal_received', NULL, NULL, NULL,
    pg_catalog.jsonb_build_object('signal', p_name, 'signalId', v_id, 'payload', p_payload,
                                  'idempotencyKey', p_idempotency_key));
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  IF v.status = 'WAITING' AND EXISTS (SELECT 1 FROM aries.waits wt
                                       WHERE wt.execution_id = p_execution_id AND wt.signal_name = p_name
                                         AND wt.resolved_at IS NULL) THEN
    PERFORM aries.wake_execution(p_execution_id);
  END IF;
  RETURN QUERY SELECT v_id, false;
END $$;

--
-- Name: set_queue(text, integer, integer, integer, integer, bigint, boolean, text[]); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.set_queue(p_name text, p_concurrency integer DEFAULT NULL::integer, p_worker_concurrency integer DEFAULT NULL::integer, p_key_concurrency integer DEFAULT NULL::integer, p_rate_limit integer DEFAULT NULL::integer, p_rate_period_ms bigint DEFAULT NULL::bigint, p_paused boolean DEFAULT NULL::boolean, p_clear text[] DEFAULT '{}'::text[]) RETURNS SETOF aries.queues
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_queue aries.queues;
  v_clear text[] := coalesce(p_clear, '{}');
  v_bad text;
BEGIN
  PERFORM aries.check_queue_limits(p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit,
                                   p_rate_period_ms);
  SELECT c INTO v_bad FROM pg_catalog.unnest(v_clear) c
   WHERE c IS NULL OR c NOT IN ('concurrency', 'worker_concurrency', 'key_concurrency', 'rate_limit') LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'queue "%": cannot clear %; the limits are concurrency, worker_concurrency, key_concurrency and rate_limit',
      p_name, coalesce(pg_catalog.quote_literal(v_bad), 'NULL') USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_queue FROM aries.queues q WHERE q.name = p_name FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown queue "%"', p_name USING ERRCODE = 'AR013',
      HINT = 'a queue exists once defineQueue''s workflow was started or served by a worker, or aries.register_queue created it';
  END IF;
  v_queue.concurrency := CASE WHEN 'concurrency' = ANY (v_clear) THEN NULL ELSE coalesce(p_concurrency, v_queue.concurrency) END;
  v_queue.worker_concurrency := CASE WHEN 'worker_concurrency' = ANY (v_clear) THEN NULL
                                     ELSE coalesce(p_worker_concurrency, v_queue.worker_concurrency) END;
  v_queue.key_concurrency := CASE WHEN 'key_concurrency' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(p_key_concurrency, v_queue.key_concurrency) END;
  IF 'rate_limit' = ANY (v_clear) THEN
    v_queue.rate_limit := NULL;
    v_queue.rate_period_ms := NULL;
  ELSE
    v_queue.rate_limit := coalesce(p_rate_limit, v_queue.rate_limit);
    v_queue.rate_period_ms := coalesce(p_rate_period_ms, v_queue.rate_period_ms);
  END IF;
  IF (v_queue.rate_limit IS NULL) <> (v_queue.rate_period_ms IS NULL) THEN
    RAISE EXCEPTION 'queue "%": a rate limit needs both limit and periodMs', p_name USING ERRCODE = 'AR011';
  END IF;
  RETURN QUERY
  UPDATE aries.queues q
     SET concurrency = v_queue.concurrency, worker_concurrency = v_queue.worker_concurrency,
         key_concurrency = v_queue.key_concurrency, rate_limit = v_queue.rate_limit,
         rate_period_ms = v_queue.rate_period_ms, paused = coalesce(p_paused, q.paused), source = 'operator',
         updated_at = aries.now()
   WHERE q.name = p_name
  RETURNING q.*;
END $$;

--
-- Name: set_retention_policy(text, bigint, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.set_retention_policy(p_workflow text, p_finished_ms bigint, p_idempotency_keys_ms bigint) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
BEGIN
  PERFORM aries.check_retention_durations(p_finished_ms, p_idempotency_keys_ms);
  IF p_workflow = '' OR p_workflow = '*' THEN
    RAISE EXCEPTION 'a retention policy names a workflow, or NULL for the default, not "%"', p_workflow
      USING ERRCODE = 'AR011';
  END IF;
  INSERT INTO aries.retention_policies AS p (workflow_name, finished_ms, idempotency_keys_ms, source)
  VALUES (coalesce(p_workflow, '*'), p_finished_ms, p_idempotency_keys_ms, 'operator')
  ON CONFLICT (workflow_name) DO UPDATE
    SET finished_ms = excluded.finished_ms, idempotency_keys_ms = excluded.idempotency_keys_ms,
        source = 'operator', updated_at = aries.now();
END $$;

--
-- Name: signal_with_start(text, text, jsonb, text, text, jsonb, text, bigint, text, text, integer, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.signal_with_start(p_workflow text, p_version text, p_input jsonb, p_idempotency_key text, p_signal_name text, p_payload jsonb DEFAULT NULL::jsonb, p_signal_idempotency_key text DEFAULT NULL::text, p_timeout_ms bigint DEFAULT NULL::bigint, p_queue text DEFAULT NULL::text, p_queue_key text DEFAULT NULL::text, p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL::bigint) RETURNS TABLE(execution_id uuid, created boolean, signal_id bigint, duplicate boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_started record;
  v_signal record;
BEGIN
  IF p_idempotency_key IS NULL OR p_idempotency_key = '' THEN
    RAISE EXCEPTION 'signal-with-start needs the idempotency key that names the execution' USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_started FROM aries.start_execution(p_workflow, p_version, p_input, p_idempotency_key, p_timeout_ms,
                                                           p_queue, p_queue_key, p_priority, p_delay_ms,
                                                           p_input_must_match => false);
  SELECT * INTO v_signal FROM aries.send_signal(v_started.execution_id, p_signal_name, p_payload, p_signal_idempotency_key);
  RETURN QUERY SELECT v_started.execution_id, v_started.created, v_signal.signal_id, v_signal.duplicate;
END $$;

--
-- Name: start_child(uuid, bigint, integer, text, text, text, jsonb, double precision, text, bigint); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.start_child(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_workflow text, p_version text, p_input jsonb, p_timeout_ms double precision DEFAULT NULL::double precision, p_parent_close text DEFAULT 'cancel'::text, p_child_timeout_ms bigint DEFAULT NULL::bigint) RETURNS uuid
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_child uuid := aries.child_execution_id(p_execution_id, p_step_key);
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
BEGIN
  IF p_parent_close IS NULL OR p_parent_close NOT IN ('cancel', 'abandon') THEN
    RAISE EXCEPTION 'child "%": parentClose must be ''cancel'' or ''abandon'', got %', p_step_key,
      coalesce(p_parent_close, 'NULL') USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.begin_wait(p_execution_id, p_token, p_seq, p_step_key, 'child', p_timeout_ms, NULL, NULL, v_child);
  PERFORM aries.create_execution(v_child, p_workflow, v_version, p_input, NULL, p_child_timeout_ms, p_execution_id,
                                 p_step_key, p_parent_close, aries.resolve_queue(p_workflow, v_version, NULL));
  UPDATE aries.executions e SET has_children = true WHERE e.id = p_execution_id AND NOT e.has_children;
  RETURN v_child;
END $$;

--
-- Name: start_execution(text, text, jsonb, text, bigint, text, text, integer, bigint, text, bigint, bigint, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb, p_idempotency_key text DEFAULT NULL::text, p_timeout_ms bigint DEFAULT NULL::bigint, p_queue text DEFAULT NULL::text, p_queue_key text DEFAULT NULL::text, p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL::bigint, p_debounce_key text DEFAULT NULL::text, p_debounce_delay_ms bigint DEFAULT NULL::bigint, p_debounce_max_delay_ms bigint DEFAULT NULL::bigint, p_input_must_match boolean DEFAULT true) RETURNS TABLE(execution_id uuid, created boolean, status text, debounced boolean)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
  v_queue text;
  v_id uuid := gen_random_uuid();
  v_existing record;
BEGIN
  PERFORM aries.check_start_placement(p_queue, p_queue_key, p_delay_ms);
  v_queue := aries.resolve_queue(p_workflow, v_version, p_queue);
  IF v_queue IS NULL AND (p_queue_key IS NOT NULL OR coalesce(p_priority, 0) <> 0) THEN
    RAISE EXCEPTION 'workflow "%" has no queue: a queue key or priority needs one (name it in the start or in the workflow)',
      p_workflow USING ERRCODE = 'AR011';
  END IF;
  IF p_debounce_key IS NOT NULL OR p_debounce_delay_ms IS NOT NULL OR p_debounce_max_delay_ms IS NOT NULL THEN
    IF p_idempotency_key IS NOT NULL THEN
      RAISE EXCEPTION 'a start cannot be both debounced and idempotent (debounce with idempotencyKey "%")',
        p_idempotency_key USING ERRCODE = 'AR011';
    END IF;
    RETURN QUERY SELECT * FROM aries.debounce_start(p_workflow, v_version, p_input, p_timeout_ms, v_queue,
                                                    p_queue_key, p_priority, p_debounce_key, p_debounce_delay_ms,
                                                    p_debounce_max_delay_ms);
    RETURN;
  END IF;
  IF aries.create_execution(v_id, p_workflow, v_version, p_input, p_idempotency_key, p_timeout_ms,
                            p_queue => v_queue, p_queue_key => p_queue_key, p_priority => p_priority,
                            p_available_at => aries.now() + coalesce(p_delay_ms, 0) * interval '1 millisecond') THEN
    RETURN QUERY SELECT v_id, true, 'PENDING'::text, false;
    RETURN;
  END IF;
  SELECT e.id, e.workflow_name, e.status, e.input, true AS has_input INTO v_existing
  FROM aries.executions e WHERE e.idempotency_key = p_idempotency_key;
  IF NOT FOUND THEN
    SELECT r.execution_id AS id, r.workflow_name, r.status, NULL::jsonb AS input, false AS has_input INTO v_existing
      FROM aries.retained_execution(p_idempotency_key) r;
  END IF;
  IF v_existing.workflow_name <> p_workflow THEN
    RAISE EXCEPTION 'idempotency key "%" already started an execution of workflow "%", not "%"',
      p_idempotency_key, v_existing.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;
  IF p_input_must_match AND v_existing.has_input AND v_existing.input IS DISTINCT FROM p_input THEN
    RAISE EXCEPTION 'idempotency key "%" already started execution % with a different input',
      p_idempotency_key, v_existing.id USING ERRCODE = 'AR007',
      DETAIL = pg_catalog.format('execution_id=%s', v_existing.id);
  END IF;
  RETURN QUERY SELECT v_existing.id, false, v_existing.status, false;
END $$;

--
-- Name: start_executions(text, text, jsonb, jsonb, bigint, text, text, integer, bigint, boolean); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.start_executions(p_workflow text, p_version text, p_inputs jsonb, p_idempotency_keys jsonb DEFAULT NULL::jsonb, p_timeout_ms bigint DEFAULT NULL::bigint, p_queue text DEFAULT NULL::text, p_queue_key text DEFAULT NULL::text, p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL::bigint, p_input_must_match boolean DEFAULT true) RETURNS TABLE(ord integer, execution_id uuid, created boolean, status text)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO ''
    AS $$
DECLARE
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
  v_queue text;
  v_count integer;
  v_bad record;
  v_inputs jsonb[];
  v_key_values jsonb[];
  v_keys text[];
  v_ids uuid[];
  v_created uuid[];
  v_created_lsns bigint[];
  v_created_inputs jsonb[];
  v_now timestamptz := aries.now();
BEGIN
  IF p_inputs IS NULL OR pg_catalog.jsonb_typeof(p_inputs) <> 'array' THEN
    RAISE EXCEPTION 'start_executions needs its inputs as a JSON array' USING ERRCODE = 'AR011';
  END IF;
  v_count := pg_catalog.jsonb_array_length(p_inputs);
  IF p_idempotency_keys IS NOT NULL AND (pg_catalog.jsonb_typeof(p_idempotency_keys) <> 'array'
                                         OR pg_catalog.jsonb_array_length(p_idempotency_keys) <> v_count) THEN
    RAISE EXCEPTION 'start_executions needs one idempotency key (or null) per input: % input(s)', v_count
      USING ERRCODE = 'AR011';
  END IF;
  IF p_timeout_ms IS NOT NULL AND p_timeout_ms <= 0 THEN
    RAISE EXCEPTION 'an execution''s timeout must be a positive number of milliseconds, got %', p_timeout_ms
      USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.check_start_placement(p_queue, p_queue_key, p_delay_ms);
  v_queue := aries.resolve_queue(p_workflow, v_version, p_queue);
  IF v_queue IS NULL AND (p_queue_key IS NOT NULL OR coalesce(p_priority, 0) <> 0) THEN
    RAISE EXCEPTION 'workflow "%" has no queue: a queue key or priority needs one (name it in the start or in the workflow)',
      p_workflow USING ERRCODE = 'AR011';
  END IF;

  SELECT pg_catalog.array_agg(i.input ORDER BY i.ord), pg_catalog.array_agg(p_idempotency_keys -> (i.ord::integer - 1) ORDER BY i.ord)
    INTO v_inputs, v_key_values
    FROM pg_catalog.jsonb_array_elements(p_inputs) WITH ORDINALITY AS i(input, ord);
  SELECT k.ord INTO v_bad FROM pg_catalog.unnest(v_key_values) WITH ORDINALITY AS k(key, ord)
   WHERE k.key IS NOT NULL AND k.key <> 'null'::jsonb
     AND (pg_catalog.jsonb_typeof(k.key) <> 'string' OR k.key #>> '{}' = '' OR pg_catalog.length(k.key #>> '{}') > 200)
   ORDER BY k.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: an idempotency key must be a string of 1 to 200 characters', v_bad.ord
      USING ERRCODE = 'AR011';
  END IF;
  SELECT pg_catalog.array_agg(k.key #>> '{}' ORDER BY k.ord), pg_catalog.array_agg(gen_random_uuid())
    INTO v_keys, v_ids
    FROM pg_catalog.unnest(v_key_values) WITH ORDINALITY AS k(key, ord);

  -- A key given twice: the first item names the execution; a later one with another input is a conflict.
  SELECT w.ord, w.key, w.first_ord INTO v_bad
    FROM (SELECT i.ord, i.key, i.input,
                 pg_catalog.first_value(i.ord) OVER (PARTITION BY i.key ORDER BY i.ord) AS first_ord,
                 pg_catalog.first_value(i.input) OVER (PARTITION BY i.key ORDER BY i.ord) AS first_input
            FROM ROWS FROM (pg_catalog.unnest(v_inputs), pg_catalog.unnest(v_keys)) WITH ORDINALITY AS i(input, key, ord)
           WHERE i.key IS NOT NULL) w
   WHERE p_input_must_match AND w.ord > w.first_ord AND w.input IS DISTINCT FROM w.first_input
   ORDER BY w.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: idempotency key "%" is given to item % too, with a different input',
      v_bad.ord, v_bad.key, v_bad.first_ord USING ERRCODE = 'AR007';
  END IF;

  WITH items AS (
    SELECT * FROM ROWS FROM (pg_catalog.unnest(v_inputs), pg_catalog.unnest(v_keys), pg_catalog.unnest(v_ids)) WITH ORDINALITY AS s(input, key, id, ord)
  ), firsts AS (
    SELECT DISTINCT ON (coalesce(s.key, s.id::text)) s.* FROM items s ORDER BY coalesce(s.key, s.id::text), s.ord
  ), numbered AS (
    -- LSNs in item order (a volatile target is evaluated after the sort).
    SELECT f.*, pg_catalog.nextval('aries.journal_lsn_seq') AS lsn FROM firsts f ORDER BY f.ord
  ), inserted AS (
    INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn,
                                       deadline_at, queue_name, queue_key, priority, available_at)
    SELECT f.id, p_workflow, v_version, f.input, f.key, f.lsn,
           v_now + p_timeout_ms * interval '1 millisecond', v_queue,
           CASE WHEN v_queue IS NOT NULL THEN coalesce(p_queue_key, '') END, coalesce(p_priority, 0),
           v_now + coalesce(p_delay_ms, 0) * interval '1 millisecond'
      -- Rows go in in key order, so two batches sharing keys take the keys' index entries in the same order:
      -- one waits for the other instead of each waiting on a key the other holds (a deadlock).
      FROM (SELECT * FROM numbered ORDER BY key, ord) f
     -- An anti-join by key (a keyless item matches nothing): no OR, which would make it hash the whole table.
     WHERE NOT EXISTS (SELECT 1 FROM aries.retained_idempotency_keys k
                        WHERE k.idempotency_key = f.key AND k.expires_at > v_now)
    ON CONFLICT DO NOTHING
    RETURNING e.id, e.last_lsn, e.input
  )
  SELECT coalesce(pg_catalog.array_agg(i.id ORDER BY i.last_lsn), '{}'), coalesce(pg_catalog.array_agg(i.last_lsn ORDER BY i.last_lsn), '{}'),
         coalesce(pg_catalog.array_agg(i.input ORDER BY i.last_lsn), '{}')
    INTO v_created, v_created_lsns, v_created_inputs FROM inserted i;

  -- A purge that moved a key to the retained keys committed while the insert waited on its row: that key
  -- is taken after all, so the row just inserted (nothing refers to it yet) is taken back.
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(v_keys) k WHERE k IS NOT NULL) THEN
    WITH taken_back AS (
      DELETE FROM aries.executions e
       WHERE e.id = ANY (v_created) AND e.idempotency_key IS NOT NULL
         AND EXISTS (SELECT 1 FROM aries.retained_idempotency_keys k
                      WHERE k.idempotency_key = e.idempotency_key AND k.expires_at > v_now)
      RETURNING e.id
    )
    SELECT coalesce(pg_catalog.array_agg(c.id ORDER BY c.lsn), '{}'), coalesce(pg_catalog.array_agg(c.lsn ORDER BY c.lsn), '{}'),
           coalesce(pg_catalog.array_agg(c.input ORDER BY c.lsn), '{}')
      INTO v_created, v_created_lsns, v_created_inputs
      FROM ROWS FROM (pg_catalog.unnest(v_created), pg_catalog.unnest(v_created_lsns), pg_catalog.unnest(v_created_inputs)) c (id, lsn, input)
     WHERE c.id NOT IN (SELECT t.id FROM taken_back t);
  END IF;

  -- From what the insert returned: the rows just written are not read again.
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
  SELECT c.lsn, c.id, NULL, 'execution_started', p.payload,
         aries.journal_checksum(c.id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
    FROM ROWS FROM (pg_catalog.unnest(v_created), pg_catalog.unnest(v_created_lsns), pg_catalog.unnest(v_created_inputs)) c (id, lsn, input)
   CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', v_version,
                                                            'input', c.input) AS payload) p
   ORDER BY c.lsn;

  -- Every other keyed item: the execution its key already names (in a row, or kept after retention purged it).
  SELECT s.ord, s.key, x.id AS existing_id INTO v_bad
    FROM ROWS FROM (pg_catalog.unnest(v_inputs), pg_catalog.unnest(v_keys), pg_catalog.unnest(v_ids)) WITH ORDINALITY AS s(input, key, id, ord)
    JOIN aries.executions x ON x.idempotency_key = s.key
   WHERE s.key IS NOT NULL AND x.id <> s.id
     AND (x.workflow_name <> p_workflow OR (p_input_must_match AND x.input IS DISTINCT FROM s.input))
   ORDER BY s.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: idempotency key "%" already started execution % with a different input or workflow',
      v_bad.ord, v_bad.key, v_bad.existing_id USING ERRCODE = 'AR007',
      DETAIL = pg_catalog.format('execution_id=%s', v_bad.existing_id);
  END IF;
  SELECT s.ord, s.key, r.workflow_name INTO v_bad
    FROM pg_catalog.unnest(v_keys) WITH ORDINALITY AS s(key, ord)
    JOIN aries.retained_idempotency_keys r ON r.idempotency_key = s.key AND r.expires_at > v_now
   WHERE s.key IS NOT NULL AND r.workflow_name <> p_workflow
   ORDER BY s.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: idempotency key "%" already started an execution of workflow "%", not "%"',
      v_bad.ord, v_bad.key, v_bad.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;

  IF pg_catalog.cardinality(v_created) > 0 THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
  END IF;
  RETURN QUERY
  -- An item's own id is in the table only if its row was inserted (and not taken back): ids are new.
  SELECT s.ord::integer, coalesce(mine.id, keyed.id, r.execution_id), mine.id IS NOT NULL,
         coalesce(mine.status, keyed.status, r.status)
    FROM ROWS FROM (pg_catalog.unnest(v_keys), pg_catalog.unnest(v_ids)) WITH ORDINALITY AS s(key, id, ord)
    LEFT JOIN aries.executions mine ON mine.id = s.id
    LEFT JOIN aries.executions keyed ON mine.id IS NULL AND s.key IS NOT NULL AND keyed.idempotency_key = s.key
    LEFT JOIN aries.retained_idempotency_keys r ON mine.id IS NULL AND keyed.id IS NULL AND r.idempotency_key = s.key
                                               AND r.expires_at > v_now
   ORDER BY s.ord;
END $$;

--
-- Name: step_attempts_used(uuid, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.step_attempts_used(p_execution_id uuid, p_step_key text, OUT step_attempts integer, OUT compensation_attempts integer) RETURNS record
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT s.attempt - s.attempt_base, s.compensation_attempt - s.compensation_attempt_base
    FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
$$;

--
-- Name: step_crash_streak(uuid, text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.step_crash_streak(p_execution_id uuid, p_step_key text) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT pg_catalog.count(*)::integer FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND j.step_key = p_step_key AND j.kind = 'step_started'
     AND j.lsn > coalesce((SELECT pg_catalog.max(r.lsn) FROM aries.journal r
                            WHERE r.execution_id = p_execution_id
                              AND ((r.step_key = p_step_key AND r.kind IN ('step_retrying', 'step_failed', 'step_completed'))
                                   OR r.kind IN ('execution_recovered', 'execution_rolled_back'))), 0)
$$;

--
-- Name: step_frontier(uuid); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.step_frontier(p_execution_id uuid) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path TO ''
    AS $$
  SELECT coalesce((SELECT s.seq FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq >= 0
                    ORDER BY s.seq DESC LIMIT 1), -1)
$$;

--
-- Name: time_out_step(uuid, bigint, text, integer); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.time_out_step(p_execution_id uuid, p_token bigint, p_step_key text, p_attempt integer) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_token bigint;
BEGIN
  PERFORM aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  IF EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
                                          AND s.status = 'COMPLETED' AND s.attempt = p_attempt) THEN
    RETURN NULL;
  END IF;
  UPDATE aries.executions e SET lease_token = e.lease_token + 1, updated_at = aries.now()
   WHERE e.id = p_execution_id
  RETURNING e.lease_token INTO v_token;
  RETURN v_token;
END $$;

--
-- Name: trigger_schedule(text); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.trigger_schedule(p_name text) RETURNS TABLE(slot_id bigint, execution_id uuid, action_result bigint)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
  v_slot_id bigint;
  v_execution_id uuid;
  v_result bigint;
BEGIN
  INSERT INTO aries.schedule_slots (schedule_name, slot_at, status) VALUES (p_name, aries.now(), 'manual')
  RETURNING id INTO v_slot_id;
  IF v.sql_action IS NOT NULL THEN
    v_result := aries.run_schedule_action(v.sql_action);
  ELSE
    SELECT x.execution_id INTO v_execution_id
      FROM aries.start_execution(v.workflow_name, v.workflow_version, v.input,
                                 'aries:schedule:' || p_name || ':manual:' || v_slot_id) x;
  END IF;
  UPDATE aries.schedule_slots ss SET execution_id = v_execution_id, action_result = v_result WHERE ss.id = v_slot_id;
  RETURN QUERY SELECT v_slot_id, v_execution_id, v_result;
END $$;

--
-- Name: upsert_schedule(text, text, text, text, text, jsonb, text, bigint, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.upsert_schedule(p_name text, p_cron text, p_timezone text, p_workflow text, p_version text, p_input jsonb, p_misfire text, p_max_lateness_ms bigint, p_next_fire_at timestamp with time zone) RETURNS TABLE(created boolean, next_fire_at timestamp with time zone)
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_old aries.schedules;
BEGIN
  IF p_name IS NULL OR p_name = '' OR p_name LIKE 'aries.%' THEN
    RAISE EXCEPTION 'schedule name "%" is not allowed: it must be non-empty and not begin with "aries." (built in)',
      p_name USING ERRCODE = 'AR011';
  END IF;
  IF p_misfire IS NULL OR p_misfire NOT IN ('skip', 'once', 'all') THEN
    RAISE EXCEPTION 'misfire must be ''skip'', ''once'' or ''all'', got %', coalesce('"' || p_misfire || '"', 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF p_max_lateness_ms IS NULL OR p_max_lateness_ms <= 0 THEN
    RAISE EXCEPTION 'max_lateness_ms must be a positive number of milliseconds, got %', coalesce(p_max_lateness_ms::text, 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF p_cron IS NULL OR p_cron = '' OR p_timezone IS NULL OR p_timezone = '' OR p_next_fire_at IS NULL THEN
    RAISE EXCEPTION 'a schedule needs a cron expression, a timezone and its next fire time' USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.resolve_workflow_version(p_workflow, p_version);

  SELECT * INTO v_old FROM aries.schedules s WHERE s.name = p_name FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO aries.schedules (name, cron, timezone, workflow_name, workflow_version, input, misfire, max_lateness_ms,
                                 next_fire_at)
    VALUES (p_name, p_cron, p_timezone, p_workflow, p_version, p_input, p_misfire, p_max_lateness_ms, p_next_fire_at)
    ON CONFLICT (name) DO NOTHING;
    IF FOUND THEN
      RETURN QUERY SELECT true, p_next_fire_at;
      RETURN;
    END IF;
    -- Created meanwhile by a concurrent call: change that one.
    SELECT * INTO v_old FROM aries.schedules s WHERE s.name = p_name FOR UPDATE;
  END IF;
  IF (v_old.cron, v_old.timezone) IS DISTINCT FROM (p_cron, p_timezone) AND p_next_fire_at <= v_old.last_slot_at THEN
    RAISE EXCEPTION 'schedule "%": next fire time % is not after its last handled slot %', p_name, p_next_fire_at,
      v_old.last_slot_at USING ERRCODE = 'AR011';
  END IF;
  UPDATE aries.schedules s
     SET cron = p_cron, timezone = p_timezone, workflow_name = p_workflow, workflow_version = p_version,
         input = p_input, misfire = p_misfire, max_lateness_ms = p_max_lateness_ms,
         next_fire_at = CASE WHEN (v_old.cron, v_old.timezone) IS DISTINCT FROM (p_cron, p_timezone)
                             THEN p_next_fire_at ELSE s.next_fire_at END,
         updated_at = GREATEST(aries.now(), s.created_at)
   WHERE s.name = p_name;
  RETURN QUERY SELECT false, s.next_fire_at FROM aries.schedules s WHERE s.name = p_name;
END $$;

--
-- Name: wake_execution(uuid); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.wake_execution(p_execution_id uuid) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
DECLARE
  v_workflow text;
BEGIN
  UPDATE aries.executions e SET available_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id AND e.status IN ('SLEEPING', 'WAITING') AND e.available_at > aries.now()
  RETURNING e.workflow_name INTO v_workflow;
  IF v_workflow IS NOT NULL THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', v_workflow);
  END IF;
END $$;

--
-- Name: worker_status(timestamp with time zone, timestamp with time zone, integer, timestamp with time zone); Type: FUNCTION; Schema: aries; Owner: -
--

CREATE FUNCTION aries.worker_status(p_heartbeat_at timestamp with time zone, p_stopped_at timestamp with time zone, p_lease_ms integer, p_now timestamp with time zone) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO ''
    AS $$
  SELECT CASE WHEN p_stopped_at IS NOT NULL THEN 'stopped'
              WHEN p_heartbeat_at < p_now - 3 * p_lease_ms * interval '1 millisecond' THEN 'stale'
              ELSE 'live' END
$$;

--
-- Name: checkpoints; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.checkpoints (
    checkpoint_id uuid DEFAULT gen_random_uuid() NOT NULL,
    execution_id uuid NOT NULL,
    lsn bigint NOT NULL,
    checkpoint_time timestamp with time zone DEFAULT aries.now() NOT NULL,
    state_data jsonb NOT NULL,
    step_progress jsonb,
    checksum text NOT NULL,
    created_at timestamp with time zone DEFAULT aries.now() NOT NULL
);

--
-- Name: execution_statuses; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.execution_statuses (
    status text NOT NULL,
    terminal boolean NOT NULL
);

--
-- Name: execution_transitions; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.execution_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    CONSTRAINT execution_transitions_check CHECK ((from_status <> to_status))
);

--
-- Name: journal; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.journal (
    lsn bigint NOT NULL,
    execution_id uuid NOT NULL,
    prev_lsn bigint,
    kind text NOT NULL,
    seq integer,
    step_key text,
    attempt integer,
    payload jsonb,
    checksum text NOT NULL,
    created_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    CONSTRAINT journal_check CHECK (((prev_lsn IS NULL) OR (prev_lsn < lsn))),
    CONSTRAINT journal_kind_check CHECK ((kind = ANY (ARRAY['execution_started'::text, 'step_started'::text, 'step_completed'::text, 'step_failed'::text, 'step_retrying'::text, 'execution_completed'::text, 'execution_failed'::text, 'execution_released'::text, 'execution_rolled_back'::text, 'execution_recovered'::text, 'execution_compensating'::text, 'compensation_started'::text, 'compensation_completed'::text, 'compensation_failed'::text, 'compensation_retrying'::text, 'execution_compensated'::text, 'execution_cancelled'::text, 'step_waiting'::text, 'step_cancelled'::text, 'signal_received'::text, 'execution_suspended'::text, 'execution_sub_committed'::text, 'execution_input_replaced'::text]))),
    CONSTRAINT journal_step_fields_check CHECK ((((kind ~~ 'step_%'::text) OR (kind ~~ 'compensation_%'::text)) = ((step_key IS NOT NULL) AND (seq IS NOT NULL) AND (attempt IS NOT NULL)))),
    CONSTRAINT journal_step_fields_whole_check CHECK ((num_nulls(step_key, seq, attempt) = ANY (ARRAY[0, 3])))
);

--
-- Name: journal_lsn_seq; Type: SEQUENCE; Schema: aries; Owner: -
--

CREATE SEQUENCE aries.journal_lsn_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: purges_id_seq; Type: SEQUENCE; Schema: aries; Owner: -
--

ALTER TABLE aries.purges ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME aries.purges_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: retained_idempotency_keys; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.retained_idempotency_keys (
    idempotency_key text NOT NULL,
    workflow_name text NOT NULL,
    execution_id uuid NOT NULL,
    status text NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    CONSTRAINT retained_idempotency_keys_check CHECK ((expires_at > finished_at)),
    CONSTRAINT retained_idempotency_keys_status_check CHECK ((status = ANY (ARRAY['COMPLETED'::text, 'COMPENSATED'::text, 'CANCELLED'::text])))
);

--
-- Name: retention_policies; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.retention_policies (
    workflow_name text NOT NULL,
    finished_ms bigint,
    idempotency_keys_ms bigint,
    source text NOT NULL,
    updated_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    CONSTRAINT retention_policies_default_check CHECK (((workflow_name <> '*'::text) OR (source = 'operator'::text))),
    CONSTRAINT retention_policies_finished_ms_check CHECK ((finished_ms > 0)),
    CONSTRAINT retention_policies_idempotency_keys_ms_check CHECK ((idempotency_keys_ms > 0)),
    CONSTRAINT retention_policies_source_check CHECK ((source = ANY (ARRAY['definition'::text, 'operator'::text])))
);

--
-- Name: schedule_slots; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.schedule_slots (
    id bigint NOT NULL,
    schedule_name text NOT NULL,
    slot_at timestamp with time zone NOT NULL,
    through_at timestamp with time zone,
    slot_count integer DEFAULT 1 NOT NULL,
    status text NOT NULL,
    execution_id uuid,
    action_result bigint,
    recorded_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    CONSTRAINT schedule_slots_compact_check CHECK (((status = ANY (ARRAY['skipped'::text, 'missed'::text])) OR (slot_count = 1))),
    CONSTRAINT schedule_slots_range_check CHECK ((((through_at IS NULL) = (slot_count = 1)) AND ((through_at IS NULL) OR (through_at > slot_at)))),
    CONSTRAINT schedule_slots_run_check CHECK (((status = ANY (ARRAY['started'::text, 'manual'::text])) OR ((execution_id IS NULL) AND (action_result IS NULL)))),
    CONSTRAINT schedule_slots_slot_count_check CHECK ((slot_count >= 1)),
    CONSTRAINT schedule_slots_status_check CHECK ((status = ANY (ARRAY['started'::text, 'skipped'::text, 'missed'::text, 'manual'::text])))
);

--
-- Name: schedule_slots_id_seq; Type: SEQUENCE; Schema: aries; Owner: -
--

ALTER TABLE aries.schedule_slots ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME aries.schedule_slots_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: schema_migrations; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: signals; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.signals (
    id bigint NOT NULL,
    execution_id uuid NOT NULL,
    name text NOT NULL,
    payload jsonb,
    idempotency_key text,
    sent_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    consumed_by text,
    consumed_at timestamp with time zone,
    CONSTRAINT signals_consumed_check CHECK (((consumed_by IS NULL) = (consumed_at IS NULL))),
    CONSTRAINT signals_idempotency_key_check CHECK ((idempotency_key <> ''::text)),
    CONSTRAINT signals_name_check CHECK ((name <> ''::text))
);

--
-- Name: signals_id_seq; Type: SEQUENCE; Schema: aries; Owner: -
--

CREATE SEQUENCE aries.signals_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: signals_id_seq; Type: SEQUENCE OWNED BY; Schema: aries; Owner: -
--

ALTER SEQUENCE aries.signals_id_seq OWNED BY aries.signals.id;

--
-- Name: waits; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.waits (
    execution_id uuid NOT NULL,
    step_key text NOT NULL,
    kind text NOT NULL,
    wake_at timestamp with time zone,
    signal_name text,
    child_id uuid,
    created_at timestamp with time zone DEFAULT aries.now() NOT NULL,
    resolved_at timestamp with time zone,
    resolved_lsn bigint,
    CONSTRAINT waits_child_check CHECK (((kind = 'child'::text) = (child_id IS NOT NULL))),
    CONSTRAINT waits_kind_check CHECK ((kind = ANY (ARRAY['sleep'::text, 'signal'::text, 'child'::text]))),
    CONSTRAINT waits_resolved_check CHECK (((resolved_at IS NULL) = (resolved_lsn IS NULL))),
    CONSTRAINT waits_signal_check CHECK (((kind = 'signal'::text) = (signal_name IS NOT NULL))),
    CONSTRAINT waits_sleep_check CHECK (((kind <> 'sleep'::text) OR (wake_at IS NOT NULL)))
);

--
-- Name: workers; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.workers (
    worker_id text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    workflows text[] NOT NULL,
    concurrency integer NOT NULL,
    lease_ms integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    heartbeat_at timestamp with time zone NOT NULL,
    stopped_at timestamp with time zone,
    CONSTRAINT workers_concurrency_check CHECK ((concurrency > 0)),
    CONSTRAINT workers_lease_ms_check CHECK ((lease_ms > 0)),
    CONSTRAINT workers_stopped_check CHECK (((stopped_at IS NULL) OR (stopped_at >= started_at)))
);

--
-- Name: workflows; Type: TABLE; Schema: aries; Owner: -
--

CREATE TABLE aries.workflows (
    name text NOT NULL,
    version text NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    queue_name text,
    CONSTRAINT workflows_check CHECK (((name <> ''::text) AND (version <> ''::text)))
);

--
-- Name: signals id; Type: DEFAULT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.signals ALTER COLUMN id SET DEFAULT nextval('aries.signals_id_seq'::regclass);

--
-- Name: checkpoints checkpoints_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.checkpoints
    ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (checkpoint_id);

--
-- Name: execution_statuses execution_statuses_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.execution_statuses
    ADD CONSTRAINT execution_statuses_pkey PRIMARY KEY (status);

--
-- Name: execution_transitions execution_transitions_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.execution_transitions
    ADD CONSTRAINT execution_transitions_pkey PRIMARY KEY (from_status, to_status);

--
-- Name: executions executions_idempotency_key_key; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.executions
    ADD CONSTRAINT executions_idempotency_key_key UNIQUE (idempotency_key);

--
-- Name: executions executions_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.executions
    ADD CONSTRAINT executions_pkey PRIMARY KEY (id);

--
-- Name: failures failures_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.failures
    ADD CONSTRAINT failures_pkey PRIMARY KEY (failure_id);

--
-- Name: journal journal_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.journal
    ADD CONSTRAINT journal_pkey PRIMARY KEY (lsn);

--
-- Name: purges purges_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.purges
    ADD CONSTRAINT purges_pkey PRIMARY KEY (id);

--
-- Name: queues queues_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.queues
    ADD CONSTRAINT queues_pkey PRIMARY KEY (name);

--
-- Name: retained_idempotency_keys retained_idempotency_keys_execution_id_key; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.retained_idempotency_keys
    ADD CONSTRAINT retained_idempotency_keys_execution_id_key UNIQUE (execution_id);

--
-- Name: retained_idempotency_keys retained_idempotency_keys_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.retained_idempotency_keys
    ADD CONSTRAINT retained_idempotency_keys_pkey PRIMARY KEY (idempotency_key);

--
-- Name: retention_policies retention_policies_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.retention_policies
    ADD CONSTRAINT retention_policies_pkey PRIMARY KEY (workflow_name);

--
-- Name: schedule_slots schedule_slots_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.schedule_slots
    ADD CONSTRAINT schedule_slots_pkey PRIMARY KEY (id);

--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (name);

--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

--
-- Name: signals signals_execution_id_idempotency_key_key; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.signals
    ADD CONSTRAINT signals_execution_id_idempotency_key_key UNIQUE (execution_id, idempotency_key);

--
-- Name: signals signals_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.signals
    ADD CONSTRAINT signals_pkey PRIMARY KEY (id);

--
-- Name: steps steps_execution_id_seq_key; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.steps
    ADD CONSTRAINT steps_execution_id_seq_key UNIQUE (execution_id, seq);

--
-- Name: steps steps_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.steps
    ADD CONSTRAINT steps_pkey PRIMARY KEY (execution_id, step_key);

--
-- Name: waits waits_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.waits
    ADD CONSTRAINT waits_pkey PRIMARY KEY (execution_id, step_key);

--
-- Name: workers workers_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.workers
    ADD CONSTRAINT workers_pkey PRIMARY KEY (worker_id);

--
-- Name: workflows workflows_pkey; Type: CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.workflows
    ADD CONSTRAINT workflows_pkey PRIMARY KEY (name, version);

--
-- Name: checkpoints_execution_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX checkpoints_execution_idx ON aries.checkpoints USING btree (execution_id, lsn DESC);

--
-- Name: executions_compensating_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_compensating_idx ON aries.executions USING btree (available_at) WHERE (status = 'COMPENSATING'::text);

--
-- Name: executions_debounce_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE UNIQUE INDEX executions_debounce_idx ON aries.executions USING btree (workflow_name, debounce_key) WHERE ((status = 'PENDING'::text) AND (debounce_key IS NOT NULL));

--
-- Name: executions_finished_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_finished_idx ON aries.executions USING btree (finished_at) WHERE (finished_at IS NOT NULL);

--
-- Name: executions_lease_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_lease_idx ON aries.executions USING btree (lease_expires_at) WHERE (status = 'RUNNING'::text);

--
-- Name: executions_list_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_list_idx ON aries.executions USING btree (created_at DESC, id DESC);

--
-- Name: executions_parent_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_parent_idx ON aries.executions USING btree (parent_id) WHERE (parent_id IS NOT NULL);

--
-- Name: executions_queue_due_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_queue_due_idx ON aries.executions USING btree (queue_name, available_at) WHERE (status = 'PENDING'::text);

--
-- Name: executions_queue_pending_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_queue_pending_idx ON aries.executions USING btree (queue_name, priority DESC, queue_key, available_at, id) WHERE (status = 'PENDING'::text);

--
-- Name: executions_queue_slots_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_queue_slots_idx ON aries.executions USING btree (queue_name, queue_key, lease_owner) WHERE (lease_owner IS NOT NULL);

--
-- Name: executions_queue_started_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_queue_started_idx ON aries.executions USING btree (queue_name, started_at) WHERE (queue_name IS NOT NULL);

--
-- Name: executions_queue_woken_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_queue_woken_idx ON aries.executions USING btree (queue_name, available_at) WHERE (status = ANY (ARRAY['SLEEPING'::text, 'WAITING'::text, 'COMPENSATING'::text]));

--
-- Name: executions_retention_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_retention_idx ON aries.executions USING btree (workflow_name, finished_at) WHERE ((finished_at IS NOT NULL) AND (parent_id IS NULL));

--
-- Name: executions_runnable_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_runnable_idx ON aries.executions USING btree (available_at) WHERE (status = 'PENDING'::text);

--
-- Name: executions_status_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_status_idx ON aries.executions USING btree (status, created_at DESC, id DESC);

--
-- Name: executions_waiting_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_waiting_idx ON aries.executions USING btree (available_at) WHERE (status = ANY (ARRAY['SLEEPING'::text, 'WAITING'::text]));

--
-- Name: executions_workflow_status_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX executions_workflow_status_idx ON aries.executions USING btree (workflow_name, status, created_at DESC, id DESC);

--
-- Name: failures_execution_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX failures_execution_idx ON aries.failures USING btree (execution_id, failure_timestamp DESC);

--
-- Name: failures_time_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX failures_time_idx ON aries.failures USING btree (failure_timestamp DESC, failure_id DESC);

--
-- Name: failures_unrecovered_execution_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX failures_unrecovered_execution_idx ON aries.failures USING btree (execution_id) WHERE (NOT recovered);

--
-- Name: failures_unrecovered_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX failures_unrecovered_idx ON aries.failures USING btree (failure_timestamp) WHERE (NOT recovered);

--
-- Name: journal_execution_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX journal_execution_idx ON aries.journal USING btree (execution_id, lsn);

--
-- Name: purges_execution_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX purges_execution_idx ON aries.purges USING btree (execution_id);

--
-- Name: purges_purged_at_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX purges_purged_at_idx ON aries.purges USING btree (purged_at);

--
-- Name: retained_idempotency_keys_expires_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX retained_idempotency_keys_expires_idx ON aries.retained_idempotency_keys USING btree (expires_at);

--
-- Name: schedule_slots_recent_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX schedule_slots_recent_idx ON aries.schedule_slots USING btree (schedule_name, id DESC);

--
-- Name: schedule_slots_slot_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE UNIQUE INDEX schedule_slots_slot_idx ON aries.schedule_slots USING btree (schedule_name, slot_at) WHERE (status <> 'manual'::text);

--
-- Name: schedules_due_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX schedules_due_idx ON aries.schedules USING btree (next_fire_at) WHERE (NOT paused);

--
-- Name: signals_mailbox_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX signals_mailbox_idx ON aries.signals USING btree (execution_id, name, id) WHERE (consumed_by IS NULL);

--
-- Name: waits_child_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX waits_child_idx ON aries.waits USING btree (child_id) WHERE (child_id IS NOT NULL);

--
-- Name: waits_open_idx; Type: INDEX; Schema: aries; Owner: -
--

CREATE INDEX waits_open_idx ON aries.waits USING btree (execution_id, signal_name) WHERE (resolved_at IS NULL);

--
-- Name: executions executions_born_pending; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER executions_born_pending BEFORE INSERT ON aries.executions FOR EACH ROW WHEN ((new.status <> 'PENDING'::text)) EXECUTE FUNCTION aries.refuse_execution_born_running();

--
-- Name: executions executions_follow_end; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER executions_follow_end AFTER UPDATE OF status ON aries.executions FOR EACH ROW WHEN (((old.status IS DISTINCT FROM new.status) AND ((new.parent_id IS NOT NULL) OR new.has_children))) EXECUTE FUNCTION aries.follow_execution_end();

--
-- Name: executions executions_queue_slot_freed; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER executions_queue_slot_freed AFTER UPDATE OF lease_owner ON aries.executions FOR EACH ROW WHEN (((old.lease_owner IS NOT NULL) AND (new.lease_owner IS NULL) AND (new.queue_name IS NOT NULL))) EXECUTE FUNCTION aries.notify_queue_slot_freed();

--
-- Name: executions executions_transition_guard; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER executions_transition_guard BEFORE UPDATE OF status ON aries.executions FOR EACH ROW WHEN ((old.status IS DISTINCT FROM new.status)) EXECUTE FUNCTION aries.guard_execution_transition();

--
-- Name: journal journal_append_only; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER journal_append_only BEFORE UPDATE ON aries.journal FOR EACH ROW EXECUTE FUNCTION aries.refuse_journal_change();

--
-- Name: journal journal_deleted_with_execution; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER journal_deleted_with_execution AFTER DELETE ON aries.journal REFERENCING OLD TABLE AS deleted_records FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_delete();

--
-- Name: journal journal_no_truncate; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON aries.journal FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_truncate();

--
-- Name: steps steps_completed_guard; Type: TRIGGER; Schema: aries; Owner: -
--

CREATE TRIGGER steps_completed_guard BEFORE UPDATE OF status, compensation_status ON aries.steps FOR EACH ROW WHEN ((((old.status = 'COMPLETED'::text) AND (new.status <> ALL (ARRAY['COMPLETED'::text, 'ROLLED_BACK'::text]))) OR ((old.compensation_status = 'COMPLETED'::text) AND (new.compensation_status IS DISTINCT FROM 'COMPLETED'::text) AND (new.status <> 'ROLLED_BACK'::text)))) EXECUTE FUNCTION aries.refuse_step_undone();

--
-- Name: checkpoints checkpoints_execution_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.checkpoints
    ADD CONSTRAINT checkpoints_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES aries.executions(id) ON DELETE CASCADE;

--
-- Name: execution_transitions execution_transitions_from_status_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.execution_transitions
    ADD CONSTRAINT execution_transitions_from_status_fkey FOREIGN KEY (from_status) REFERENCES aries.execution_statuses(status);

--
-- Name: execution_transitions execution_transitions_to_status_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.execution_transitions
    ADD CONSTRAINT execution_transitions_to_status_fkey FOREIGN KEY (to_status) REFERENCES aries.execution_statuses(status);

--
-- Name: executions executions_parent_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.executions
    ADD CONSTRAINT executions_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES aries.executions(id) ON DELETE SET NULL;

--
-- Name: executions executions_queue_name_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.executions
    ADD CONSTRAINT executions_queue_name_fkey FOREIGN KEY (queue_name) REFERENCES aries.queues(name);

--
-- Name: executions executions_status_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.executions
    ADD CONSTRAINT executions_status_fkey FOREIGN KEY (status) REFERENCES aries.execution_statuses(status);

--
-- Name: executions executions_workflow_name_workflow_version_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.executions
    ADD CONSTRAINT executions_workflow_name_workflow_version_fkey FOREIGN KEY (workflow_name, workflow_version) REFERENCES aries.workflows(name, version);

--
-- Name: failures failures_execution_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.failures
    ADD CONSTRAINT failures_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES aries.executions(id) ON DELETE CASCADE;

--
-- Name: journal journal_execution_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.journal
    ADD CONSTRAINT journal_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES aries.executions(id) ON DELETE CASCADE;

--
-- Name: schedule_slots schedule_slots_execution_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.schedule_slots
    ADD CONSTRAINT schedule_slots_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES aries.executions(id) ON DELETE SET NULL;

--
-- Name: schedule_slots schedule_slots_schedule_name_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.schedule_slots
    ADD CONSTRAINT schedule_slots_schedule_name_fkey FOREIGN KEY (schedule_name) REFERENCES aries.schedules(name) ON DELETE CASCADE;

--
-- Name: signals signals_execution_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.signals
    ADD CONSTRAINT signals_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES aries.executions(id) ON DELETE CASCADE;

--
-- Name: steps steps_execution_id_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.steps
    ADD CONSTRAINT steps_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES aries.executions(id) ON DELETE CASCADE;

--
-- Name: waits waits_execution_id_step_key_fkey; Type: FK CONSTRAINT; Schema: aries; Owner: -
--

ALTER TABLE ONLY aries.waits
    ADD CONSTRAINT waits_execution_id_step_key_fkey FOREIGN KEY (execution_id, step_key) REFERENCES aries.steps(execution_id, step_key) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
