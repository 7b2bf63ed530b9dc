-- aries.append_journal (function)
--
-- Appends one journal record chained after p_prev_lsn and returns its LSN. The caller holds the
-- execution's row lock and stores the returned LSN as executions.last_lsn in its own UPDATE, so records
-- of one execution chain without gaps and each transition updates the execution row once.

CREATE FUNCTION aries.append_journal(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer,
                                     p_step_key text, p_attempt integer, p_payload jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_lsn bigint := pg_catalog.nextval('aries.journal_lsn_seq');
BEGIN
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum)
  VALUES (v_lsn, p_execution_id, p_prev_lsn, p_kind, p_seq, p_step_key, p_attempt, p_payload,
          aries.journal_checksum(p_execution_id, p_prev_lsn, p_kind, p_seq, p_step_key, p_attempt, p_payload));
  RETURN v_lsn;
END $$;
