-- aries.admit_queued (function)
--
-- claim_executions' second half: admits up to p_room queued executions of the given workflows for worker
-- p_worker, queue by queue in name order (unpaused queues with claimable work), each queue under its row
-- lock (FOR NO KEY UPDATE: it serialises claimers but not the FOR KEY SHARE lock a start's foreign key
-- takes, so a start, even in a long transaction, never holds up admissions), by aries.admit_from_queue.
-- Returns claim_executions' rows.
--
-- Why the limits are exact: a queued execution holds a slot of its queue exactly while it has a lease
-- owner, and a slot is only ever taken here, by a claimer holding the queue's row lock. That lock
-- serialises every admission into the queue across claimers and machines; each statement after it (READ
-- COMMITTED: a fresh snapshot per statement) sees every admission committed before it, and this
-- transaction's own admissions, so the counts it compares with the limits are the true ones. Only this
-- function locks several queue rows, always in name order, so claimers cannot deadlock on them.

CREATE FUNCTION aries.admit_queued(p_worker text, p_workflow_keys text[], p_room integer, p_lease_ms integer,
                                   p_running uuid[], p_now timestamptz)
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_room integer := p_room;
  v_queue text;
  v_admitted integer;
BEGIN
  FOR v_queue IN
    SELECT q.name FROM aries.queues q
     WHERE NOT q.paused
       AND (EXISTS (SELECT 1 FROM aries.executions e
                     WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= p_now
                       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
            OR EXISTS (SELECT 1 FROM aries.executions e
                        WHERE e.queue_name = q.name AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
                          AND e.lease_owner IS NULL AND e.available_at <= p_now
                          AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
            OR EXISTS (SELECT 1 FROM aries.executions e
                        WHERE e.queue_name = q.name AND e.lease_owner IS NOT NULL AND e.lease_expires_at < p_now
                          AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)))
     ORDER BY q.name
  LOOP
    EXIT WHEN v_room <= 0;
    RETURN QUERY SELECT * FROM aries.admit_from_queue(v_queue, p_worker, p_workflow_keys, v_room, p_lease_ms,
                                                      p_running, p_now);
    GET DIAGNOSTICS v_admitted = ROW_COUNT;
    v_room := v_room - v_admitted;
  END LOOP;
END $$;
