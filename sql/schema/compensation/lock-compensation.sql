-- aries.lock_compensation (function)
--
-- Locks a COMPENSATING execution owned under p_token and the completed step p_step_key of it.

CREATE FUNCTION aries.lock_compensation(p_execution_id uuid, p_token bigint, p_step_key text)
RETURNS aries.steps LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_step aries.steps;
BEGIN
  IF v.status <> 'COMPENSATING' THEN
    RAISE EXCEPTION 'execution % is %, not COMPENSATING', p_execution_id, v.status USING ERRCODE = 'AR003';
  END IF;
  SELECT * INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key FOR UPDATE;
  IF NOT FOUND OR v_step.status <> 'COMPLETED' THEN
    RAISE EXCEPTION 'step "%" of execution % has not completed: there is nothing to compensate', p_step_key,
      p_execution_id USING ERRCODE = 'AR005';
  END IF;
  RETURN v_step;
END $$;
