-- aries.begin_step (function)
--
-- Journals the intent to run one step (record_steps without completions).

CREATE FUNCTION aries.begin_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text)
RETURNS integer LANGUAGE sql SET search_path = '' AS $$
  SELECT aries.record_steps(p_execution_id, p_token, NULL, p_seq, p_step_key)
$$;
