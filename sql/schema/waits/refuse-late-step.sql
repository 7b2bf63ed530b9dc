-- aries.refuse_late_step (function)
--
-- The last statement of a transactional step with a timeoutMs before its completion is written: past the
-- attempt's deadline (p_deadline, computed by the database when the attempt's transaction began) the
-- transaction is refused (AR012) and rolls back, so a timed-out attempt that kept going never commits.
-- clock_timestamp(), not now(): the deadline is about when the commit would happen.

CREATE FUNCTION aries.refuse_late_step(p_execution_id uuid, p_step_key text, p_deadline timestamptz) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF pg_catalog.clock_timestamp() > p_deadline THEN
    RAISE EXCEPTION 'step "%" of execution % is past its deadline (%): its attempt timed out and is not committed',
      p_step_key, p_execution_id, p_deadline USING ERRCODE = 'AR012';
  END IF;
END $$;
