-- aries.notify_queue_slot_freed (function)
--
-- Trigger function of executions_queue_slot_freed: a queued execution gave up its slot (its lease owner
-- went from someone to no one), so workers that found its queue full try again now, not at their next
-- poll. Only for queues with a concurrency limit (queue, worker or key): elsewhere nobody waits for a
-- slot. The payload 'queue:<name>' wakes every worker (any of them may serve the queue).

CREATE FUNCTION aries.notify_queue_slot_freed() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM aries.queues q
              WHERE q.name = NEW.queue_name
                AND (q.concurrency IS NOT NULL OR q.worker_concurrency IS NOT NULL OR q.key_concurrency IS NOT NULL)) THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', 'queue:' || NEW.queue_name);
  END IF;
  RETURN NULL;
END $$;
