-- aries.list_workers (function)
--
-- The workers holding leases now, with how many executions each holds and when their leases end (a
-- worker holding none is not listed: workers keep no row of their own; their leases are their trace).

CREATE FUNCTION aries.list_workers()
RETURNS TABLE (worker text, executions bigint, compensating bigint, earliest_lease_expiry timestamptz,
               latest_lease_expiry timestamptz, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT e.lease_owner, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATING'),
         pg_catalog.min(e.lease_expires_at), pg_catalog.max(e.lease_expires_at),
         pg_catalog.count(*) FILTER (WHERE e.lease_expires_at < aries.now())
    FROM aries.executions e
   WHERE e.lease_owner IS NOT NULL
   GROUP BY e.lease_owner
   ORDER BY e.lease_owner
$$;
