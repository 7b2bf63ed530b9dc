-- aries.executions_born_pending (trigger)
--
-- An execution is born PENDING. The WHEN clause keeps the hot path's upserts (which propose PENDING rows)
-- from calling the function.

CREATE TRIGGER executions_born_pending BEFORE INSERT ON aries.executions
  FOR EACH ROW WHEN (NEW.status <> 'PENDING') EXECUTE FUNCTION aries.refuse_execution_born_running();
