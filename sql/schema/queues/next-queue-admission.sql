-- aries.next_queue_admission (function)
--
-- Milliseconds (database clock) until a queue that holds back first starts of the given workflows for its
-- rate can admit again; NULL when no queue does. A queue counts when it is unpaused, rate-limited, its
-- window is full now, and it has a due PENDING execution of these workflows that never started (only a
-- first start consumes rate). Its window drops below the limit when its limit-th most recent first start
-- leaves it: that start + the period (with exactly the limit in the window, the oldest of them), less now.
-- The least of those. A worker calls this only after a claim came back short while it serves queued
-- workflows, and arms its local wake timer for the answer: a freed window is used when it frees, not at
-- the next poll, and nothing is written or notified for it. A queue refusing for a concurrency limit
-- with rate to spare is not counted: a freed slot notifies (executions_queue_slot_freed).
-- Cost per rate-limited queue: one probe of executions_queue_due_idx and at most rate_limit entries of
-- executions_queue_started_idx.

CREATE FUNCTION aries.next_queue_admission(p_workflow_keys text[]) RETURNS double precision
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.min(pg_catalog.date_part('epoch', w.started_at + q.rate_period_ms * interval '1 millisecond'
                                                      - aries.now()) * 1000)
    FROM aries.queues q
   CROSS JOIN LATERAL (
     -- Counted without the upper bound, as admit_from_queue counts the window.
     SELECT e.started_at FROM aries.executions e
      WHERE e.queue_name = q.name AND e.started_at > aries.now() - q.rate_period_ms * interval '1 millisecond'
      ORDER BY e.started_at DESC
     OFFSET q.rate_limit - 1 LIMIT 1) w
   WHERE q.rate_limit IS NOT NULL AND NOT q.paused
     AND EXISTS (SELECT 1 FROM aries.executions e
                  WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()
                    AND e.started_at IS NULL
                    AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
$$;
