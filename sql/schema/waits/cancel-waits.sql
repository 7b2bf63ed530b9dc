-- aries.cancel_waits (function)
--
-- Cancels the open waits p_keys of an execution (the caller holds its row lock): each steps row becomes
-- CANCELLED with the time it ended, its wait resolved by a step_cancelled record carrying p_reason. A
-- signal the wait did not consume stays in the mailbox. A child wait's child still under way is cancelled
-- too when it was started with parent_close 'cancel': with its compensations run (p_compensate_children,
-- the default: nothing a child did for a result no one awaits stays half-applied), or, for a plain cancel
-- of the parent, without. Returns how many were cancelled.

CREATE FUNCTION aries.cancel_waits(p_execution_id uuid, p_keys text[], p_reason text,
                                   p_compensate_children boolean DEFAULT true) RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  w record;
  v_lsn bigint;
  v_count integer := 0;
BEGIN
  IF p_keys IS NULL OR pg_catalog.cardinality(p_keys) = 0 THEN
    RETURN 0;
  END IF;
  FOR w IN SELECT s.step_key, s.seq, s.attempt, wt.kind, wt.child_id FROM aries.steps s
             JOIN aries.waits wt ON wt.execution_id = s.execution_id AND wt.step_key = s.step_key
            WHERE s.execution_id = p_execution_id AND s.step_key = ANY (p_keys) AND s.status = 'WAITING'
            ORDER BY s.seq LOOP
    v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                  'step_cancelled', w.seq, w.step_key, w.attempt, pg_catalog.jsonb_build_object('reason', p_reason));
    UPDATE aries.steps s SET status = 'CANCELLED', ended_at = aries.now(),
                             error = pg_catalog.jsonb_build_object('name', 'CancelledError', 'message', p_reason)
     WHERE s.execution_id = p_execution_id AND s.step_key = w.step_key;
    UPDATE aries.waits wt SET resolved_at = aries.now(), resolved_lsn = v_lsn
     WHERE wt.execution_id = p_execution_id AND wt.step_key = w.step_key;
    UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
    IF w.kind = 'child' THEN
      PERFORM aries.cancel_execution(ch.id, pg_catalog.format('its parent %s cancelled the wait for it: %s', p_execution_id, p_reason),
                                     p_compensate_children)
         FROM aries.executions ch
        WHERE ch.id = w.child_id AND ch.parent_close = 'cancel'
          AND ch.status IN ('PENDING', 'RUNNING', 'SLEEPING', 'WAITING');
    END IF;
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;
