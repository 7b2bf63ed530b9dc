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
