-- aries.delete_schedule (function)
--
-- Deletes a schedule and its slot records (the executions it started stay). A built-in schedule cannot
-- be deleted (pause it instead: AR011); AR014 for an unknown name.

CREATE FUNCTION aries.delete_schedule(p_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  IF v.sql_action IS NOT NULL THEN
    RAISE EXCEPTION 'schedule "%" is built in: pause it instead of deleting it', p_name USING ERRCODE = 'AR011';
  END IF;
  DELETE FROM aries.schedules s WHERE s.name = p_name;
END $$;

-- It deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.delete_schedule(text) FROM PUBLIC;
