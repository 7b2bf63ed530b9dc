-- aries.release_execution (function)
--
-- Hands an execution back to the queue (its worker is shutting down): runnable again at once. A
-- COMPENSATING execution handed back stays COMPENSATING.

CREATE FUNCTION aries.release_execution(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' OR v.lease_owner IS NULL THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_released', NULL, NULL, NULL, NULL);
  UPDATE aries.executions e
     SET status = CASE WHEN v.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'PENDING' END,
         lease_owner = NULL, lease_expires_at = NULL, available_at = aries.now(),
         last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
END $$;
