-- aries.list_step_previews (function)
--
-- An execution's steps with their outputs through payload_preview and their errors through error_preview.

CREATE FUNCTION aries.list_step_previews(p_execution_id uuid, p_truncate_above integer DEFAULT NULL)
RETURNS TABLE (execution_id uuid, step_key text, seq integer, status text, attempt integer, output jsonb,
               output_is_null boolean, error jsonb, started_at timestamptz, completed_at timestamptz,
               compensation_status text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.execution_id, s.step_key, s.seq, s.status, s.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.lsn IS NOT NULL AND j.payload IS NULL, aries.error_preview(s.error, p_truncate_above), s.started_at, s.completed_at, s.compensation_status
    FROM aries.steps s LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id
   ORDER BY s.seq
$$;
