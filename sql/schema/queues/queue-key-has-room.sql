-- aries.queue_key_has_room (function)
--
-- Whether key p_key of queue p_queue can take one more slot: its slots held (executions with a lease
-- owner, this transaction's admissions included) are below the queue's keyConcurrency. The '' key (starts
-- that gave none) and a queue without a key limit always have room.

CREATE FUNCTION aries.queue_key_has_room(p_queue aries.queues, p_key text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT p_queue.key_concurrency IS NULL OR p_key = ''
         OR (SELECT pg_catalog.count(*) FROM aries.executions e
              WHERE e.queue_name = p_queue.name AND e.queue_key = p_key AND e.lease_owner IS NOT NULL)
            < p_queue.key_concurrency
$$;
