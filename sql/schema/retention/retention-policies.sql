-- aries.retention_policies (table)
--
-- How long finished executions are kept, per workflow, with one default row (workflow_name '*', which no
-- workflow can be named) for workflows that have none of their own. A workflow's row replaces the default
-- whole. finished_ms: how long after finished_at an execution's body (row, journal, steps, checkpoints,
-- failures, waits, signals, children) is kept (NULL: for ever); idempotency_keys_ms: how long after
-- finished_at its idempotency key is still honoured (NULL, or not longer than finished_ms: the key goes
-- with the body). source says who set it: a definition's row is replaced at the next registration, an
-- operator's row is never overwritten by a deploy. No row at all: executions are kept for ever.

CREATE TABLE aries.retention_policies (
  workflow_name       text PRIMARY KEY,
  finished_ms         bigint CHECK (finished_ms > 0),
  idempotency_keys_ms bigint CHECK (idempotency_keys_ms > 0),
  source              text NOT NULL CHECK (source IN ('definition', 'operator')),
  updated_at          timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT retention_policies_default_check CHECK (workflow_name <> '*' OR source = 'operator')
);
