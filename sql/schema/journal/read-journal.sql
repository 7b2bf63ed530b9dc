-- aries.read_journal (function)
--
-- The journal of an execution, each record's checksum verified against its contents.

CREATE FUNCTION aries.read_journal(p_execution_id uuid, p_after_lsn bigint DEFAULT NULL)
RETURNS TABLE (lsn bigint, prev_lsn bigint, kind text, seq integer, step_key text, attempt integer,
               payload jsonb, payload_is_null boolean, checksum_ok boolean, created_at timestamptz,
               execution_last_lsn bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT j.lsn, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload, j.payload IS NULL,
         j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                             j.attempt, j.payload),
         j.created_at,
         (SELECT e.last_lsn FROM aries.executions e WHERE e.id = j.execution_id)
    FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND (p_after_lsn IS NULL OR j.lsn > p_after_lsn)
   ORDER BY j.lsn
$$;
