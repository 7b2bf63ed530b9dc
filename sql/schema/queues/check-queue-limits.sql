-- aries.check_queue_limits (function)
--
-- Refuses (AR011, naming the queue and the limit) a queue name that is empty or longer than 200 bytes, a
-- limit that is not a positive integer, and a rate limit without its period or a period without its limit.
-- NULL limits are not checked: register_queue reads them as "unlimited", set_queue as "keep".

CREATE FUNCTION aries.check_queue_limits(p_name text, p_concurrency integer, p_worker_concurrency integer,
                                         p_key_concurrency integer, p_rate_limit integer, p_rate_period_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_limit record;
BEGIN
  IF p_name IS NULL OR p_name = '' OR pg_catalog.octet_length(p_name) > 200 THEN
    RAISE EXCEPTION 'a queue name must be a non-empty string of at most 200 bytes, got %',
      coalesce(pg_catalog.quote_literal(pg_catalog.left(p_name, 40)), 'NULL') USING ERRCODE = 'AR011';
  END IF;
  FOR v_limit IN SELECT * FROM (VALUES ('concurrency', p_concurrency::bigint),
                                       ('workerConcurrency', p_worker_concurrency::bigint),
                                       ('keyConcurrency', p_key_concurrency::bigint),
                                       ('rateLimit.limit', p_rate_limit::bigint),
                                       ('rateLimit.periodMs', p_rate_period_ms)) AS l (what, value)
  LOOP
    IF v_limit.value IS NOT NULL AND v_limit.value <= 0 THEN
      RAISE EXCEPTION 'queue "%": % must be a positive integer, got %', p_name, v_limit.what, v_limit.value
        USING ERRCODE = 'AR011';
    END IF;
  END LOOP;
END $$;
