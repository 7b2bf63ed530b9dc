-- aries.checkpoints (table)
--
-- Snapshots that bound recovery: a resuming worker reads the newest checkpoint whose checksum
-- (checkpoint_checksum) matches and the journal after it, never the history before it.

CREATE TABLE aries.checkpoints (
  checkpoint_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  execution_id    uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  lsn             bigint NOT NULL,
  checkpoint_time timestamptz NOT NULL DEFAULT aries.now(),
  state_data      jsonb NOT NULL,
  step_progress   jsonb,
  checksum        text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT aries.now()
);
CREATE INDEX checkpoints_execution_idx ON aries.checkpoints (execution_id, lsn DESC);
