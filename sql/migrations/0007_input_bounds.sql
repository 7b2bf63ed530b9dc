-- 0007_input_bounds: the same idempotency key with a different input is a conflict, not a silent answer
-- with the first execution; a cancel reason is bounded.
--
-- Model
--   start     aries.start_execution compares the input of a start that meets an existing execution under its
--             key (jsonb equality) and raises AR007 naming the key and that execution when they differ. A new
--             last parameter, p_input_must_match (default true), lets signal_with_start keep its meaning:
--             signal the execution under the key, whatever input a start would have given it.
--   retained  a key retention kept after purging the body has no input to compare: answered as before.
--   cancel    aries.cancel_execution refuses a reason over 4096 characters (AR011): it becomes the
--             execution's error, which every list page carries (the engine caps errors it stores the same way).

DROP FUNCTION aries.start_execution(text, text, jsonb, text, bigint, text, text, integer, bigint, text, bigint, bigint);

CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
                                      p_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL,
                                      p_queue text DEFAULT NULL, p_queue_key text DEFAULT NULL,
                                      p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL,
                                      p_debounce_key text DEFAULT NULL, p_debounce_delay_ms bigint DEFAULT NULL,
                                      p_debounce_max_delay_ms bigint DEFAULT NULL,
                                      p_input_must_match boolean DEFAULT true)
RETURNS TABLE (execution_id uuid, created boolean, status text, debounced boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
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

CREATE OR REPLACE FUNCTION aries.signal_with_start(p_workflow text, p_version text, p_input jsonb, p_idempotency_key text,
                                        p_signal_name text, p_payload jsonb DEFAULT NULL,
                                        p_signal_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL,
                                        p_queue text DEFAULT NULL, p_queue_key text DEFAULT NULL,
                                        p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, signal_id bigint, duplicate boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
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

-- ---- cancel: a reason is bounded like an error's message (4096 characters; AR011 beyond) ------------
CREATE OR REPLACE FUNCTION aries.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL, p_compensate boolean DEFAULT false)
RETURNS TABLE (previous_status text, workflow_name text) LANGUAGE plpgsql SET search_path = '' AS $$
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
