-- aries.fire_schedule (function)
--
-- Handles a due schedule's slots, as computed by the worker that claimed it (claim_due_schedules, same
-- transaction). Misfire (decided by the worker from the schedule's policy; recorded here): a slot is on
-- time when it starts within max_lateness_ms of its slot time.
--   skip  of the slots that came due, only the latest may start, and only if on time; the rest skipped
--   once  the latest due slot starts even if late (one catch-up run); the earlier ones skipped
--   all   every due slot still on time starts, in slot order; the older ones are missed
-- Each of p_start_slots starts one execution under the key schedule_slot_key(name, slot) (or, for a
-- built-in schedule, runs its SQL action, its count kept in action_result) and is recorded 'started';
-- the skipped and missed slots are recorded as one compact row each (first slot, last slot, count).
-- A slot is recorded once (unique (schedule_name, slot_at), ON CONFLICT DO NOTHING) and its execution
-- started once (the idempotency key); slots before the schedule's next_fire_at were handled already and
-- are ignored. next_fire_at and last_slot_at move to p_next_fire_at and the newest slot handled, never
-- backwards. AR014 for an unknown schedule. Returns the slots started here.

CREATE FUNCTION aries.fire_schedule(p_name text, p_start_slots timestamptz[],
                                    p_skipped_from timestamptz, p_skipped_through timestamptz, p_skipped_count integer,
                                    p_missed_from timestamptz, p_missed_through timestamptz, p_missed_count integer,
                                    p_next_fire_at timestamptz)
RETURNS TABLE (slot_at timestamptz, execution_id uuid, created boolean, action_result bigint)
LANGUAGE plpgsql SET search_path = '' AS $$
#variable_conflict use_column
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
  v_slot timestamptz;
  v_slot_id bigint;
  v_execution_id uuid;
  v_created boolean;
  v_result bigint;
  v_newest timestamptz := v.last_slot_at;
BEGIN
  IF p_next_fire_at IS NULL THEN
    RAISE EXCEPTION 'fire_schedule needs the next fire time of schedule "%"', p_name USING ERRCODE = 'AR011';
  END IF;
  IF p_skipped_from IS NOT NULL AND p_skipped_from >= v.next_fire_at THEN
    INSERT INTO aries.schedule_slots (schedule_name, slot_at, through_at, slot_count, status)
    VALUES (p_name, p_skipped_from, nullif(p_skipped_through, p_skipped_from), coalesce(p_skipped_count, 1), 'skipped')
    ON CONFLICT (schedule_name, slot_at) WHERE status <> 'manual' DO NOTHING;
    v_newest := GREATEST(v_newest, coalesce(p_skipped_through, p_skipped_from));
  END IF;
  IF p_missed_from IS NOT NULL AND p_missed_from >= v.next_fire_at THEN
    INSERT INTO aries.schedule_slots (schedule_name, slot_at, through_at, slot_count, status)
    VALUES (p_name, p_missed_from, nullif(p_missed_through, p_missed_from), coalesce(p_missed_count, 1), 'missed')
    ON CONFLICT (schedule_name, slot_at) WHERE status <> 'manual' DO NOTHING;
    v_newest := GREATEST(v_newest, coalesce(p_missed_through, p_missed_from));
  END IF;
  FOR v_slot IN SELECT DISTINCT u.s FROM pg_catalog.unnest(coalesce(p_start_slots, '{}')) u (s)
                 WHERE u.s >= v.next_fire_at ORDER BY u.s
  LOOP
    v_newest := GREATEST(v_newest, v_slot);
    INSERT INTO aries.schedule_slots (schedule_name, slot_at, status) VALUES (p_name, v_slot, 'started')
    ON CONFLICT (schedule_name, slot_at) WHERE status <> 'manual' DO NOTHING
    RETURNING id INTO v_slot_id;
    CONTINUE WHEN v_slot_id IS NULL;
    v_execution_id := NULL;
    v_created := false;
    v_result := NULL;
    IF v.sql_action IS NOT NULL THEN
      v_result := aries.run_schedule_action(v.sql_action);
    ELSE
      SELECT x.execution_id, x.created INTO v_execution_id, v_created
        FROM aries.start_execution(v.workflow_name, v.workflow_version, v.input,
                                   aries.schedule_slot_key(p_name, v_slot)) x;
    END IF;
    UPDATE aries.schedule_slots ss SET execution_id = v_execution_id, action_result = v_result WHERE ss.id = v_slot_id;
    RETURN QUERY SELECT v_slot, v_execution_id, v_created, v_result;
  END LOOP;
  UPDATE aries.schedules s
     SET next_fire_at = GREATEST(s.next_fire_at, p_next_fire_at,
                                            v_newest + interval '1 millisecond'),
         last_slot_at = v_newest
   WHERE s.name = p_name;
END $$;
