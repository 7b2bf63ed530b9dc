-- aries.recover_from_failure (function)
--
-- Recovers an execution from its newest unrecovered failure (of p_failure_type, if given) and returns
-- the checkpoint it continues from (NULL: its start):
--   FAILED after a rollback (PERMANENT)  → PENDING: a worker resumes it from that checkpoint, with a fresh
--                                          retry budget for the steps that run again
--   FAILED in compensation (PARTIAL)     → COMPENSATING: the remaining compensations run again (completed
--                                          ones are not)
--   waiting for a retry (TRANSIENT)      → due now
-- The failures it settles are then marked recovered (all of a FAILED execution's; a waiting retry's
-- TRANSIENT ones). AR009 when there is none.

CREATE FUNCTION aries.recover_from_failure(p_execution_id uuid, p_failure_type text DEFAULT NULL,
                                           p_recovered_by text DEFAULT 'operator')
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_failure aries.failures;
  v_checkpoint record;
  v_resumed_from uuid;
  v_lsn bigint;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_owner IS NOT NULL THEN
    RAISE EXCEPTION 'execution % is % under the lease of worker %: it is being run, there is nothing to recover now',
      p_execution_id, v.status, v.lease_owner USING ERRCODE = 'AR010';
  END IF;
  SELECT * INTO v_failure FROM aries.failures f
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND (p_failure_type IS NULL OR f.failure_type = p_failure_type)
   ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % has no unrecovered%failure', p_execution_id,
      CASE WHEN p_failure_type IS NULL THEN ' ' ELSE ' ' || p_failure_type || ' ' END
      USING ERRCODE = 'AR009', HINT = 'aries failures lists what is recorded';
  END IF;
  IF v.status NOT IN ('FAILED', 'PENDING', 'COMPENSATING') THEN
    RAISE EXCEPTION 'execution % is %: there is nothing to recover', p_execution_id, v.status USING ERRCODE = 'AR010';
  END IF;
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id);
  -- A checkpoint a rollback took stands for the one it rolled back to: report that one (NULL: the start).
  SELECT CASE WHEN k.step_progress ? 'rolled_back_to' THEN (k.step_progress ->> 'rolled_back_to')::uuid
              ELSE k.checkpoint_id END
    INTO v_resumed_from FROM aries.checkpoints k WHERE k.checkpoint_id = v_checkpoint.checkpoint_id;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_recovered', NULL, NULL, NULL,
             pg_catalog.jsonb_build_object('failure_id', v_failure.failure_id, 'failure_type', v_failure.failure_type,
                                           'checkpoint_id', v_resumed_from,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'by', p_recovered_by));
  IF v.status = 'FAILED' AND v_failure.recovery_strategy = 'compensate' THEN
    UPDATE aries.steps s SET compensation_attempt_base = s.compensation_attempt,
                             compensation_status = CASE WHEN s.compensation_status = 'COMPLETED' THEN 'COMPLETED' END
     WHERE s.execution_id = p_execution_id AND s.compensation_status IS NOT NULL;
  ELSIF v.status = 'FAILED' THEN
    UPDATE aries.steps s SET attempt_base = s.attempt
     WHERE s.execution_id = p_execution_id AND s.status <> 'COMPLETED';
    -- Voided steps give up their positions (parked below every position already parked): the resumed run
    -- may reach them elsewhere, or not at all.
    UPDATE aries.steps s
       SET seq = -1 - s.seq - coalesce((SELECT pg_catalog.max(-x.seq) FROM aries.steps x
                                         WHERE x.execution_id = p_execution_id AND x.seq < 0), 0)
     WHERE s.execution_id = p_execution_id AND s.status = 'ROLLED_BACK' AND s.seq >= 0;
  END IF;
  UPDATE aries.executions e
     SET status = CASE WHEN v.status = 'FAILED' AND v_failure.recovery_strategy = 'compensate' THEN 'COMPENSATING'
                       WHEN v.status = 'FAILED' THEN 'PENDING' ELSE v.status END,
         error = CASE WHEN v.status = 'FAILED' AND v_failure.recovery_strategy <> 'compensate' THEN NULL ELSE e.error END,
         available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  -- A FAILED execution's failures are all settled by its recovery; a waiting retry's, only the TRANSIENT ones.
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = p_recovered_by
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND (v.status = 'FAILED' OR f.failure_type = 'TRANSIENT');
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
  RETURN v_resumed_from;
END $$;
