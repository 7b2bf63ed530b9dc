-- aries.wake_execution (function)
--
-- Makes a SLEEPING or WAITING execution due now, and tells idle workers (NOTIFY is delivered when the
-- caller's transaction commits; workers also poll). Nothing for an execution in any other status: a
-- running one finds what woke it at its next wait.

CREATE FUNCTION aries.wake_execution(p_execution_id uuid) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_workflow text;
BEGIN
  UPDATE aries.executions e SET available_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id AND e.status IN ('SLEEPING', 'WAITING') AND e.available_at > aries.now()
  RETURNING e.workflow_name INTO v_workflow;
  IF v_workflow IS NOT NULL THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', v_workflow);
  END IF;
END $$;
