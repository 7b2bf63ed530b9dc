-- aries.complete_step (function)
--
-- Records one step's output (record_steps with one completion and no start). Returns the step's LSN.

CREATE FUNCTION aries.complete_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                    p_attempt integer, p_output jsonb, p_checkpoint boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.record_steps(p_execution_id, p_token,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'seq', p_seq, 'key', p_step_key, 'attempt', p_attempt, 'checkpoint', p_checkpoint))
      || CASE WHEN p_output IS NULL THEN '{}'::jsonb ELSE pg_catalog.jsonb_build_object('output', p_output) END));
  RETURN (SELECT s.output_lsn FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key);
END $$;
