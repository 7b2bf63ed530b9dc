-- aries.record_compensation (function)
--
-- Journals one event of a step's compensation: 'started' (returns the compensation's attempt), then
-- 'completed' (with the compensation's result) or 'failed' (with its error). A compensation that
-- completed is never started again (AR005); repeating the same attempt's completion is a no-op.

CREATE FUNCTION aries.record_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_event text,
                                          p_attempt integer DEFAULT NULL, p_payload jsonb DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
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
