-- aries.steps (table)
--
-- One row per step key of an execution: (execution_id, step_key) and (execution_id, seq) are unique, so
-- a step cannot be recorded twice nor two steps at one position. A step's output record and completion
-- time exist exactly when it is COMPLETED; a compensation is recorded only for a completed step.
-- kind is what the workflow code ran under the key ('step', 'transaction', or a wait: 'sleep', 'signal',
-- 'child', whose row is WAITING while the wait is open); a row keeps it for good
-- (apply_step_requests refuses a start of another kind). It is the last column because a migration
-- added it: columns keep the order in which migrations made them. ended_at: when a step that did not
-- complete stopped (cancelled, a wait that timed out), so that its duration is real.

CREATE TABLE aries.steps (
  execution_id  uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  step_key      text NOT NULL CHECK (step_key <> ''),
  seq           integer NOT NULL,
  status        text NOT NULL,
  attempt       integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  output_lsn    bigint,
  error         jsonb,
  started_at    timestamptz NOT NULL DEFAULT aries.now(),
  completed_at  timestamptz,
  -- attempt - attempt_base is how many attempts the current retry budget has used; recovery resets it.
  attempt_base  integer NOT NULL DEFAULT 0,
  compensation_status       text CHECK (compensation_status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING')),
  compensation_attempt      integer NOT NULL DEFAULT 0,
  compensation_attempt_base integer NOT NULL DEFAULT 0,
  compensation_error        jsonb,
  compensated_at            timestamptz,
  kind                      text NOT NULL DEFAULT 'step',
  ended_at                  timestamptz,
  PRIMARY KEY (execution_id, step_key),
  UNIQUE (execution_id, seq),
  CONSTRAINT steps_status_check CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING', 'ROLLED_BACK', 'WAITING', 'CANCELLED')),
  -- recovery parks ROLLED_BACK rows at negative positions, so that they hold none
  CONSTRAINT steps_seq_check CHECK (seq >= 0 OR status = 'ROLLED_BACK'),
  CONSTRAINT steps_output_check CHECK ((status = 'COMPLETED') = (output_lsn IS NOT NULL)),
  CONSTRAINT steps_completed_at_check CHECK ((status = 'COMPLETED') = (completed_at IS NOT NULL)),
  CONSTRAINT steps_compensated_check CHECK (compensation_status IS NULL OR status = 'COMPLETED'),
  CONSTRAINT steps_kind_check CHECK (kind IN ('step', 'transaction', 'sleep', 'signal', 'child')),
  -- an open wait is one of the wait kinds
  CONSTRAINT steps_waiting_check CHECK (status <> 'WAITING' OR kind IN ('sleep', 'signal', 'child'))
);
