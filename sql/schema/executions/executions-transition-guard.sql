-- aries.executions_transition_guard (trigger)
--
-- Every change of an execution's status follows execution_transitions.

CREATE TRIGGER executions_transition_guard
  BEFORE UPDATE OF status ON aries.executions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION aries.guard_execution_transition();
