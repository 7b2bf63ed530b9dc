-- aries.rollback_to_checkpoint (function)
--
-- Rolls a RUNNING execution back to its last valid checkpoint (before p_before_lsn if given): every step
-- not recorded by then becomes ROLLED_BACK, an execution_rolled_back record lists them, and a checkpoint
-- is taken at that record with the state of the one rolled back to, so that later recovery starts after
-- it and never reads the records it voided. Returns the checkpoint rolled back to (NULL: the start). A
-- checkpoint an earlier rollback took stands for the one that rollback went to, so rolling back onto it
-- names that one (rolled_back_to, the journal, the result): an execution failing again before any step
-- completed is rolled back to its start, not to a rollback's checkpoint.

CREATE FUNCTION aries.rollback_to_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_checkpoint record;
  v_keys jsonb;
  v_state jsonb;
  v_lsn bigint;
  v_completed integer;
  v_target uuid;
BEGIN
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id, p_before_lsn);
  SELECT CASE WHEN k.step_progress ? 'rolled_back_to' THEN (k.step_progress ->> 'rolled_back_to')::uuid
              ELSE k.checkpoint_id END
    INTO v_target FROM aries.checkpoints k WHERE k.checkpoint_id = v_checkpoint.checkpoint_id;
  WITH voided AS (
    UPDATE aries.steps s
       SET status = 'ROLLED_BACK', output_lsn = NULL, completed_at = NULL, compensation_status = NULL
     WHERE s.execution_id = p_execution_id AND s.status <> 'ROLLED_BACK'
       AND (v_checkpoint.lsn IS NULL
            OR s.status IN ('RUNNING', 'RETRYING')
            OR (s.status = 'COMPLETED' AND s.output_lsn > v_checkpoint.lsn)
            -- a failure the workflow caught before the checkpoint is part of its state; a later one is not
            OR (s.status = 'FAILED' AND EXISTS (SELECT 1 FROM aries.journal j
                                                 WHERE j.execution_id = s.execution_id AND j.lsn > v_checkpoint.lsn
                                                   AND j.kind = 'step_failed' AND j.step_key = s.step_key)))
    RETURNING s.step_key, s.seq
  )
  SELECT coalesce(pg_catalog.jsonb_agg(voided.step_key ORDER BY voided.seq), '[]'::jsonb) INTO v_keys FROM voided;
  SELECT pg_catalog.count(*) INTO v_completed FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.status = 'COMPLETED';
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
             'execution_rolled_back', NULL, NULL, NULL,
             pg_catalog.jsonb_build_object('checkpoint_id', v_target,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'rolled_back', v_keys));
  v_state := coalesce(v_checkpoint.state_data, pg_catalog.jsonb_build_object('completed_steps', 0));
  INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum)
  VALUES (p_execution_id, v_lsn, v_state,
          pg_catalog.jsonb_build_object('completed', v_completed, 'rolled_back_to', v_target),
          aries.checkpoint_checksum(p_execution_id, v_lsn, v_state));
  UPDATE aries.executions e SET last_lsn = v_lsn, step_count = v_completed, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_target;
END $$;
