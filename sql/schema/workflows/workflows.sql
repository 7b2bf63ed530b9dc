-- aries.workflows (table)
--
-- What workers have registered (name, version); start_execution refuses an unknown name. queue_name is
-- the queue the definition names (its executions start there unless a start names another).

CREATE TABLE aries.workflows (
  name          text NOT NULL,
  version       text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  queue_name    text,
  PRIMARY KEY (name, version),
  CONSTRAINT workflows_check CHECK (name <> '' AND version <> '')
);
