-- aries.register_worker (function)
--
-- A worker starting: its row (re)written with its host, pid, workflows ("name@version" keys), concurrency
-- and lease length; started_at and heartbeat_at now on the database clock, stopped_at cleared (an id
-- registered again is a new start). Also prunes the rows of other workers stopped or silent for over an
-- hour (or ten lease lengths, if longer): the registry holds recent workers, not a history. SECURITY
-- DEFINER: the runtime role has no DELETE.

CREATE FUNCTION aries.register_worker(p_worker_id text, p_host text, p_pid integer, p_workflows text[],
                                      p_concurrency integer, p_lease_ms integer) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  DELETE FROM aries.workers w
   WHERE w.worker_id <> p_worker_id
     AND coalesce(w.stopped_at, w.heartbeat_at)
         < v_now - greatest(interval '1 hour', 10 * w.lease_ms * interval '1 millisecond');
  INSERT INTO aries.workers AS w (worker_id, host, pid, workflows, concurrency, lease_ms, started_at, heartbeat_at)
  VALUES (p_worker_id, p_host, p_pid, p_workflows, p_concurrency, p_lease_ms, v_now, v_now)
  ON CONFLICT (worker_id) DO UPDATE
     SET host = excluded.host, pid = excluded.pid, workflows = excluded.workflows,
         concurrency = excluded.concurrency, lease_ms = excluded.lease_ms, started_at = v_now,
         heartbeat_at = v_now, stopped_at = NULL;
  RETURN v_now;
END $$;
-- Its pruning deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted
-- EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.register_worker(text, text, integer, text[], integer, integer) FROM PUBLIC;
