-- aries.admit_from_queue (function)
--
-- Admits up to p_room executions of queue p_queue (of the given workflows) for worker p_worker, holding
-- the queue's row lock until the claim commits (see aries.admit_queued for why that makes the limits
-- exact). Free room: the least of p_room, concurrency minus the slots held (executions of the queue with a
-- lease owner; an expired lease keeps its slot until it is taken over), workerConcurrency minus the slots
-- p_worker holds, and for first starts the rate limit minus the first starts (started_at) in the window
-- (now - period, now] (counted without the upper bound: a claimer whose clock reading came before an
-- earlier admission's still counts it, which keeps every window of the period at most the limit). Admitted in this order: expired leases taken over (the same execution: no new
-- queue, key or rate slot, only the worker's), then due COMPENSATING, SLEEPING and WAITING ones by
-- available_at (no rate: they started before), then due PENDING ones by fairness: higher priority first;
-- within a priority, round robin across queue keys from the queue's cursor (rr_key, the key admitted
-- last), each key's head first (available_at, then id), pass after pass until the room is filled or a
-- pass admits nothing. Each key is found by a skip scan of executions_queue_pending_idx, and at most
-- 1,000 keys are visited per claim, so a claim costs O(admitted + keys skipped), never O(backlog). A key
-- holds at most keyConcurrency slots ('' is never key-limited). Each candidate is locked FOR UPDATE SKIP
-- LOCKED, which re-checks its state, before it is admitted (aries.grant_claims).

CREATE FUNCTION aries.admit_from_queue(p_queue text, p_worker text, p_workflow_keys text[], p_room integer,
                                       p_lease_ms integer, p_running uuid[], p_now timestamptz)
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  c_max_visits constant integer := 1000;
  v_q aries.queues;
  v_room integer;
  v_worker_free integer;
  v_rate_free integer;
  v_ids uuid[] := '{}';
  v_id uuid;
  v_key text;
  v_first_start boolean;
  v_priority integer;
  v_cursor text;
  v_pass_first text;
  v_wrapped boolean;
  v_pass_admitted integer;
  v_visits integer := 0;
  v_candidate record;
BEGIN
  SELECT * INTO v_q FROM aries.queues q WHERE q.name = p_queue FOR NO KEY UPDATE;
  IF NOT FOUND OR v_q.paused THEN
    RETURN;
  END IF;
  -- Counted after the lock: every earlier admission into this queue is visible.
  v_room := p_room;
  IF v_q.concurrency IS NOT NULL THEN
    v_room := least(v_room, v_q.concurrency - (SELECT pg_catalog.count(*) FROM aries.executions e
                                                 WHERE e.queue_name = p_queue AND e.lease_owner IS NOT NULL)::integer);
  END IF;
  v_worker_free := CASE WHEN v_q.worker_concurrency IS NULL THEN p_room ELSE
    v_q.worker_concurrency - (SELECT pg_catalog.count(*) FROM aries.executions e
                               WHERE e.queue_name = p_queue AND e.lease_owner = p_worker)::integer END;
  v_rate_free := CASE WHEN v_q.rate_limit IS NULL THEN p_room ELSE
    v_q.rate_limit - (SELECT pg_catalog.count(*) FROM aries.executions e
                       WHERE e.queue_name = p_queue
                         AND e.started_at > p_now - v_q.rate_period_ms * interval '1 millisecond')::integer END;

  -- 1. Expired leases: the execution keeps its queue and key slot; the taking worker needs room of its own.
  FOR v_candidate IN
    SELECT e.id FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.lease_owner IS NOT NULL AND e.lease_expires_at < p_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at
     LIMIT greatest(least(p_room, v_worker_free), 0)
       FOR UPDATE SKIP LOCKED
  LOOP
    v_ids := v_ids || v_candidate.id;
    v_worker_free := v_worker_free - 1;
  END LOOP;
  v_room := least(v_room, p_room - pg_catalog.cardinality(v_ids));

  -- 2. Due COMPENSATING (unowned), SLEEPING and WAITING ones: a new slot (queue, worker, key), no rate.
  FOR v_candidate IN
    SELECT e.id, e.queue_key FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
       AND e.lease_owner IS NULL AND e.available_at <= p_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at
     LIMIT c_max_visits
  LOOP
    EXIT WHEN v_room <= 0 OR v_worker_free <= 0;
    CONTINUE WHEN NOT aries.queue_key_has_room(v_q, v_candidate.queue_key);
    SELECT e.id INTO v_id FROM aries.executions e
     WHERE e.id = v_candidate.id AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
       AND e.lease_owner IS NULL AND e.available_at <= p_now
       FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN v_id IS NULL;
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, ARRAY[v_id], p_lease_ms, p_now);
    v_room := v_room - 1;
    v_worker_free := v_worker_free - 1;
  END LOOP;

  -- 3. Due PENDING ones, by priority, then round robin across keys.
  v_cursor := v_q.rr_key;
  v_priority := NULL;
  <<priorities>>
  LOOP
    EXIT WHEN v_room <= 0 OR v_worker_free <= 0 OR v_visits >= c_max_visits;
    SELECT e.priority INTO v_priority FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.available_at <= p_now
       AND (v_priority IS NULL OR e.priority < v_priority)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
     ORDER BY e.priority DESC LIMIT 1;
    EXIT WHEN NOT FOUND;
    LOOP -- passes over this priority's keys
      v_pass_admitted := 0;
      v_pass_first := NULL;
      v_wrapped := false;
      v_key := v_cursor;
      LOOP -- keys of one pass, after the cursor and around
        EXIT priorities WHEN v_room <= 0 OR v_worker_free <= 0 OR v_visits >= c_max_visits;
        SELECT e.queue_key INTO v_key FROM aries.executions e
         WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.priority = v_priority
           AND (v_key IS NULL OR e.queue_key > v_key) AND e.available_at <= p_now
           AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
           AND NOT (e.id = ANY (p_running))
         ORDER BY e.queue_key LIMIT 1;
        IF NOT FOUND THEN
          EXIT WHEN v_wrapped OR v_pass_first IS NULL AND v_cursor IS NULL;
          v_wrapped := true;
          v_key := NULL;
          CONTINUE;
        END IF;
        EXIT WHEN v_wrapped AND v_pass_first IS NOT NULL AND v_key >= v_pass_first;
        v_pass_first := coalesce(v_pass_first, v_key);
        v_visits := v_visits + 1;
        CONTINUE WHEN NOT aries.queue_key_has_room(v_q, v_key);
        SELECT e.id, e.started_at IS NULL AS first_start INTO v_id, v_first_start FROM aries.executions e
         WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.priority = v_priority AND e.queue_key = v_key
           AND e.available_at <= p_now
           AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
           AND NOT (e.id = ANY (p_running))
         ORDER BY e.available_at, e.id LIMIT 1
           FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN v_id IS NULL OR (v_first_start AND v_rate_free <= 0);
        RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, ARRAY[v_id], p_lease_ms, p_now);
        v_room := v_room - 1;
        v_worker_free := v_worker_free - 1;
        IF v_first_start THEN
          v_rate_free := v_rate_free - 1;
        END IF;
        v_pass_admitted := v_pass_admitted + 1;
        v_cursor := v_key;
      END LOOP;
      EXIT WHEN v_pass_admitted = 0;
    END LOOP;
  END LOOP;

  IF pg_catalog.cardinality(v_ids) > 0 THEN
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, v_ids, p_lease_ms, p_now);
  END IF;
  IF v_cursor IS DISTINCT FROM v_q.rr_key THEN
    UPDATE aries.queues q SET rr_key = v_cursor WHERE q.name = p_queue;
  END IF;
END $$;
