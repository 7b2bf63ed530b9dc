-- aries.auto_recover_failures (function)
--
-- The automatic recovery sweep (workers run it on a schedule; pg_cron can too). It claims, with FOR UPDATE
-- SKIP LOCKED, the FAILED executions whose newest unrecovered failure is younger than p_max_age and was
-- TRANSIENT until its retries ran out (the infrastructure may be back), and recovers them. A PERMANENT
-- verdict (a PermanentError, the user's classifier, corrupt data, a compensation that failed for good)
-- waits for an operator. Each execution is recovered by the sweep at most p_max_per_execution times
-- (counted in its journal). Concurrent sweeps share the work; an execution is locked before its failures,
-- in the same order as recover_from_failure, so a sweep and an operator never deadlock. Returns how many
-- executions it recovered.

CREATE FUNCTION aries.auto_recover_failures(p_max_age interval DEFAULT interval '1 hour',
                                            p_max_per_execution integer DEFAULT 3)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_execution record;
  v_recovered bigint := 0;
BEGIN
  FOR v_execution IN
    SELECT e.id, newest.failure_type FROM aries.executions e
     CROSS JOIN LATERAL (SELECT f.failure_type, f.retries_exhausted, f.failure_timestamp FROM aries.failures f
                          WHERE f.execution_id = e.id AND NOT f.recovered
                          ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1) newest
     WHERE e.status = 'FAILED' AND newest.retries_exhausted AND newest.failure_timestamp >= aries.now() - p_max_age
       AND (SELECT pg_catalog.count(*) FROM aries.journal j
             WHERE j.execution_id = e.id AND j.kind = 'execution_recovered' AND j.payload ->> 'by' = 'sweep')
           < p_max_per_execution
     ORDER BY newest.failure_timestamp
       FOR UPDATE OF e SKIP LOCKED
  LOOP
    BEGIN
      PERFORM aries.recover_from_failure(v_execution.id, v_execution.failure_type, 'sweep');
      v_recovered := v_recovered + 1;
    EXCEPTION WHEN SQLSTATE 'AR009' OR SQLSTATE 'AR010' THEN
      NULL; -- recovered meanwhile by an operator
    END;
  END LOOP;
  RETURN v_recovered;
END $$;
