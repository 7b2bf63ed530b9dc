-- aries.set_queue (function)
--
-- An operator's change of a queue at runtime, taken into account by the next claim: each non-NULL limit
-- replaces the current one, NULL keeps it, and p_clear names limits to remove (make unlimited):
-- 'concurrency', 'worker_concurrency', 'key_concurrency', 'rate_limit' (the limit and its period).
-- p_paused true stops new admissions, false resumes them, NULL keeps. The queue's source becomes
-- 'operator', so register_queue (a deploy) no longer overwrites its limits. AR013 an unknown queue,
-- AR011 a bad limit or an unknown name in p_clear.

CREATE FUNCTION aries.set_queue(p_name text, p_concurrency integer DEFAULT NULL,
                                p_worker_concurrency integer DEFAULT NULL, p_key_concurrency integer DEFAULT NULL,
                                p_rate_limit integer DEFAULT NULL, p_rate_period_ms bigint DEFAULT NULL,
                                p_paused boolean DEFAULT NULL, p_clear text[] DEFAULT '{}')
RETURNS SETOF aries.queues LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_queue aries.queues;
  v_clear text[] := coalesce(p_clear, '{}');
  v_bad text;
BEGIN
  PERFORM aries.check_queue_limits(p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit,
                                   p_rate_period_ms);
  SELECT c INTO v_bad FROM pg_catalog.unnest(v_clear) c
   WHERE c IS NULL OR c NOT IN ('concurrency', 'worker_concurrency', 'key_concurrency', 'rate_limit') LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'queue "%": cannot clear %; the limits are concurrency, worker_concurrency, key_concurrency and rate_limit',
      p_name, coalesce(pg_catalog.quote_literal(v_bad), 'NULL') USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_queue FROM aries.queues q WHERE q.name = p_name FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown queue "%"', p_name USING ERRCODE = 'AR013',
      HINT = 'a queue exists once defineQueue''s workflow was started or served by a worker, or aries.register_queue created it';
  END IF;
  v_queue.concurrency := CASE WHEN 'concurrency' = ANY (v_clear) THEN NULL ELSE coalesce(p_concurrency, v_queue.concurrency) END;
  v_queue.worker_concurrency := CASE WHEN 'worker_concurrency' = ANY (v_clear) THEN NULL
                                     ELSE coalesce(p_worker_concurrency, v_queue.worker_concurrency) END;
  v_queue.key_concurrency := CASE WHEN 'key_concurrency' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(p_key_concurrency, v_queue.key_concurrency) END;
  IF 'rate_limit' = ANY (v_clear) THEN
    v_queue.rate_limit := NULL;
    v_queue.rate_period_ms := NULL;
  ELSE
    v_queue.rate_limit := coalesce(p_rate_limit, v_queue.rate_limit);
    v_queue.rate_period_ms := coalesce(p_rate_period_ms, v_queue.rate_period_ms);
  END IF;
  IF (v_queue.rate_limit IS NULL) <> (v_queue.rate_period_ms IS NULL) THEN
    RAISE EXCEPTION 'queue "%": a rate limit needs both limit and periodMs', p_name USING ERRCODE = 'AR011';
  END IF;
  RETURN QUERY
  UPDATE aries.queues q
     SET concurrency = v_queue.concurrency, worker_concurrency = v_queue.worker_concurrency,
         key_concurrency = v_queue.key_concurrency, rate_limit = v_queue.rate_limit,
         rate_period_ms = v_queue.rate_period_ms, paused = coalesce(p_paused, q.paused), source = 'operator',
         updated_at = aries.now()
   WHERE q.name = p_name
  RETURNING q.*;
END $$;
