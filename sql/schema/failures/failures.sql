-- aries.failures (table)
--
-- Recorded, classified errors (TRANSIENT / PERMANENT / PARTIAL) and how each was or will be recovered.
-- A failure is recovered exactly when recovered_at is set.

CREATE TABLE aries.failures (
  failure_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  execution_id      uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  failure_type      text NOT NULL CHECK (failure_type IN ('TRANSIENT', 'PERMANENT', 'PARTIAL')),
  failure_message   text NOT NULL,
  failure_timestamp timestamptz NOT NULL DEFAULT aries.now(),
  recovery_strategy text NOT NULL CHECK (recovery_strategy IN ('retry', 'rollback', 'compensate', 'none')),
  recovered         boolean NOT NULL DEFAULT false,
  source            text NOT NULL CHECK (source IN ('node', 'network', 'data', 'step')),
  step_key          text,
  attempt           integer,
  error_class       text,
  stack             text,
  details           jsonb,
  -- A TRANSIENT error whose retry policy ran out is recorded PERMANENT (or PARTIAL) with this set.
  retries_exhausted boolean NOT NULL DEFAULT false,
  -- The checkpoint the execution was rolled back to (NULL: its start).
  checkpoint_id     uuid,
  recovered_at      timestamptz,
  recovered_by      text CHECK (recovered_by IN ('worker', 'operator', 'sweep', 'cancel')),
  CONSTRAINT failures_recovered_check CHECK (recovered = (recovered_at IS NOT NULL))
);
CREATE INDEX failures_execution_idx ON aries.failures (execution_id, failure_timestamp DESC);
CREATE INDEX failures_unrecovered_idx ON aries.failures (failure_timestamp) WHERE NOT recovered;
CREATE INDEX failures_unrecovered_execution_idx ON aries.failures (execution_id) WHERE NOT recovered;
-- Failures newest first across all executions (the failures view and the overview's failure counts).
CREATE INDEX failures_time_idx ON aries.failures (failure_timestamp DESC, failure_id DESC);
