-- executions_queue_slot_freed (trigger on aries.executions)
--
-- Runs aries.notify_queue_slot_freed when a queued execution's lease owner is cleared; the WHEN clause
-- keeps unqueued executions free of it.

CREATE TRIGGER executions_queue_slot_freed AFTER UPDATE OF lease_owner ON aries.executions
  FOR EACH ROW WHEN (OLD.lease_owner IS NOT NULL AND NEW.lease_owner IS NULL AND NEW.queue_name IS NOT NULL)
  EXECUTE FUNCTION aries.notify_queue_slot_freed();
