-- aries.executions_follow_end (trigger)
--
-- Runs aries.follow_execution_end when the status of a child, or of an execution that started children,
-- changes; every other execution skips it on the WHEN clause alone.

CREATE TRIGGER executions_follow_end
  AFTER UPDATE OF status ON aries.executions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND (NEW.parent_id IS NOT NULL OR NEW.has_children))
  EXECUTE FUNCTION aries.follow_execution_end();
