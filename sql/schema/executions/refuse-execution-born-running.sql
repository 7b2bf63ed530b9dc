-- aries.refuse_execution_born_running (function)
--
-- An execution is born PENDING: every other status is reached through execution_transitions. The WHEN
-- clause keeps the hot path's upserts (which propose PENDING rows) from calling the function.

CREATE FUNCTION aries.refuse_execution_born_running() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'an execution is created PENDING, not % (its other statuses are reached by transitions)', NEW.status
    USING ERRCODE = 'AR003';
END $$;
