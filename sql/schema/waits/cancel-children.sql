-- aries.cancel_children (function)
--
-- Cancels the children of an execution that are still under way (PENDING, RUNNING, SLEEPING, WAITING)
-- and were started with parent_close 'cancel' (those with 'abandon' run on), each through
-- aries.cancel_execution, so their own children follow. p_compensate: each is cancelled with its
-- compensations run (its completed steps undone), as when the parent itself compensates. A child that
-- ended (FAILED included: its failure is the parent's step's) or is already being undone is left as it is.
-- Returns how many were cancelled.

CREATE FUNCTION aries.cancel_children(p_parent_id uuid, p_reason text, p_compensate boolean DEFAULT false) RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_child uuid;
  v_count integer := 0;
BEGIN
  FOR v_child IN SELECT ch.id FROM aries.executions ch
                  WHERE ch.parent_id = p_parent_id AND ch.parent_close = 'cancel'
                    AND ch.status IN ('PENDING', 'RUNNING', 'SLEEPING', 'WAITING')
                  ORDER BY ch.id LOOP
    PERFORM aries.cancel_execution(v_child, p_reason, p_compensate);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;
