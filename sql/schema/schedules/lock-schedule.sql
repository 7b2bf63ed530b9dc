-- aries.lock_schedule (function)
--
-- Locks a schedule's row (FOR UPDATE) and returns it; AR014 when there is no schedule of that name.
-- Every operator action on a schedule starts here, so they serialise with each other and with firing.

CREATE FUNCTION aries.lock_schedule(p_name text) RETURNS aries.schedules
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.schedules;
BEGIN
  SELECT * INTO v FROM aries.schedules s WHERE s.name = p_name FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'schedule "%" not found', p_name USING ERRCODE = 'AR014';
  END IF;
  RETURN v;
END $$;
