-- aries.purges (table)
--
-- The audit record of aries.purge_execution: one row per purge, kept after the execution is gone. Who
-- purged it (the name the caller gave, and the database user of the session that did it), why, when on
-- the database clock, which workflow it belonged to and the status it had, and how many rows went with it
-- (its children included). Nothing in it repeats the execution's payloads. The runtime role may read it
-- but neither change nor delete it (sql/roles.sql).

CREATE TABLE aries.purges (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id    uuid NOT NULL,
  workflow_name   text NOT NULL,
  workflow_version text NOT NULL,
  status          text NOT NULL,
  purged_by       text NOT NULL CHECK (purged_by <> '' AND pg_catalog.length(purged_by) <= 256),
  database_user   text NOT NULL,
  reason          text CHECK (pg_catalog.length(reason) <= 4096),
  purged_at       timestamptz NOT NULL DEFAULT aries.now(),
  executions      integer NOT NULL CHECK (executions >= 1),
  steps           integer NOT NULL,
  journal_records integer NOT NULL,
  checkpoints     integer NOT NULL,
  failures        integer NOT NULL,
  signals         integer NOT NULL,
  waits           integer NOT NULL
);
-- The audit trail of one execution id, newest first (a purge is listed by the id it named).
CREATE INDEX purges_execution_idx ON aries.purges (execution_id);
CREATE INDEX purges_purged_at_idx ON aries.purges (purged_at);
