-- aries.read_schedule_slots (function)
--
-- A schedule's newest p_limit slot records, newest first: started, manual, and the compact skipped and
-- missed ranges, each started one with its execution's status now. Unknown schedules have none.

CREATE FUNCTION aries.read_schedule_slots(p_name text, p_limit integer)
RETURNS TABLE (id bigint, slot_at timestamptz, through_at timestamptz, slot_count integer, status text,
               execution_id uuid, execution_status text, action_result bigint, recorded_at timestamptz)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT ss.id, ss.slot_at, ss.through_at, ss.slot_count, ss.status, ss.execution_id, e.status, ss.action_result,
         ss.recorded_at
    FROM aries.schedule_slots ss
    LEFT JOIN aries.executions e ON e.id = ss.execution_id
   WHERE ss.schedule_name = p_name
   ORDER BY ss.id DESC
   LIMIT p_limit
$$;
