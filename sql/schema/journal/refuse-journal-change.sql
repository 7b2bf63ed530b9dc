-- aries.refuse_journal_change (function)
--
-- The journal is append-only: a record is never updated, and deleted only with its execution (the
-- ON DELETE CASCADE runs after the execution row is gone, which is how this trigger tells it apart).

CREATE FUNCTION aries.refuse_journal_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = OLD.execution_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the journal is append-only (% of lsn %)', pg_catalog.lower(TG_OP), OLD.lsn USING ERRCODE = 'AR008';
END $$;
