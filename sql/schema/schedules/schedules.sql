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
  sql_action       text CONSTRAINT schedules_sql_action_check CHECK (sql_action IN ('auto_recover_failures', 'purge_finished')),
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
-- The built-in retention pass (aries.purge_finished, one bounded batch), every 10 seconds.
INSERT INTO aries.schedules (name, cron, timezone, sql_action, misfire, max_lateness_ms, next_fire_at)
VALUES ('aries.retention', '*/10 * * * * *', 'UTC', 'purge_finished', 'skip', 60000,
        pg_catalog.date_bin('10 seconds', aries.now(), timestamptz '2000-01-01 00:00:00+00') + interval '10 seconds');
