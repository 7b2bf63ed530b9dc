-- aries.resume_schedule (function)
--
-- Resumes a paused schedule. The slots that came due while it was paused are then handled like any
-- downtime, by its misfire policy (skip: at most the latest, if on time; once: the latest; all: those
-- still on time). AR014 for an unknown name. Returns whether it was paused before.

CREATE FUNCTION aries.resume_schedule(p_name text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  UPDATE aries.schedules s SET paused = false, updated_at = GREATEST(aries.now(), s.created_at)
   WHERE s.name = p_name;
  RETURN v.paused;
END $$;
