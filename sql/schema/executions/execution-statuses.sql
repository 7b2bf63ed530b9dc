-- aries.execution_statuses (table)
--
-- The statuses an execution can have, and which of them are final. SUB_COMMITTED (the commit log's
-- status of a subtransaction): a child execution that completed while its parent has not; it becomes
-- COMPLETED with its parent, or is compensated with the parent's saga.

CREATE TABLE aries.execution_statuses (status text PRIMARY KEY, terminal boolean NOT NULL);
INSERT INTO aries.execution_statuses VALUES
  ('PENDING', false), ('RUNNING', false), ('SLEEPING', false), ('WAITING', false),
  ('COMPLETED', true), ('FAILED', false), ('COMPENSATING', false), ('COMPENSATED', true),
  ('CANCELLED', true), ('SUB_COMMITTED', false);
