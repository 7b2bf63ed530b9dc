-- aries.check_start_placement (function)
--
-- Refuses (AR011) a start's bad placement: a queue name that is empty, a queue key that is empty or
-- longer than 512 bytes (a start with no key gives NULL, stored as ''), a negative delay.

CREATE FUNCTION aries.check_start_placement(p_queue text, p_queue_key text, p_delay_ms bigint) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
BEGIN
  IF p_queue = '' THEN
    RAISE EXCEPTION 'a start''s queue must be a non-empty queue name' USING ERRCODE = 'AR011';
  END IF;
  IF p_queue_key = '' OR pg_catalog.octet_length(p_queue_key) > 512 THEN
    RAISE EXCEPTION 'a queue key must be a non-empty string of at most 512 bytes' USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms < 0 THEN
    RAISE EXCEPTION 'a start''s delay must be at least 0 ms, got %', p_delay_ms USING ERRCODE = 'AR011';
  END IF;
END $$;
