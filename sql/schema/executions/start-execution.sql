-- aries.start_execution (function)
--
-- Starts an execution, or returns the one already started under the same idempotency key (also when
-- retention purged its body but keeps its key: its id and final status).
-- p_version NULL means the most recently registered version of p_workflow; p_timeout_ms, when given, is
-- the whole execution's deadline from now (database clock). p_queue names the queue (NULL: the one its
-- workflow's definition names, if any; AR013 an unknown one), p_queue_key its key within the queue (NULL:
-- none; '' refused), p_priority its priority there (higher first), p_delay_ms how long from now until it
-- is due. p_debounce_key debounces it (aries.debounce_start): debounced says a PENDING execution under
-- that key took this start's input instead of a new one being created.
-- The same idempotency key with a different input (jsonb inequality: key order and number spelling do not
-- count) is AR007, naming the key and the execution it started, unless p_input_must_match is false
-- (signal_with_start: its input only matters when it starts the execution). A key kept after retention
-- purged the body has no input left to compare and answers as before.

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
