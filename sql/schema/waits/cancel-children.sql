-- aries.cancel_children (function)
--
-- Cancels the unfinished children of an execution that were started with parent_close 'cancel' (those
-- with 'abandon' run on), each through aries.cancel_execution (so their own children follow). Returns how
-- many were cancelled.

CREATE FUNCTION aries.cancel_children(p_parent_id uuid, p_reason text) RETURNS integer
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_child uuid;
  v_count integer := 0;
BEGIN
  FOR v_child IN SELECT ch.id FROM aries.executions ch
                  WHERE ch.parent_id = p_parent_id AND ch.parent_close = 'cancel'
                    AND ch.status NOT IN ('COMPLETED', 'SUB_COMMITTED', 'COMPENSATED', 'CANCELLED')
                  ORDER BY ch.id LOOP
    PERFORM aries.cancel_execution(v_child, p_reason);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END $$;
