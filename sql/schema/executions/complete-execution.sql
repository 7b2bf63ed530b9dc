-- aries.complete_execution (function)
--
-- Ends an execution COMPLETED with its output, recording first the completions of its last steps
-- (p_completed, as for record_steps). A child whose parent has not finished ends SUB_COMMITTED instead: it
-- commits with its parent, or is compensated with it (aries.follow_execution_end). Idempotent under the
-- same token.

CREATE FUNCTION aries.complete_execution(p_execution_id uuid, p_token bigint, p_output jsonb,
                                         p_completed jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_done record;
  v_lsn bigint;
  v_status text := 'COMPLETED';
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF v.lease_token = p_token AND v.status IN ('COMPLETED', 'SUB_COMMITTED') THEN
    RETURN;
  END IF;
  v := aries.lock_owned_execution(p_execution_id, p_token, 'COMPLETED');
  IF p_completed IS NOT NULL THEN
    v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'execution_id', p_execution_id, 'token', p_token, 'completed', p_completed)));
    IF v_done.error_codes[1] IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
    END IF;
  END IF;
  IF v.parent_id IS NOT NULL AND EXISTS (SELECT 1 FROM aries.executions p WHERE p.id = v.parent_id
                                          AND p.status NOT IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')) THEN
    v_status := 'SUB_COMMITTED';
  END IF;
  v_lsn := aries.append_journal(p_execution_id,
                                (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                CASE v_status WHEN 'COMPLETED' THEN 'execution_completed' ELSE 'execution_sub_committed' END,
                                NULL, NULL, NULL, p_output);
  UPDATE aries.executions e
     SET status = v_status, output = p_output, lease_owner = NULL, lease_expires_at = NULL,
         last_lsn = v_lsn, finished_at = CASE v_status WHEN 'COMPLETED' THEN aries.now() END,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;
