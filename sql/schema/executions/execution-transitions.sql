-- aries.execution_transitions (table)
--
-- The state machine: its rows are the legal transitions of an execution's status, and the trigger
-- executions_transition_guard refuses any other. src/core/execution-states.ts holds the same table; a
-- test keeps them equal.

CREATE TABLE aries.execution_transitions (
  from_status text NOT NULL REFERENCES aries.execution_statuses (status),
  to_status   text NOT NULL REFERENCES aries.execution_statuses (status),
  PRIMARY KEY (from_status, to_status),
  CONSTRAINT execution_transitions_check CHECK (from_status <> to_status)
);
INSERT INTO aries.execution_transitions VALUES
  ('PENDING', 'RUNNING'), ('PENDING', 'CANCELLED'),
  ('RUNNING', 'PENDING'), ('RUNNING', 'SLEEPING'), ('RUNNING', 'WAITING'), ('RUNNING', 'COMPLETED'),
  ('RUNNING', 'FAILED'), ('RUNNING', 'COMPENSATING'), ('RUNNING', 'CANCELLED'),
  ('RUNNING', 'SUB_COMMITTED'),
  -- a waiter is claimed when due, cancelled at once, or cancelled with its compensations run
  ('SLEEPING', 'RUNNING'), ('SLEEPING', 'CANCELLED'), ('SLEEPING', 'COMPENSATING'),
  ('WAITING', 'RUNNING'), ('WAITING', 'CANCELLED'), ('WAITING', 'COMPENSATING'),
  -- a completed child commits with its parent, or is undone with the parent's saga
  ('SUB_COMMITTED', 'COMPLETED'), ('SUB_COMMITTED', 'COMPENSATING'),
  -- a failed execution is retried or recovered (PENDING), its compensation resumed, or it is cancelled
  ('FAILED', 'PENDING'), ('FAILED', 'COMPENSATING'), ('FAILED', 'CANCELLED'),
  ('COMPENSATING', 'COMPENSATED'), ('COMPENSATING', 'FAILED'), ('COMPENSATING', 'CANCELLED');
