-- aries.fail_execution (function)
--
-- Ends an execution FAILED and records the failure. From RUNNING (a PERMANENT failure) the execution is
-- first rolled back to its last valid checkpoint (before p_rollback_before_lsn if given: a corrupt record
-- is not a valid state to return to); from COMPENSATING (a compensation failed PERMANENTLY: PARTIAL) it is
-- left as its compensations left it. p_step_key / p_attempt name the step whose error it was. Idempotent
-- under the same token. Returns the failure's id.

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
