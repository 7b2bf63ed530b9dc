-- aries.workflows (table)
--
-- What workers have registered (name, version); start_execution refuses an unknown name.

CREATE TABLE aries.workflows (
  name          text NOT NULL,
  version       text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (name, version),
  CONSTRAINT workflows_check CHECK (name <> '' AND version <> '')
);
