-- aries.journal (table)
--
-- The append-only write-ahead log of an execution: a global monotonic LSN, prev_lsn chaining the records
-- of one execution, and a checksum binding execution, sequence, step key, attempt, kind, prev_lsn and
-- payload. Replay reads step outputs only from records whose checksum still matches. A record names a
-- whole step (key, position, attempt) or none of it; step and compensation records name one.

CREATE TABLE aries.journal (
  lsn          bigint PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  prev_lsn     bigint,
  kind         text NOT NULL,
  seq          integer,
  step_key     text,
  attempt      integer,
  payload      jsonb,
  checksum     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT journal_check CHECK (prev_lsn IS NULL OR prev_lsn < lsn),
  CONSTRAINT journal_kind_check CHECK (kind IN (
    'execution_started', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
    'execution_completed', 'execution_failed', 'execution_released', 'execution_rolled_back',
    'execution_recovered', 'execution_compensating', 'compensation_started', 'compensation_completed',
    'compensation_failed', 'compensation_retrying', 'execution_compensated', 'execution_cancelled',
    'step_waiting', 'step_cancelled', 'signal_received', 'execution_suspended', 'execution_sub_committed',
    'execution_input_replaced')),
  CONSTRAINT journal_step_fields_check CHECK (
    (kind LIKE 'step_%' OR kind LIKE 'compensation_%') = (step_key IS NOT NULL AND seq IS NOT NULL AND attempt IS NOT NULL)),
  CONSTRAINT journal_step_fields_whole_check CHECK (pg_catalog.num_nulls(step_key, seq, attempt) IN (0, 3))
);
CREATE INDEX journal_execution_idx ON aries.journal (execution_id, lsn);
