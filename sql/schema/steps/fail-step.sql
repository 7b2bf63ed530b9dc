-- aries.fail_step (function)
--
-- Records that a step's attempt ended in an error the workflow will see: the step is FAILED and replay
-- raises the recorded error again instead of re-running it. Idempotent for the same attempt.

CREATE FUNCTION aries.fail_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                p_attempt integer, p_error jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
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
