-- aries.steps_completed_guard (trigger)
--
-- A completed step never becomes runnable again, except by a rollback to a checkpoint (ROLLED_BACK); a
-- completed compensation never runs again, except when its step is rolled back with it.

CREATE TRIGGER steps_completed_guard BEFORE UPDATE OF status, compensation_status ON aries.steps
  FOR EACH ROW WHEN ((OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK'))
                     OR (OLD.compensation_status = 'COMPLETED' AND NEW.compensation_status IS DISTINCT FROM 'COMPLETED'
                         AND NEW.status <> 'ROLLED_BACK'))
  EXECUTE FUNCTION aries.refuse_step_undone();
