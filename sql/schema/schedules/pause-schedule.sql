-- aries.pause_schedule (function)
--
-- Pauses a schedule: no slot fires while it is paused. Its next_fire_at stays, so on resume the slots
-- that came due meanwhile are handled by its misfire policy. AR014 for an unknown name. Returns whether
-- it was paused before.

CREATE FUNCTION aries.pause_schedule(p_name text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  UPDATE aries.schedules s SET paused = true, updated_at = GREATEST(aries.now(), s.created_at)
   WHERE s.name = p_name;
  RETURN v.paused;
END $$;
