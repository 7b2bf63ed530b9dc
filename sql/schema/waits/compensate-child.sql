-- aries.compensate_child (function)
--
-- The parent's compensation has reached, in reverse order, a child step: the child's effects are undone
-- as a unit, by its own compensations, before the parent's earlier steps are. A SUB_COMMITTED child is
-- made COMPENSATING (due now) and the parent waits for it, COMPENSATING without a lease (due at infinity:
-- the child's end wakes it, aries.follow_execution_end); 'waiting'. A child already undone (COMPENSATED or
-- CANCELLED) completes the parent step's compensation; 'done'. A child whose compensation failed (FAILED)
-- is 'failed': the parent's compensation fails PARTIAL, as when one of its own fails. AR002 a lost lease,
-- AR003 a parent not COMPENSATING, AR005 a step that did not complete.

CREATE FUNCTION aries.compensate_child(p_execution_id uuid, p_token bigint, p_step_key text)
RETURNS TABLE (outcome text, child_id uuid, child_status text, child_error jsonb)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_step aries.steps := aries.lock_compensation(p_execution_id, p_token, p_step_key);
  c aries.executions;
  v_lsn bigint;
  v_attempt integer := v_step.compensation_attempt;
BEGIN
  SELECT ch.* INTO c FROM aries.executions ch
   WHERE ch.id = (SELECT wt.child_id FROM aries.waits wt WHERE wt.execution_id = p_execution_id AND wt.step_key = p_step_key)
     FOR UPDATE;
  IF v_step.compensation_status = 'COMPLETED' THEN
    RETURN QUERY SELECT 'done'::text, c.id, c.status, c.error;
    RETURN;
  END IF;
  IF c.status IN ('COMPENSATED', 'CANCELLED', 'COMPLETED') OR c.id IS NULL THEN
    IF v_step.compensation_status IS NULL OR v_step.compensation_status <> 'RUNNING' THEN
      v_attempt := aries.record_compensation(p_execution_id, p_token, p_step_key, 'started');
    END IF;
    PERFORM aries.record_compensation(p_execution_id, p_token, p_step_key, 'completed', v_attempt,
      pg_catalog.jsonb_build_object('child', c.id, 'childStatus', c.status));
    RETURN QUERY SELECT 'done'::text, c.id, c.status, c.error;
    RETURN;
  END IF;
  IF c.status = 'FAILED' THEN
    RETURN QUERY SELECT 'failed'::text, c.id, c.status, c.error;
    RETURN;
  END IF;
  IF c.status = 'SUB_COMMITTED' THEN
    IF v_step.compensation_status IS NULL OR v_step.compensation_status <> 'RUNNING' THEN
      PERFORM aries.record_compensation(p_execution_id, p_token, p_step_key, 'started');
    END IF;
    v_lsn := aries.append_journal(c.id, c.last_lsn, 'execution_compensating', NULL, NULL, NULL,
      pg_catalog.jsonb_build_object('reason', pg_catalog.format('compensated with its parent %s', p_execution_id)));
    UPDATE aries.executions e
       SET status = 'COMPENSATING', output = NULL, available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now(),
           error = pg_catalog.jsonb_build_object('name', 'ParentCompensatingError', 'code', 'PARENT_COMPENSATING',
             'message', pg_catalog.format('compensated with its parent %s', p_execution_id))
     WHERE e.id = c.id;
    PERFORM pg_catalog.pg_notify('aries_wakeup', c.workflow_name);
  END IF;
  -- The child is being undone (or still runs its compensations): the parent waits for it, holding nothing.
  UPDATE aries.executions e SET lease_owner = NULL, lease_expires_at = NULL, available_at = 'infinity', updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN QUERY SELECT 'waiting'::text, c.id, 'COMPENSATING'::text, NULL::jsonb;
END $$;
