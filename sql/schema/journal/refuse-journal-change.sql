-- aries.refuse_journal_change (function)
--
-- The journal is append-only: a record is never updated. (Deletes are judged per statement, by
-- refuse_journal_delete: a record goes only with its execution.)

CREATE FUNCTION aries.refuse_journal_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (% of lsn %)', pg_catalog.lower(TG_OP), OLD.lsn USING ERRCODE = 'AR008';
END $$;
