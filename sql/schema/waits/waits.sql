-- aries.waits (table)
--
-- What an open or finished wait of an execution waits for: one row per wait step (its steps row has the
-- same key and kind, WAITING while the wait is open). wake_at is when it resolves by itself, on the
-- database clock: a sleep's end, a signal wait's or a child's timeout (NULL: none). A signal wait names
-- its signal; a child wait its child execution. resolved_at / resolved_lsn are set when it resolves (the
-- LSN of the journal record that settled it), is cancelled, or times out: replay settles waits in the
-- order of those LSNs, so a race between waits goes the same way every time.

CREATE TABLE aries.waits (
  execution_id uuid NOT NULL,
  step_key     text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('sleep', 'signal', 'child')),
  wake_at      timestamptz,
  signal_name  text,
  child_id     uuid,
  created_at   timestamptz NOT NULL DEFAULT aries.now(),
  resolved_at  timestamptz,
  resolved_lsn bigint,
  PRIMARY KEY (execution_id, step_key),
  FOREIGN KEY (execution_id, step_key) REFERENCES aries.steps (execution_id, step_key) ON DELETE CASCADE,
  CONSTRAINT waits_sleep_check CHECK (kind <> 'sleep' OR wake_at IS NOT NULL),
  CONSTRAINT waits_signal_check CHECK ((kind = 'signal') = (signal_name IS NOT NULL)),
  CONSTRAINT waits_child_check CHECK ((kind = 'child') = (child_id IS NOT NULL)),
  CONSTRAINT waits_resolved_check CHECK ((resolved_at IS NULL) = (resolved_lsn IS NULL))
);
-- The open waits of an execution, and those for a signal name.
CREATE INDEX waits_open_idx ON aries.waits (execution_id, signal_name) WHERE resolved_at IS NULL;
-- The wait a child's end settles.
CREATE INDEX waits_child_idx ON aries.waits (child_id) WHERE child_id IS NOT NULL;
