-- aries.run_schedule_action (function)
--
-- Runs a built-in schedule's SQL action in the caller's transaction and returns its count. The set is
-- closed: schedules_sql_action_check lists the same names, and a migration adding an action replaces
-- both.

CREATE FUNCTION aries.run_schedule_action(p_action text) RETURNS bigint
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  CASE p_action
    WHEN 'auto_recover_failures' THEN RETURN aries.auto_recover_failures();
    WHEN 'purge_finished' THEN RETURN (SELECT p.executions FROM aries.purge_finished() p);
    ELSE RAISE EXCEPTION 'unknown schedule action "%"', p_action USING ERRCODE = 'AR011';
  END CASE;
END $$;
