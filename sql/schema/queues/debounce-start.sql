-- aries.debounce_start (function)
--
-- A debounced start (start_execution with a debounce key): the execution of p_workflow under p_key runs
-- once, p_delay_ms after the last start with the key, with the last input, and never later than
-- p_max_delay_ms (NULL: no bound) after the first. While a PENDING one exists under the key, this start
-- replaces its input (journaled as execution_input_replaced, chained like every record) and moves it to
-- least(now + delay, its deadline); debounced true, same id. Once it is claimed (grant_claims clears the
-- key), the next start makes a new one. Exact under concurrent starts: the PENDING one is locked FOR
-- UPDATE (at READ COMMITTED a row claimed meanwhile no longer matches), and executions_debounce_idx
-- admits one PENDING row per key, so an insert that loses the race inserts nothing and the lookup runs
-- again. AR011 an empty key or a bad delay.

CREATE FUNCTION aries.debounce_start(p_workflow text, p_version text, p_input jsonb, p_timeout_ms bigint,
                                     p_queue text, p_queue_key text, p_priority integer, p_key text,
                                     p_delay_ms bigint, p_max_delay_ms bigint)
RETURNS TABLE (execution_id uuid, created boolean, status text, debounced boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
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
