-- 0003_waits: durable waits (sleep, signals, child workflows) and timeouts.
--
-- Model
--   waits         a wait is a steps row of kind 'sleep', 'signal' or 'child', WAITING while open, and a
--                 row of aries.waits saying what it waits for and when it resolves by itself (wake_at,
--                 database clock). aries.await_waits settles the first event among the waits a run is
--                 blocked on (COMPLETED with its output journaled, or FAILED: a timeout, a failed child),
--                 or suspends the execution: SLEEPING or WAITING, no lease owner, due at its earliest wake
--                 time. claim_executions claims due sleepers and waiters like any other runnable work.
--   signals       aries.signals is every execution's durable mailbox: send_signal (in the sender's own
--                 transaction) stores and journals a signal and wakes a waiter of its name; a wait consumes
--                 the oldest unconsumed signal of its name, once.
--   children      start_child begins a child wait and starts the child, whose id is derived from (parent,
--                 key). A child that completes while its parent has not is SUB_COMMITTED; the trigger
--                 executions_follow_end wakes the parent when a child ends, commits SUB_COMMITTED children
--                 when the parent completes, compensates them when it compensates, and cancels unfinished
--                 children (parent_close 'cancel') when it is cancelled or compensates.
--   timeouts      executions.deadline_at (start_execution's p_timeout_ms) is the whole execution's
--                 deadline: claim_executions says when it has passed (timed_out). time_out_step moves the
--                 fencing token on at a step attempt's deadline.
--   cancel        cancel_execution cancels open waits and the running step (CANCELLED, with ended_at),
--                 ends a sleeper or waiter at once, and with p_compensate makes it COMPENSATING instead.

-- ---- statuses and transitions ------------------------------------------------------------------------
INSERT INTO aries.execution_statuses VALUES ('SUB_COMMITTED', false);
INSERT INTO aries.execution_transitions VALUES
  ('RUNNING', 'SUB_COMMITTED'), ('SLEEPING', 'COMPENSATING'), ('WAITING', 'COMPENSATING'),
  ('SUB_COMMITTED', 'COMPLETED'), ('SUB_COMMITTED', 'COMPENSATING');

-- ---- executions: parents, children, deadlines ---------------------------------------------------------
ALTER TABLE aries.executions
  ADD COLUMN parent_id uuid REFERENCES aries.executions (id) ON DELETE SET NULL,
  ADD COLUMN parent_step_key text,
  ADD COLUMN parent_close text,
  ADD COLUMN deadline_at timestamptz,
  ADD COLUMN has_children boolean NOT NULL DEFAULT false,
  DROP CONSTRAINT executions_check2,
  ADD CONSTRAINT executions_check2 CHECK (status IN ('COMPLETED', 'SUB_COMMITTED') OR output IS NULL),
  ADD CONSTRAINT executions_parent_check CHECK ((parent_id IS NULL) = (parent_step_key IS NULL)
                                                AND (parent_id IS NULL) = (parent_close IS NULL)),
  ADD CONSTRAINT executions_parent_close_check CHECK (parent_close IN ('cancel', 'abandon')),
  ADD CONSTRAINT executions_sub_committed_check CHECK (status <> 'SUB_COMMITTED' OR parent_id IS NOT NULL);
CREATE INDEX executions_waiting_idx ON aries.executions (available_at) WHERE status IN ('SLEEPING', 'WAITING');
CREATE INDEX executions_parent_idx ON aries.executions (parent_id) WHERE parent_id IS NOT NULL;

-- ---- steps: wait kinds, WAITING and CANCELLED ---------------------------------------------------------
ALTER TABLE aries.steps
  ADD COLUMN ended_at timestamptz,
  DROP CONSTRAINT steps_status_check,
  ADD CONSTRAINT steps_status_check CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING', 'ROLLED_BACK', 'WAITING', 'CANCELLED')),
  DROP CONSTRAINT steps_kind_check,
  ADD CONSTRAINT steps_kind_check CHECK (kind IN ('step', 'transaction', 'sleep', 'signal', 'child')),
  ADD CONSTRAINT steps_waiting_check CHECK (status <> 'WAITING' OR kind IN ('sleep', 'signal', 'child'));

-- ---- journal kinds -----------------------------------------------------------------------------------
ALTER TABLE aries.journal
  DROP CONSTRAINT journal_kind_check,
  ADD CONSTRAINT journal_kind_check CHECK (kind IN (
    'execution_started', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
    'execution_completed', 'execution_failed', 'execution_released', 'execution_rolled_back',
    'execution_recovered', 'execution_compensating', 'compensation_started', 'compensation_completed',
    'compensation_failed', 'compensation_retrying', 'execution_compensated', 'execution_cancelled',
    'step_waiting', 'step_cancelled', 'signal_received', 'execution_suspended', 'execution_sub_committed'));

-- ---- waits and the mailbox ---------------------------------------------------------------------------

CREATE TABLE aries.waits (
  execution_id uuid NOT NULL,
  step_key     text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('sleep', 'signal', 'child')),
  wake_at      timestamptz,
  signal_name  text,
  child_id     uuid,
  created_at   timestamptz NOT NULL DEFAULT aries.now(),
  resolved_at  timestamptz,
  resolved_lsn bigint,
  PRIMARY KEY (execution_id, step_key),
  FOREIGN KEY (execution_id, step_key) REFERENCES aries.steps (execution_id, step_key) ON DELETE CASCADE,
  CONSTRAINT waits_sleep_check CHECK (kind <> 'sleep' OR wake_at IS NOT NULL),
  CONSTRAINT waits_signal_check CHECK ((kind = 'signal') = (signal_name IS NOT NULL)),
  CONSTRAINT waits_child_check CHECK ((kind = 'child') = (child_id IS NOT NULL)),
  CONSTRAINT waits_resolved_check CHECK ((resolved_at IS NULL) = (resolved_lsn IS NULL))
);
-- The open waits of an execution, and those for a signal name.
CREATE INDEX waits_open_idx ON aries.waits (execution_id, signal_name) WHERE resolved_at IS NULL;
-- The wait a child's end settles.
CREATE INDEX waits_child_idx ON aries.waits (child_id) WHERE child_id IS NOT NULL;

CREATE TABLE aries.signals (
  id              bigserial PRIMARY KEY,
  execution_id    uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  name            text NOT NULL CHECK (name <> ''),
  payload         jsonb,
  idempotency_key text CHECK (idempotency_key <> ''),
  sent_at         timestamptz NOT NULL DEFAULT aries.now(),
  consumed_by     text,
  consumed_at     timestamptz,
  UNIQUE (execution_id, idempotency_key),
  CONSTRAINT signals_consumed_check CHECK ((consumed_by IS NULL) = (consumed_at IS NULL))
);
-- The oldest unconsumed signal of a name: what a wait takes.
CREATE INDEX signals_mailbox_idx ON aries.signals (execution_id, name, id) WHERE consumed_by IS NULL;


-- ---- functions: new, and changed (as in sql/schema) ------------------------------------------------

DROP FUNCTION aries.start_execution(text, text, jsonb, text);

DROP FUNCTION aries.claim_executions(text, text[], integer, integer, uuid[]);

DROP FUNCTION aries.cancel_execution(uuid, text);

DROP FUNCTION aries.read_step_records(uuid, integer, integer);

CREATE FUNCTION aries.resolve_workflow_version(p_workflow text, p_version text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = '' AS $$
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

CREATE FUNCTION aries.create_execution(p_id uuid, p_workflow text, p_version text, p_input jsonb,
                                       p_idempotency_key text, p_timeout_ms bigint,
                                       p_parent_id uuid DEFAULT NULL, p_parent_step_key text DEFAULT NULL,
                                       p_parent_close text DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_lsn bigint;
  v_inserted uuid;
BEGIN
  IF p_timeout_ms IS NOT NULL AND p_timeout_ms <= 0 THEN
    RAISE EXCEPTION 'an execution''s timeout must be a positive number of milliseconds, got %', p_timeout_ms
      USING ERRCODE = 'AR011';
  END IF;
  v_lsn := pg_catalog.nextval('aries.journal_lsn_seq');
  INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn,
                                     parent_id, parent_step_key, parent_close, deadline_at)
  VALUES (p_id, p_workflow, p_version, p_input, p_idempotency_key, v_lsn, p_parent_id, p_parent_step_key,
          p_parent_close, aries.now() + p_timeout_ms * interval '1 millisecond')
  ON CONFLICT DO NOTHING
  RETURNING e.id INTO v_inserted;
  IF v_inserted IS NULL THEN
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

CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
                                      p_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, status text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
  v_id uuid := gen_random_uuid();
  v_existing record;
BEGIN
  IF aries.create_execution(v_id, p_workflow, v_version, p_input, p_idempotency_key, p_timeout_ms) THEN
    RETURN QUERY SELECT v_id, true, 'PENDING'::text;
    RETURN;
  END IF;
  SELECT e.id, e.workflow_name, e.status INTO v_existing
  FROM aries.executions e WHERE e.idempotency_key = p_idempotency_key;
  IF v_existing.workflow_name <> p_workflow THEN
    RAISE EXCEPTION 'idempotency key "%" already started an execution of workflow "%", not "%"',
      p_idempotency_key, v_existing.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;
  RETURN QUERY SELECT v_existing.id, false, v_existing.status;
END $$;

CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer,
                                       p_lease_ms integer, p_running uuid[] DEFAULT '{}')
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision)
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
  ), woken AS (
    SELECT e.id FROM aries.executions e
     WHERE e.status IN ('SLEEPING', 'WAITING') AND e.available_at <= v_now
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
    SELECT k.id, NULL, NULL FROM woken k
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
            c.expired_at IS NOT NULL, e.status = 'COMPENSATING',
            pg_catalog.date_part('epoch', e.deadline_at - v_now) * 1000;
END $$;

CREATE FUNCTION aries.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL, p_compensate boolean DEFAULT false)
RETURNS TABLE (previous_status text, workflow_name text) LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_lsn bigint;
  v_reason text := coalesce(p_reason, 'cancelled by an operator');
  v_error jsonb;
  v_compensate boolean;
BEGIN
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

CREATE FUNCTION aries.read_step_records(p_execution_id uuid, p_from_seq integer, p_to_seq integer)
RETURNS TABLE (seq integer, step_key text, kind text, status text, attempt integer, output_lsn bigint, output jsonb,
               output_is_null boolean, record_found boolean, record_ok boolean, error jsonb, compensation_status text,
               compensation_attempt integer, compensation_attempt_base integer, wait_lsn bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
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

CREATE OR REPLACE FUNCTION aries.complete_execution(p_execution_id uuid, p_token bigint, p_output jsonb,
                                         p_completed jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.child_execution_id(p_parent_id uuid, p_step_key text) RETURNS uuid
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT pg_catalog.md5('aries-child:' || p_parent_id::text || ':' || p_step_key)::uuid
$$;

CREATE FUNCTION aries.wake_execution(p_execution_id uuid) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.begin_wait(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_kind text,
                                 p_delay_ms double precision DEFAULT NULL, p_until timestamptz DEFAULT NULL,
                                 p_signal_name text DEFAULT NULL, p_child_id uuid DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.start_child(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                  p_workflow text, p_version text, p_input jsonb,
                                  p_timeout_ms double precision DEFAULT NULL, p_parent_close text DEFAULT 'cancel',
                                  p_child_timeout_ms bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
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
                                 p_step_key, p_parent_close);
  UPDATE aries.executions e SET has_children = true WHERE e.id = p_execution_id AND NOT e.has_children;
  RETURN v_child;
END $$;

CREATE FUNCTION aries.cancel_waits(p_execution_id uuid, p_keys text[], p_reason text,
                                   p_compensate_children boolean DEFAULT true) RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.await_waits(p_execution_id uuid, p_token bigint, p_open text[], p_cancel text[] DEFAULT '{}')
RETURNS TABLE (step_key text, outcome text, output jsonb, error jsonb, resolved_lsn bigint, status text,
               available_at timestamptz, due_in_ms double precision)
LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.abandon_waits(p_execution_id uuid, p_token bigint, p_keys text[], p_reason text)
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  RETURN aries.cancel_waits(p_execution_id, p_keys, p_reason);
END $$;

CREATE FUNCTION aries.send_signal(p_execution_id uuid, p_name text, p_payload jsonb DEFAULT NULL,
                                  p_idempotency_key text DEFAULT NULL)
RETURNS TABLE (signal_id bigint, duplicate boolean) LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.signal_with_start(p_workflow text, p_version text, p_input jsonb, p_idempotency_key text,
                                        p_signal_name text, p_payload jsonb DEFAULT NULL,
                                        p_signal_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, signal_id bigint, duplicate boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_started record;
  v_signal record;
BEGIN
  IF p_idempotency_key IS NULL OR p_idempotency_key = '' THEN
    RAISE EXCEPTION 'signal-with-start needs the idempotency key that names the execution' USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_started FROM aries.start_execution(p_workflow, p_version, p_input, p_idempotency_key, p_timeout_ms);
  SELECT * INTO v_signal FROM aries.send_signal(v_started.execution_id, p_signal_name, p_payload, p_signal_idempotency_key);
  RETURN QUERY SELECT v_started.execution_id, v_started.created, v_signal.signal_id, v_signal.duplicate;
END $$;

CREATE FUNCTION aries.time_out_step(p_execution_id uuid, p_token bigint, p_step_key text, p_attempt integer)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.cancel_children(p_parent_id uuid, p_reason text, p_compensate boolean DEFAULT false) RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE FUNCTION aries.follow_execution_end() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE TRIGGER executions_follow_end
  AFTER UPDATE OF status ON aries.executions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND (NEW.parent_id IS NOT NULL OR NEW.has_children))
  EXECUTE FUNCTION aries.follow_execution_end();

CREATE FUNCTION aries.refuse_late_step(p_execution_id uuid, p_step_key text, p_deadline timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF pg_catalog.clock_timestamp() > p_deadline THEN
    RAISE EXCEPTION 'step "%" of execution % is past its deadline (%): its attempt timed out and is not committed',
      p_step_key, p_execution_id, p_deadline USING ERRCODE = 'AR012';
  END IF;
END $$;

CREATE FUNCTION aries.compensate_child(p_execution_id uuid, p_token bigint, p_step_key text)
RETURNS TABLE (outcome text, child_id uuid, child_status text, child_error jsonb)
LANGUAGE plpgsql SET search_path = '' AS $$
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

-- As in 0001_baseline, and SUB_COMMITTED counted with the other statuses that are not final.
CREATE OR REPLACE FUNCTION aries.active_counts()
RETURNS TABLE (status text, executions bigint, due bigint, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
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
