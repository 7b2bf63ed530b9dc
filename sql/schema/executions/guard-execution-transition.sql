-- aries.guard_execution_transition (function)
--
-- Refuses a change of an execution's status that is not a row of execution_transitions (AR003).

CREATE FUNCTION aries.guard_execution_transition() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM aries.execution_transitions t
                 WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
    RAISE EXCEPTION 'illegal transition of execution % from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'AR003';
  END IF;
  RETURN NEW;
END $$;
