-- aries.upsert_schedule (function)
--
-- Creates a schedule, or changes the one of that name. The caller computes p_next_fire_at, the first slot
-- after now (database clock) of p_cron in p_timezone: the SDK, CLI and API do so with croner, which is
-- also what checks that the cron expression and timezone are valid (this function cannot). A change of
-- cron or timezone takes p_next_fire_at (slots are recomputed from now); the same cron and timezone keep
-- the schedule's next_fire_at, so re-declaring a schedule at every deploy neither skips nor repeats a slot.
-- paused and last_slot_at are kept. Refused (nothing stored): an unknown workflow (AR004), a bad misfire
-- or max_lateness_ms, or a built-in name ('aries.…') (AR011). Returns whether it was created and its
-- next_fire_at.

CREATE FUNCTION aries.upsert_schedule(p_name text, p_cron text, p_timezone text, p_workflow text, p_version text,
                                      p_input jsonb, p_misfire text, p_max_lateness_ms bigint,
                                      p_next_fire_at timestamptz)
RETURNS TABLE (created boolean, next_fire_at timestamptz)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_old aries.schedules;
BEGIN
  IF p_name IS NULL OR p_name = '' OR p_name LIKE 'aries.%' THEN
    RAISE EXCEPTION 'schedule name "%" is not allowed: it must be non-empty and not begin with "aries." (built in)',
      p_name USING ERRCODE = 'AR011';
  END IF;
  IF p_misfire IS NULL OR p_misfire NOT IN ('skip', 'once', 'all') THEN
    RAISE EXCEPTION 'misfire must be ''skip'', ''once'' or ''all'', got %', coalesce('"' || p_misfire || '"', 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF p_max_lateness_ms IS NULL OR p_max_lateness_ms <= 0 THEN
    RAISE EXCEPTION 'max_lateness_ms must be a positive number of milliseconds, got %', coalesce(p_max_lateness_ms::text, 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF p_cron IS NULL OR p_cron = '' OR p_timezone IS NULL OR p_timezone = '' OR p_next_fire_at IS NULL THEN
    RAISE EXCEPTION 'a schedule needs a cron expression, a timezone and its next fire time' USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.resolve_workflow_version(p_workflow, p_version);

  SELECT * INTO v_old FROM aries.schedules s WHERE s.name = p_name FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO aries.schedules (name, cron, timezone, workflow_name, workflow_version, input, misfire, max_lateness_ms,
                                 next_fire_at)
    VALUES (p_name, p_cron, p_timezone, p_workflow, p_version, p_input, p_misfire, p_max_lateness_ms, p_next_fire_at)
    ON CONFLICT (name) DO NOTHING;
    IF FOUND THEN
      RETURN QUERY SELECT true, p_next_fire_at;
      RETURN;
    END IF;
    -- Created meanwhile by a concurrent call: change that one.
    SELECT * INTO v_old FROM aries.schedules s WHERE s.name = p_name FOR UPDATE;
  END IF;
  IF (v_old.cron, v_old.timezone) IS DISTINCT FROM (p_cron, p_timezone) AND p_next_fire_at <= v_old.last_slot_at THEN
    RAISE EXCEPTION 'schedule "%": next fire time % is not after its last handled slot %', p_name, p_next_fire_at,
      v_old.last_slot_at USING ERRCODE = 'AR011';
  END IF;
  UPDATE aries.schedules s
     SET cron = p_cron, timezone = p_timezone, workflow_name = p_workflow, workflow_version = p_version,
         input = p_input, misfire = p_misfire, max_lateness_ms = p_max_lateness_ms,
         next_fire_at = CASE WHEN (v_old.cron, v_old.timezone) IS DISTINCT FROM (p_cron, p_timezone)
                             THEN p_next_fire_at ELSE s.next_fire_at END,
         updated_at = GREATEST(aries.now(), s.created_at)
   WHERE s.name = p_name;
  RETURN QUERY SELECT false, s.next_fire_at FROM aries.schedules s WHERE s.name = p_name;
END $$;
