-- aries.list_queues (function)
--
-- Every queue (p_name NULL) or one, with its limits and live stats on the database clock: pending (PENDING
-- and due), delayed (PENDING, not yet due), running (holding a slot: a lease owner), waiting (SLEEPING or
-- WAITING, holding no slot), oldest_due_ms (how long the oldest due PENDING one has been due) and
-- started_in_window (first starts within the rate period, when the queue has a rate limit). Each count is
-- an index range of the queue's own rows.

CREATE FUNCTION aries.list_queues(p_name text DEFAULT NULL)
RETURNS TABLE (name text, concurrency integer, worker_concurrency integer, key_concurrency integer,
               rate_limit integer, rate_period_ms bigint, paused boolean, source text, created_at timestamptz,
               updated_at timestamptz, pending bigint, delayed bigint, running bigint, waiting bigint,
               oldest_due_ms double precision, started_in_window bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT q.name, q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit, q.rate_period_ms, q.paused,
         q.source, q.created_at, q.updated_at,
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()),
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at > aries.now()),
         (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.queue_name = q.name AND e.lease_owner IS NOT NULL),
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status IN ('SLEEPING', 'WAITING')),
         (SELECT pg_catalog.date_part('epoch', aries.now() - pg_catalog.min(e.available_at)) * 1000 FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()),
         CASE WHEN q.rate_limit IS NOT NULL THEN
           (SELECT pg_catalog.count(*) FROM aries.executions e
             WHERE e.queue_name = q.name AND e.started_at > aries.now() - q.rate_period_ms * interval '1 millisecond'
               AND e.started_at <= aries.now()) END
    FROM aries.queues q
   WHERE p_name IS NULL OR q.name = p_name
   ORDER BY q.name
$$;
