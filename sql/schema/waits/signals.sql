-- aries.signals (table)
--
-- The durable mailbox of every execution: a signal is kept from the moment its sender's transaction
-- commits until a wait for its name consumes it (consumed_by: that wait's step key), oldest first per
-- name (id is the order of sending). An idempotency key makes re-sending the same signal harmless.

CREATE TABLE aries.signals (
  id              bigserial PRIMARY KEY,
  execution_id    uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  name            text NOT NULL CHECK (name <> ''),
  payload         jsonb,
  idempotency_key text CHECK (idempotency_key <> ''),
  sent_at         timestamptz NOT NULL DEFAULT aries.now(),
  consumed_by     text,
  consumed_at     timestamptz,
  UNIQUE (execution_id, idempotency_key),
  CONSTRAINT signals_consumed_check CHECK ((consumed_by IS NULL) = (consumed_at IS NULL))
);
-- The oldest unconsumed signal of a name: what a wait takes.
CREATE INDEX signals_mailbox_idx ON aries.signals (execution_id, name, id) WHERE consumed_by IS NULL;
