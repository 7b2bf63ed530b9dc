-- aries.time_out_step (function)
--
-- An attempt of a step ran past its timeoutMs: the execution's fencing token moves on (the worker keeps
-- the lease under the new token, returned), so that whatever the timed-out attempt still tries to write —
-- a transactional step's late COMMIT above all — is refused (AR002). NULL, and nothing changed, when the
-- attempt completed first (its completion is already recorded). AR002 a lost lease.

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
