-- aries.refuse_step_undone (function)
--
-- A completed step never becomes runnable again, except by a rollback to a checkpoint (ROLLED_BACK); a
-- completed compensation never runs again, except when its step is rolled back with it.

CREATE FUNCTION aries.refuse_step_undone() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK') THEN
    RAISE EXCEPTION 'step "%" of execution % is COMPLETED: it cannot become % (only a rollback voids it)',
      OLD.step_key, OLD.execution_id, NEW.status USING ERRCODE = 'AR003';
  END IF;
  RAISE EXCEPTION 'the compensation of step "%" of execution % completed: it cannot become %', OLD.step_key,
    OLD.execution_id, coalesce(NEW.compensation_status, 'NULL') USING ERRCODE = 'AR003';
END $$;
