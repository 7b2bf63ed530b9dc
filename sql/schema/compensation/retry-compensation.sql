-- aries.retry_compensation (function)
--
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
