-- aries.step_attempts_used (function)
--
-- The attempts of a step's current retry budget so far (its attempt minus the attempts before the last
-- recovery), and of its compensation's.

CREATE FUNCTION aries.step_attempts_used(p_execution_id uuid, p_step_key text,
                                         OUT step_attempts integer, OUT compensation_attempts integer)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.attempt - s.attempt_base, s.compensation_attempt - s.compensation_attempt_base
    FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
$$;
