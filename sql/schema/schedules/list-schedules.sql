-- aries.list_schedules (function)
--
-- Every schedule with its definition, state and its newest p_recent slot records (newest first, as JSON:
-- slot, through, count, status, execution id and status, action result), by name.

CREATE FUNCTION aries.list_schedules(p_recent integer DEFAULT 5)
RETURNS TABLE (name text, cron text, timezone text, workflow_name text, workflow_version text, input jsonb,
               sql_action text, misfire text, max_lateness_ms bigint, paused boolean, next_fire_at timestamptz,
               last_slot_at timestamptz, created_at timestamptz, updated_at timestamptz, recent_slots jsonb)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.name, s.cron, s.timezone, s.workflow_name, s.workflow_version, s.input, s.sql_action, s.misfire,
         s.max_lateness_ms, s.paused, s.next_fire_at, s.last_slot_at, s.created_at, s.updated_at,
         coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r) ORDER BY r.id DESC)
                     FROM aries.read_schedule_slots(s.name, p_recent) r), '[]'::jsonb)
    FROM aries.schedules s
   ORDER BY s.name
$$;
