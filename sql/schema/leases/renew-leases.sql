-- aries.renew_leases (function)
--
-- Renews the leases a worker holds, of RUNNING and COMPENSATING executions; returns the executions it still
-- owns (anything missing was lost). A lease whose row is locked by the worker's own transactional step (its
-- fence holds the row until the step commits) is reported held without waiting for it: the heartbeat never
-- queues behind a step, and no other worker can claim a locked row (claims skip locked rows). Such a lease
-- is extended by the next heartbeat after the step commits. SKIP LOCKED: a renewal never waits for a row.
-- Rows are locked in id order, as record_steps_batch locks them, so the two never deadlock.

CREATE FUNCTION aries.renew_leases(p_worker text, p_ids uuid[], p_tokens bigint[], p_lease_ms integer)
RETURNS TABLE (id uuid) LANGUAGE sql SET search_path = '' AS $$
  WITH held AS (
    SELECT e.id FROM aries.executions e
      JOIN ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_tokens)) AS h(id, token) ON e.id = h.id
     WHERE e.id = ANY (p_ids) AND e.lease_token = h.token AND e.lease_owner = p_worker
       AND e.status IN ('RUNNING', 'COMPENSATING')
  ), lockable AS (
    SELECT e.id FROM aries.executions e
     WHERE e.id IN (SELECT held.id FROM held)
     ORDER BY e.id
       FOR UPDATE OF e SKIP LOCKED
  ), renewed AS (
    UPDATE aries.executions e
       SET lease_expires_at = aries.now() + p_lease_ms * interval '1 millisecond'
      FROM lockable
     WHERE e.id = lockable.id
       AND e.lease_owner = p_worker AND e.status IN ('RUNNING', 'COMPENSATING')
    RETURNING e.id
  )
  SELECT held.id FROM held
$$;
