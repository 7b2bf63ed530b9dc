-- aries.refuse_journal_truncate (function)
--
-- TRUNCATE fires no row trigger: refuse it for the journal by a statement trigger (deleting executions
-- removes their journal by cascade; a TRUNCATE of the journal would orphan every step's output).

CREATE FUNCTION aries.refuse_journal_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (truncate)' USING ERRCODE = 'AR008';
END $$;
