-- 0005_schedules: cron schedules, each slot started exactly once, with misfire policies; the recovery
-- sweep becomes a built-in schedule.
--
-- Model
--   schedules     aries.schedules holds each schedule's cron expression (read in its IANA timezone), what it
--                 starts (a workflow and its input, or for a built-in schedule a SQL action), its misfire
--                 policy and lateness bound, and next_fire_at, its first slot not yet handled. Slot times
--                 are computed by the workers' cron library (croner) from next_fire_at and the database
--                 clock; the database stores and judges them.
--   firing        a worker claims due schedules (claim_due_schedules: FOR UPDATE SKIP LOCKED, with
--                 aries.now()), computes their due slots, and calls fire_schedule in the same transaction:
--                 each started slot is one aries.schedule_slots row (unique per (schedule, slot)) and one
--                 execution under the idempotency key aries:schedule:<name>:<slot ISO>; skipped and missed
--                 slots are one compact row per run of them; next_fire_at never moves backwards. A worker
--                 that dies before COMMIT fires nothing; two workers never fire a slot twice.
--   misfire       a slot is on time when it starts within max_lateness_ms of its slot time. skip: only the
--                 latest due slot may start, if on time; once: the latest starts even if late; all: every
--                 due slot still on time starts, older ones missed.
--   built in      'aries.auto-recover' runs aries.auto_recover_failures() every 5 minutes (misfire skip),
--                 replacing the sweep each worker ran on its own timer; pause it to run the sweep from
--                 pg_cron instead. Its action is one of the fixed set run_schedule_action knows.

-- ---- schedules/schedules.sql --------------------------------------------------------------------
-- aries.schedules (table)
--
-- A schedule starts an execution of its workflow (or runs a built-in SQL action) at every slot of its cron
-- expression, read in its IANA timezone. next_fire_at is its first slot not yet handled: a schedule is
-- due when next_fire_at <= aries.now() and it is not paused. Slots are computed by the SDK's cron library
-- (croner) from next_fire_at, never from a worker's clock; the database stores and judges them.
-- last_slot_at is the newest slot handled (started, skipped or missed). Exactly one of workflow_name and
-- sql_action is set: sql_action names a function of the fixed set run_schedule_action knows (a later
-- migration extends both the CHECK and that function). Names beginning 'aries.' are built in.
-- The built-in 'aries.auto-recover' runs auto_recover_failures every 5 minutes (misfire skip); operators
-- who run it with pg_cron instead pause it.

CREATE TABLE aries.schedules (
  name             text PRIMARY KEY CHECK (name <> '' AND pg_catalog.octet_length(name) <= 256),
  cron             text NOT NULL CHECK (cron <> '' AND pg_catalog.octet_length(cron) <= 256),
  timezone         text NOT NULL DEFAULT 'UTC' CHECK (timezone <> '' AND pg_catalog.octet_length(timezone) <= 64),
  workflow_name    text CHECK (workflow_name <> ''),
  workflow_version text CHECK (workflow_version <> ''),
  input            jsonb,
  sql_action       text CONSTRAINT schedules_sql_action_check CHECK (sql_action IN ('auto_recover_failures')),
  misfire          text NOT NULL DEFAULT 'skip' CHECK (misfire IN ('skip', 'once', 'all')),
  max_lateness_ms  bigint NOT NULL DEFAULT 60000 CHECK (max_lateness_ms > 0),
  paused           boolean NOT NULL DEFAULT false,
  next_fire_at     timestamptz NOT NULL,
  last_slot_at     timestamptz CHECK (last_slot_at < next_fire_at),
  created_at       timestamptz NOT NULL DEFAULT aries.now(),
  updated_at       timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT schedules_action_check CHECK ((workflow_name IS NULL) <> (sql_action IS NULL)),
  CONSTRAINT schedules_version_check CHECK (workflow_version IS NULL OR workflow_name IS NOT NULL),
  CONSTRAINT schedules_input_check CHECK (sql_action IS NULL OR input IS NULL),
  CONSTRAINT schedules_builtin_check CHECK ((sql_action IS NOT NULL) = (name LIKE 'aries.%')),
  CONSTRAINT schedules_updated_check CHECK (updated_at >= created_at)
);
-- What claim_due_schedules scans: the schedules that are not paused, by their next slot.
CREATE INDEX schedules_due_idx ON aries.schedules (next_fire_at) WHERE NOT paused;

-- The built-in recovery sweep, due at the next 5-minute boundary.
INSERT INTO aries.schedules (name, cron, timezone, sql_action, misfire, max_lateness_ms, next_fire_at)
VALUES ('aries.auto-recover', '0 */5 * * * *', 'UTC', 'auto_recover_failures', 'skip', 60000,
        pg_catalog.date_bin('5 minutes', aries.now(), timestamptz '2000-01-01 00:00:00+00') + interval '5 minutes');

-- ---- schedules/schedule-slots.sql ---------------------------------------------------------------
-- aries.schedule_slots (table)
--
-- What each schedule did with its slots. A 'started' row is one cron slot that started its execution (or
-- ran its SQL action, whose count is in action_result); a 'manual' row is a run an operator triggered now
-- (trigger_schedule). 'skipped' and 'missed' rows are compact: one row stands for slot_count consecutive
-- slots from slot_at through through_at (through_at NULL for one slot), so a long downtime of a
-- per-second schedule writes a few rows, not one per second. Unique (schedule_name, slot_at) for cron
-- slots: a slot is recorded, and its execution started, once, whatever the number of workers firing.

CREATE TABLE aries.schedule_slots (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schedule_name text NOT NULL REFERENCES aries.schedules (name) ON DELETE CASCADE,
  slot_at       timestamptz NOT NULL,
  through_at    timestamptz,
  slot_count    integer NOT NULL DEFAULT 1 CHECK (slot_count >= 1),
  status        text NOT NULL CHECK (status IN ('started', 'skipped', 'missed', 'manual')),
  execution_id  uuid REFERENCES aries.executions (id) ON DELETE SET NULL,
  action_result bigint,
  recorded_at   timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT schedule_slots_range_check CHECK ((through_at IS NULL) = (slot_count = 1) AND (through_at IS NULL OR through_at > slot_at)),
  CONSTRAINT schedule_slots_compact_check CHECK (status IN ('skipped', 'missed') OR slot_count = 1),
  CONSTRAINT schedule_slots_run_check CHECK (status IN ('started', 'manual') OR (execution_id IS NULL AND action_result IS NULL))
);
-- One row per cron slot (manual runs may share a time).
CREATE UNIQUE INDEX schedule_slots_slot_idx ON aries.schedule_slots (schedule_name, slot_at) WHERE status <> 'manual';
-- A schedule's recent slots, newest first.
CREATE INDEX schedule_slots_recent_idx ON aries.schedule_slots (schedule_name, id DESC);

-- ---- schedules/schedule-slot-key.sql ------------------------------------------------------------
-- aries.schedule_slot_key (function)
--
-- The idempotency key of the execution a cron slot starts: 'aries:schedule:<name>:<slot, ISO 8601 UTC>'.
-- Deleting and re-creating a schedule of the same name never starts a slot's execution twice.

CREATE FUNCTION aries.schedule_slot_key(p_name text, p_slot_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT 'aries:schedule:' || p_name || ':'
         || pg_catalog.to_char(p_slot_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- ---- schedules/run-schedule-action.sql ----------------------------------------------------------
-- aries.run_schedule_action (function)
--
-- Runs a built-in schedule's SQL action in the caller's transaction and returns its count. The set is
-- closed: schedules_sql_action_check lists the same names, and a migration adding an action replaces
-- both.

CREATE FUNCTION aries.run_schedule_action(p_action text) RETURNS bigint
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  CASE p_action
    WHEN 'auto_recover_failures' THEN RETURN aries.auto_recover_failures();
    ELSE RAISE EXCEPTION 'unknown schedule action "%"', p_action USING ERRCODE = 'AR011';
  END CASE;
END $$;

-- ---- schedules/lock-schedule.sql ----------------------------------------------------------------
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

-- ---- schedules/upsert-schedule.sql --------------------------------------------------------------
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

-- ---- schedules/pause-schedule.sql ---------------------------------------------------------------
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

-- ---- schedules/resume-schedule.sql --------------------------------------------------------------
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

-- ---- schedules/delete-schedule.sql --------------------------------------------------------------
-- aries.delete_schedule (function)
--
-- Deletes a schedule and its slot records (the executions it started stay). A built-in schedule cannot
-- be deleted (pause it instead: AR011); AR014 for an unknown name.

CREATE FUNCTION aries.delete_schedule(p_name text) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.schedules := aries.lock_schedule(p_name);
BEGIN
  IF v.sql_action IS NOT NULL THEN
    RAISE EXCEPTION 'schedule "%" is built in: pause it instead of deleting it', p_name USING ERRCODE = 'AR011';
  END IF;
  DELETE FROM aries.schedules s WHERE s.name = p_name;
END $$;

-- ---- schedules/trigger-schedule.sql -------------------------------------------------------------
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

-- ---- schedules/claim-due-schedules.sql ----------------------------------------------------------
-- aries.claim_due_schedules (function)
--
-- Locks (FOR UPDATE SKIP LOCKED) up to p_limit schedules that are due: not paused, next_fire_at <=
-- aries.now(). Returns each with the database clock (db_now) its slots are to be judged on. Called first
-- in the firing transaction: the worker computes the slots between now and then with croner and calls
-- fire_schedule in the same transaction, so two workers never fire the same schedule at once (the second
-- skips the locked row, then finds next_fire_at moved on), and a worker that dies before COMMIT fires
-- nothing.

CREATE FUNCTION aries.claim_due_schedules(p_limit integer)
RETURNS TABLE (name text, cron text, timezone text, misfire text, max_lateness_ms bigint, next_fire_at timestamptz,
               last_slot_at timestamptz, sql_action text, db_now timestamptz)
LANGUAGE sql SET search_path = '' AS $$
  SELECT s.name, s.cron, s.timezone, s.misfire, s.max_lateness_ms, s.next_fire_at, s.last_slot_at, s.sql_action,
         aries.now()
    FROM aries.schedules s
   WHERE NOT s.paused AND s.next_fire_at <= aries.now()
   ORDER BY s.next_fire_at, s.name
   LIMIT p_limit
     FOR UPDATE OF s SKIP LOCKED
$$;

-- ---- schedules/fire-schedule.sql ----------------------------------------------------------------
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

-- ---- schedules/read-schedule-slots.sql ----------------------------------------------------------
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

-- ---- schedules/list-schedules.sql ---------------------------------------------------------------
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
