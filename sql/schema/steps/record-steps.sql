-- aries.record_steps (function)
--
-- The hot-path step transition, one round trip per step: apply_step_requests for one execution, whose
-- refusal is raised. Workflow code between two steps is deterministic and has no side effects, so a
-- step's completion may wait for the next step's intent: it is durable before any later side effect.
-- p_start_kind is the started step's kind, and that of a completed step whose intent is missing (a
-- transactional step records its completion without one).

CREATE FUNCTION aries.record_steps(p_execution_id uuid, p_token bigint, p_completed jsonb,
                                   p_start_seq integer DEFAULT NULL, p_start_key text DEFAULT NULL,
                                   p_start_kind text DEFAULT 'step')
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_done record;
BEGIN
  PERFORM 1 FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('execution_id', p_execution_id, 'token', p_token,
                                  'completed', coalesce(p_completed, '[]'::jsonb),
                                  'start_kind', coalesce(p_start_kind, 'step'))
    || CASE WHEN p_start_key IS NULL THEN '{}'::jsonb
            ELSE pg_catalog.jsonb_build_object('start_seq', p_start_seq, 'start_key', p_start_key) END));
  IF v_done.error_codes[1] IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
  END IF;
  IF v_done.recorded = 0 AND v_done.started THEN
    PERFORM aries.commit_intents_asynchronously();
  END IF;
  RETURN v_done.attempts[1];
END $$;
