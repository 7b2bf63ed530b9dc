-- aries.worker_status (function)
--
-- What a registry row means now, on the database clock: 'stopped' (it deregistered), 'stale' (its last
-- heartbeat is older than three lease lengths: the process died or is cut off; its leases, if any, expire
-- and other workers resume them), else 'live'. The one place that judges it, for list_workers and pruning.

CREATE FUNCTION aries.worker_status(p_heartbeat_at timestamptz, p_stopped_at timestamptz, p_lease_ms integer,
                                    p_now timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE WHEN p_stopped_at IS NOT NULL THEN 'stopped'
              WHEN p_heartbeat_at < p_now - 3 * p_lease_ms * interval '1 millisecond' THEN 'stale'
              ELSE 'live' END
$$;
