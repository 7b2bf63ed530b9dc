-- aries.complete_execution (function)
--
-- Ends an execution COMPLETED with its output, recording first the completions of its last steps
-- (p_completed, as for record_steps). Idempotent under the same token.

CREATE FUNCTION aries.complete_execution(p_execution_id uuid, p_token bigint, p_output jsonb,
                                         p_completed jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'COMPLETED');
  v_done record;
  v_lsn bigint;
BEGIN
  IF v.status = 'COMPLETED' THEN
    RETURN;
  END IF;
  IF p_completed IS NOT NULL THEN
    v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'execution_id', p_execution_id, 'token', p_token, 'completed', p_completed)));
    IF v_done.error_codes[1] IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
    END IF;
  END IF;
  v_lsn := aries.append_journal(p_execution_id,
                                (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                'execution_completed', NULL, NULL, NULL, p_output);
  UPDATE aries.executions e
     SET status = 'COMPLETED', output = p_output, lease_owner = NULL, lease_expires_at = NULL,
         last_lsn = v_lsn, finished_at = aries.now(),
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;
