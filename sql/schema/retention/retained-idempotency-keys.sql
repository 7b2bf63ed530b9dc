-- aries.retained_idempotency_keys (table)
--
-- The idempotency key of a purged execution whose workflow keeps keys longer than bodies: a start under
-- the key returns the execution it started (created false, its final status) until expires_at, though the
-- body is gone. A key lives either here or on an executions row, never both: purge_finished moves it in the
-- transaction that deletes the body, and deletes it once expired.

CREATE TABLE aries.retained_idempotency_keys (
  idempotency_key text PRIMARY KEY,
  workflow_name   text NOT NULL,
  execution_id    uuid NOT NULL UNIQUE,
  status          text NOT NULL CHECK (status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')),
  finished_at     timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  CONSTRAINT retained_idempotency_keys_check CHECK (expires_at > finished_at)
);
-- Expired keys, oldest first (purge_finished deletes them in bounded batches).
CREATE INDEX retained_idempotency_keys_expires_idx ON aries.retained_idempotency_keys (expires_at);
