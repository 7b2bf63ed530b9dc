-- aries.register_queue (function)
--
-- Records a queue as the code defines it (defineQueue; the SDK calls this before a start or when a worker
-- starts, as it registers workflows). A new queue is inserted with these limits (NULL: unlimited). An
-- existing one takes them only while its source is 'definition': once an operator has changed it
-- (set_queue), a deploy does not overwrite the operator's limits. AR011 a bad name or limit.

CREATE FUNCTION aries.register_queue(p_name text, p_concurrency integer DEFAULT NULL,
                                     p_worker_concurrency integer DEFAULT NULL, p_key_concurrency integer DEFAULT NULL,
                                     p_rate_limit integer DEFAULT NULL, p_rate_period_ms bigint DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.check_queue_limits(p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit,
                                   p_rate_period_ms);
  IF (p_rate_limit IS NULL) <> (p_rate_period_ms IS NULL) THEN
    RAISE EXCEPTION 'queue "%": a rate limit needs both limit and periodMs', p_name USING ERRCODE = 'AR011';
  END IF;
  INSERT INTO aries.queues AS q (name, concurrency, worker_concurrency, key_concurrency, rate_limit, rate_period_ms)
  VALUES (p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit, p_rate_period_ms)
  ON CONFLICT (name) DO UPDATE
     SET concurrency = excluded.concurrency, worker_concurrency = excluded.worker_concurrency,
         key_concurrency = excluded.key_concurrency, rate_limit = excluded.rate_limit,
         rate_period_ms = excluded.rate_period_ms, updated_at = aries.now()
   WHERE q.source = 'definition'
     AND (q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit, q.rate_period_ms)
         IS DISTINCT FROM (excluded.concurrency, excluded.worker_concurrency, excluded.key_concurrency,
                           excluded.rate_limit, excluded.rate_period_ms);
END $$;
