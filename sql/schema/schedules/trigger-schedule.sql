-- aries.trigger_schedule (function)
--
-- Runs a schedule once now, outside its cron slots (even when paused): a 'manual' slot at aries.now(),
-- its execution started under the key 'aries:schedule:<name>:manual:<slot id>' (a built-in schedule runs
-- its SQL action here instead). Its cron slots and next_fire_at are untouched. AR014 for an unknown name.

CREATE FUNCTION aries.trigger_schedule(p_name text)
RETURNS TABLE (slot_id bigint, execution_id uuid, action_result bigint)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
  v_slot_id bigint;
  v_execution_id uuid;
  v_result bigint;
BEGIN
  INSERT INTO aries.schedule_slots (schedule_name, slot_at, status) VALUES (p_name, aries.now(), 'manual')
  RETURNING id INTO v_slot_id;
  IF v.sql_action IS NOT NULL THEN
    v_result := aries.run_schedule_action(v.sql_action);
  ELSE
    SELECT x.execution_id INTO v_execution_id
      FROM aries.start_execution(v.workflow_name, v.workflow_version, v.input,
                                 'aries:schedule:' || p_name || ':manual:' || v_slot_id) x;
  END IF;
  UPDATE aries.schedule_slots ss SET execution_id = v_execution_id, action_result = v_result WHERE ss.id = v_slot_id;
  RETURN QUERY SELECT v_slot_id, v_execution_id, v_result;
END $$;
