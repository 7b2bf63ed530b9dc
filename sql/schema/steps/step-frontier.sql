-- aries.step_frontier (function)
--
-- The highest position a step of the execution holds, whatever its status, or -1 when none does. Rows
-- parked by recovery (ROLLED_BACK, negative seq) hold no position and do not count. One backward probe of
-- the (execution_id, seq) index.

CREATE FUNCTION aries.step_frontier(p_execution_id uuid) RETURNS integer
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT coalesce((SELECT s.seq FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq >= 0
                    ORDER BY s.seq DESC LIMIT 1), -1)
$$;
