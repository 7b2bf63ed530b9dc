-- aries.check_retention_durations (function)
--
-- Refuses a retention duration that is not a positive number of milliseconds (AR011), naming it; NULL
-- (keep for ever) is allowed.

CREATE FUNCTION aries.check_retention_durations(p_finished_ms bigint, p_idempotency_keys_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF p_finished_ms <= 0 THEN
    RAISE EXCEPTION 'retention finishedMs must be a positive number of milliseconds, got %', p_finished_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_keys_ms <= 0 THEN
    RAISE EXCEPTION 'retention idempotencyKeysMs must be a positive number of milliseconds, got %',
      p_idempotency_keys_ms USING ERRCODE = 'AR011';
  END IF;
END $$;
