-- aries.claim_executions (function)
--
-- Claims up to p_limit runnable executions of the given workflows ("name@version" keys) for a worker:
-- RUNNING ones whose lease expired (their worker is presumed dead) first, then COMPENSATING ones that are
-- due or whose lease expired (they stay COMPENSATING; `compensating` tells the worker to run
-- compensations), then SLEEPING and WAITING ones that are due (their wake time or deadline came, or a
-- signal, a child's end or a cancel made them due), then PENDING ones that are due. p_running lists what the claiming worker is running
-- itself: a lease of its own that expired because the worker stalled (a CPU-bound step) is not taken again
-- while its run is still going. Each claim increments the fencing token; a claim of an expired lease
-- records the node fault it recovers from, and a claim marks the TRANSIENT failures it retries recovered
-- (aries.grant_claims). deadline_in_ms: how long until the execution's deadline (deadline_at; NULL: none,
-- <= 0: passed, and the worker ends it with a TIMEOUT failure). queue_name: the queue it was admitted
-- into (NULL: unqueued), so the worker can count admissions per queue.
-- Unqueued executions (queue_name NULL) are claimed by the one statement below, as before queues existed.
-- With room left, queued ones are admitted by aries.admit_queued, queue by queue under each queue's row
-- lock (see there why its limits are exact).
-- Run at READ COMMITTED: SKIP LOCKED keeps concurrent claimers apart, and under SERIALIZABLE the skipped
-- rows' predicate locks would cause 40001 storms.

CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer,
                                       p_lease_ms integer, p_running uuid[] DEFAULT '{}')
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_ids uuid[];
BEGIN
  WITH expired AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'RUNNING' AND e.lease_expires_at < v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), compensating AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'COMPENSATING' AND e.queue_name IS NULL
       AND ((e.lease_owner IS NULL AND e.available_at <= v_now) OR e.lease_expires_at < v_now)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), woken AS (
    SELECT e.id FROM aries.executions e
     WHERE e.status IN ('SLEEPING', 'WAITING') AND e.available_at <= v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), due AS (
    -- Not one the worker is still running: a retry due at once, or a hand-back, can become PENDING
    -- before the run that wrote it has returned.
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'PENDING' AND e.available_at <= v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), chosen AS (
    SELECT x.id, x.old_owner, x.expired_at FROM expired x
    UNION ALL
    SELECT c.id, c.old_owner, c.expired_at FROM compensating c
    UNION ALL
    SELECT k.id, NULL, NULL FROM woken k
    UNION ALL
    SELECT d.id, NULL, NULL FROM due d
    LIMIT p_limit
  )
  SELECT pg_catalog.array_agg(c.id) INTO v_ids FROM chosen c;
  IF v_ids IS NOT NULL THEN
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, v_ids, p_lease_ms, v_now);
  END IF;
  IF coalesce(pg_catalog.cardinality(v_ids), 0) < p_limit THEN
    RETURN QUERY SELECT * FROM aries.admit_queued(p_worker, p_workflow_keys, p_limit - coalesce(pg_catalog.cardinality(v_ids), 0),
                                                  p_lease_ms, p_running, v_now);
  END IF;
END $$;
