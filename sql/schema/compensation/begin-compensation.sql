-- aries.begin_compensation (function)
--
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
