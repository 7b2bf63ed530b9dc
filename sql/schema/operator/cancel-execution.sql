-- aries.cancel_execution (function)
--
-- Cancels an execution that is not finished and returns its previous status and its workflow. The
-- running worker, if any, is fenced (the token moves on: its next write is refused); the step it was
-- running, and every open wait, become CANCELLED with the time they ended; a SLEEPING or WAITING execution
-- ends at once. Unfinished children started with parent_close 'cancel' are cancelled with it.
-- p_compensate: instead of ending CANCELLED, the execution becomes COMPENSATING with a cancellation failure
-- recorded, due now: a worker runs the compensations of its completed steps in reverse order and it ends
-- COMPENSATED (a PENDING execution has nothing to compensate and is simply cancelled; one already
-- COMPENSATING goes on as it is). AR001 unknown id, AR003 an execution already COMPLETED, SUB_COMMITTED,
-- COMPENSATED or CANCELLED. Waits for the row lock a worker's write holds (those transactions are short),
-- never for a lease.

CREATE FUNCTION aries.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL, p_compensate boolean DEFAULT false)
RETURNS TABLE (previous_status text, workflow_name text) LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_lsn bigint;
  v_reason text := coalesce(p_reason, 'cancelled by an operator');
  v_error jsonb;
  v_compensate boolean;
BEGIN
  -- the reason becomes the execution's error, shown on every list page: bounded like an error's message
  IF pg_catalog.length(p_reason) > 4096 THEN
    RAISE EXCEPTION 'the reason is % characters; the limit is 4096', pg_catalog.length(p_reason) USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.status IN ('COMPLETED', 'SUB_COMMITTED', 'COMPENSATED', 'CANCELLED') THEN
    RAISE EXCEPTION 'execution % is % and cannot be cancelled: it is finished', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  v_compensate := coalesce(p_compensate, false) AND v.status <> 'PENDING';
  IF v_compensate AND v.status = 'COMPENSATING' THEN
    RETURN QUERY SELECT v.status, v.workflow_name;
    RETURN;
  END IF;
  v_error := pg_catalog.jsonb_build_object('name', 'CancelledError', 'code', 'CANCELLED', 'message', v_reason);
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_cancelled', NULL, NULL, NULL,
                                pg_catalog.jsonb_build_object('reason', p_reason, 'previousStatus', v.status,
                                                              'compensate', v_compensate));
  UPDATE aries.executions e SET last_lsn = v_lsn WHERE e.id = p_execution_id;
  PERFORM aries.cancel_waits(p_execution_id,
    ARRAY(SELECT wt.step_key FROM aries.waits wt WHERE wt.execution_id = p_execution_id AND wt.resolved_at IS NULL),
    v_reason, v_compensate);
  UPDATE aries.steps s
     SET status = 'CANCELLED', ended_at = aries.now(),
         error = pg_catalog.jsonb_build_object('name', 'CancelledError', 'message', v_reason)
   WHERE s.execution_id = p_execution_id AND s.status IN ('RUNNING', 'RETRYING');
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'cancel'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered;
  IF v_compensate THEN
    PERFORM aries.record_failure(p_execution_id, 'PARTIAL', 'compensate', 'step', v_error, NULL, NULL, NULL, false);
    UPDATE aries.executions e
       SET status = 'COMPENSATING', lease_owner = NULL, lease_expires_at = NULL, lease_token = e.lease_token + 1,
           available_at = aries.now(), error = v_error, updated_at = aries.now()
     WHERE e.id = p_execution_id;
    PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
  ELSE
    UPDATE aries.executions e
       SET status = 'CANCELLED', lease_owner = NULL, lease_expires_at = NULL, lease_token = e.lease_token + 1,
           error = v_error, finished_at = aries.now(), updated_at = aries.now()
     WHERE e.id = p_execution_id;
  END IF;
  RETURN QUERY SELECT v.status, v.workflow_name;
END $$;
