-- aries.workers (table)
--
-- The workers registry: one row per worker process that started, whether or not it holds a lease, so an
-- idle worker is seen. A worker registers at start (register_worker), heartbeats every lease_ms / 3 on
-- the database clock (heartbeat_worker) and marks its clean stop (deregister_worker, stopped_at). A worker
-- that died without stopping keeps its row, its heartbeat ageing: list_workers calls it stale once the
-- heartbeat is older than three lease lengths. Stopped and stale rows are pruned by register_worker after
-- aries.workers_prune_age(lease_ms). Leases never depend on this table: it is what operators read.

CREATE TABLE aries.workers (
  worker_id    text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  workflows    text[] NOT NULL,
  concurrency  integer NOT NULL CHECK (concurrency > 0),
  lease_ms     integer NOT NULL CHECK (lease_ms > 0),
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  stopped_at   timestamptz,
  CONSTRAINT workers_stopped_check CHECK (stopped_at IS NULL OR stopped_at >= started_at)
);
