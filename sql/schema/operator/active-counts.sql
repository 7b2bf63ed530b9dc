-- aries.active_counts (function)
--
-- How many executions are in each status that is not final, how many PENDING ones are due now (the queue
-- depth) and how many RUNNING ones hold an expired lease (their worker died or stalled). Scans of
-- executions_status_idx, executions_runnable_idx and executions_lease_idx: their cost follows the number of
-- unfinished executions, not the size of the table. The overview and the metrics gauges both read it.

CREATE FUNCTION aries.active_counts()
RETURNS TABLE (status text, executions bigint, due bigint, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  -- One count per status, each a plain equality (or a partial index's own predicate), so each is an
  -- index(-only) scan of just that status's entries.
  SELECT c.status, c.executions, c.due, c.expired FROM (VALUES
    ('COMPENSATING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'COMPENSATING'), NULL::bigint, NULL::bigint),
    ('FAILED', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'FAILED'), NULL, NULL),
    ('PENDING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'PENDING'),
                (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'PENDING' AND e.available_at <= aries.now()), NULL),
    ('RUNNING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'RUNNING'), NULL,
                (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'RUNNING' AND e.lease_expires_at < aries.now())),
    ('SLEEPING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'SLEEPING'), NULL, NULL),
    ('WAITING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'WAITING'), NULL, NULL),
    ('SUB_COMMITTED', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'SUB_COMMITTED'), NULL, NULL)
  ) AS c (status, executions, due, expired)
$$;
