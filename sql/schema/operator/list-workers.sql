-- aries.list_workers (function)
--
-- The workers: every row of the registry (aries.workers: idle workers too, with their workflows,
-- concurrency, last heartbeat and status, judged on the database clock by aries.worker_status), with the
-- leases each holds now (how many executions, how many compensating, when the leases end, how many are
-- past their end). A lease owner with no registry row (a worker of a version before the registry, or
-- pruned) is listed from its leases alone: live while one of its leases has not expired, else stale.
-- Live workers first, then by id.

CREATE FUNCTION aries.list_workers()
RETURNS TABLE (worker text, status text, host text, pid integer, workflows text[], concurrency integer,
               lease_ms integer, started_at timestamptz, heartbeat_at timestamptz, stopped_at timestamptz,
               executions bigint, compensating bigint, earliest_lease_expiry timestamptz,
               latest_lease_expiry timestamptz, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  WITH leases AS (
    SELECT e.lease_owner, pg_catalog.count(*) AS executions,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATING') AS compensating,
           pg_catalog.min(e.lease_expires_at) AS earliest, pg_catalog.max(e.lease_expires_at) AS latest,
           pg_catalog.count(*) FILTER (WHERE e.lease_expires_at < aries.now()) AS expired
      FROM aries.executions e
     WHERE e.lease_owner IS NOT NULL
     GROUP BY e.lease_owner
  ), listed AS (
    SELECT coalesce(w.worker_id, l.lease_owner) AS worker,
           CASE WHEN w.worker_id IS NOT NULL THEN aries.worker_status(w.heartbeat_at, w.stopped_at, w.lease_ms, aries.now())
                WHEN l.latest >= aries.now() THEN 'live' ELSE 'stale' END AS status,
           w.host, w.pid, w.workflows, w.concurrency, w.lease_ms, w.started_at, w.heartbeat_at, w.stopped_at,
           coalesce(l.executions, 0) AS executions, coalesce(l.compensating, 0) AS compensating,
           l.earliest, l.latest, coalesce(l.expired, 0) AS expired
      FROM aries.workers w
      FULL JOIN leases l ON l.lease_owner = w.worker_id
  )
  SELECT x.worker, x.status, x.host, x.pid, x.workflows, x.concurrency, x.lease_ms, x.started_at,
         x.heartbeat_at, x.stopped_at, x.executions, x.compensating, x.earliest, x.latest, x.expired
    FROM listed x
   ORDER BY x.status <> 'live', x.worker
$$;
