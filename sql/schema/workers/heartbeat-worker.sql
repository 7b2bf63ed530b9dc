-- aries.heartbeat_worker (function)
--
-- A running worker's periodic sign of life, sent whether or not it holds leases: heartbeat_at now on the
-- database clock. False when the worker has no row, or one marked stopped (pruned while the worker was cut
-- off for long, or deregistered by mistake): the worker then registers again.

CREATE FUNCTION aries.heartbeat_worker(p_worker_id text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  UPDATE aries.workers w SET heartbeat_at = greatest(w.heartbeat_at, aries.now())
   WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
  RETURN FOUND;
END $$;
