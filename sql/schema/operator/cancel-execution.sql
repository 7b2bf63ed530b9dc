-- aries.cancel_execution (function)
--
-- Cancels an execution that is not finished and returns its previous status and its workflow. AR001 unknown id, AR003 an
-- execution already COMPLETED, COMPENSATED or CANCELLED. Waits for the row lock a worker's write holds
-- (those transactions are short), never for a lease.

CREATE FUNCTION aries.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL)
RETURNS TABLE (previous_status text, workflow_name text) LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_lsn bigint;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED') THEN
    RAISE EXCEPTION 'execution % is % and cannot be cancelled: it is finished', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_cancelled', NULL, NULL, NULL,
                                pg_catalog.jsonb_build_object('reason', p_reason, 'previousStatus', v.status));
  UPDATE aries.steps s
     SET status = 'FAILED',
         error = pg_catalog.jsonb_build_object('name', 'CancelledError', 'message', coalesce(p_reason, 'cancelled by an operator'))
   WHERE s.execution_id = p_execution_id AND s.status IN ('RUNNING', 'RETRYING');
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'cancel'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered;
  UPDATE aries.executions e
     SET status = 'CANCELLED', lease_owner = NULL, lease_expires_at = NULL, lease_token = e.lease_token + 1,
         error = pg_catalog.jsonb_build_object('name', 'CancelledError',
                                              'message', coalesce(p_reason, 'cancelled by an operator')),
         last_lsn = v_lsn, finished_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN QUERY SELECT v.status, v.workflow_name;
END $$;
