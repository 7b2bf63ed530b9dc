-- aries.read_journal_page (function)
--
-- One page of an execution's journal (read_journal reads all of it): at most p_limit records after
-- p_after_lsn, each payload through payload_preview, each checksum verified against the stored payload.

CREATE FUNCTION aries.read_journal_page(p_execution_id uuid, p_after_lsn bigint, p_limit integer,
                                        p_truncate_above integer DEFAULT NULL)
RETURNS TABLE (lsn bigint, prev_lsn bigint, kind text, seq integer, step_key text, attempt integer,
               payload jsonb, payload_is_null boolean, checksum_ok boolean, created_at timestamptz,
               execution_last_lsn bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT j.lsn, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.payload IS NULL,
         j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload),
         j.created_at, NULL::bigint
    FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND j.lsn > coalesce(p_after_lsn, 0)
   ORDER BY j.lsn
   LIMIT p_limit
$$;
