-- aries.step_crash_streak (function)
--
-- How many attempts of a step have started in a row with no outcome: its step_started records after its
-- newest step_retrying / step_failed / step_completed record and after the execution's newest recovery or
-- rollback (which give a fresh budget). A worker that dies during a step leaves exactly such an intent, so
-- this is the length of a crash loop; the attempt being started counts. Read only when an attempt number
-- passes maxAttempts (rare): it scans the execution's journal.

CREATE FUNCTION aries.step_crash_streak(p_execution_id uuid, p_step_key text) RETURNS integer
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.count(*)::integer FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND j.step_key = p_step_key AND j.kind = 'step_started'
     AND j.lsn > coalesce((SELECT pg_catalog.max(r.lsn) FROM aries.journal r
                            WHERE r.execution_id = p_execution_id
                              AND ((r.step_key = p_step_key AND r.kind IN ('step_retrying', 'step_failed', 'step_completed'))
                                   OR r.kind IN ('execution_recovered', 'execution_rolled_back'))), 0)
$$;
