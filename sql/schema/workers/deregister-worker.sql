-- aries.deregister_worker (function)
--
-- A worker's clean stop: stopped_at now on the database clock (its row stays until pruned, so an operator
-- sees it stopped rather than vanished). True when it was registered and not yet stopped.

CREATE FUNCTION aries.deregister_worker(p_worker_id text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  UPDATE aries.workers w SET stopped_at = greatest(aries.now(), w.started_at)
   WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
  RETURN FOUND;
END $$;
