-- aries.read_step_records (function)
--
-- Every step recorded at positions [p_from_seq, p_to_seq), whatever its status, with its kind, by
-- position. A COMPLETED step has its output and whether its journal record verifies (checksum, and bound
-- to this step and attempt: record_found / record_ok mean something for COMPLETED rows only); a FAILED
-- one its error; the other statuses (RUNNING, RETRYING, ROLLED_BACK) no output (output and
-- output_is_null NULL). A wait (kind sleep, signal or child) has wait_lsn, the LSN of the record that
-- settled or cancelled it (NULL while it is open): replay settles waits in that order. Replay reads these by page as the workflow reaches them: the materialized state
-- of the execution, not its history.

CREATE FUNCTION aries.read_step_records(p_execution_id uuid, p_from_seq integer, p_to_seq integer)
RETURNS TABLE (seq integer, step_key text, kind text, status text, attempt integer, output_lsn bigint, output jsonb,
               output_is_null boolean, record_found boolean, record_ok boolean, error jsonb, compensation_status text,
               compensation_attempt integer, compensation_attempt_base integer, wait_lsn bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.seq, s.step_key, s.kind, s.status, s.attempt, s.output_lsn, j.payload,
         CASE WHEN s.status = 'COMPLETED' THEN j.payload IS NULL END, j.lsn IS NOT NULL,
         coalesce(j.execution_id = s.execution_id AND j.kind = 'step_completed' AND j.seq = s.seq
                  AND j.step_key = s.step_key AND j.attempt = s.attempt
                  AND j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                                          j.attempt, j.payload), false),
         s.error, s.compensation_status, s.compensation_attempt, s.compensation_attempt_base,
         (SELECT wt.resolved_lsn FROM aries.waits wt
           WHERE s.kind IN ('sleep', 'signal', 'child') AND wt.execution_id = s.execution_id AND wt.step_key = s.step_key)
    FROM aries.steps s
    LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id AND s.seq >= p_from_seq AND s.seq < p_to_seq
   ORDER BY s.seq
$$;
