-- aries.finish_compensation (function)
--
-- Every compensation ran: the execution is COMPENSATED and its PARTIAL failure recovered. Idempotent.

CREATE FUNCTION aries.finish_compensation(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'COMPENSATED');
  v_lsn bigint;
BEGIN
  IF v.status = 'COMPENSATED' THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_compensated', NULL, NULL, NULL, NULL);
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'worker'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND f.recovery_strategy = 'compensate';
  UPDATE aries.executions e
     SET status = 'COMPENSATED', lease_owner = NULL, lease_expires_at = NULL, last_lsn = v_lsn,
         finished_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;
