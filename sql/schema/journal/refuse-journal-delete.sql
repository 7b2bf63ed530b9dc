-- aries.refuse_journal_delete (function)
--
-- A journal record is deleted only with its execution (the ON DELETE CASCADE runs after the execution row
-- is gone): a statement that deleted a record whose execution still exists is refused, and rolled back
-- with it. Judged once per statement over the distinct executions of the deleted rows (a transition
-- table), not once per record: purging a million executions deletes many millions of records.

CREATE FUNCTION aries.refuse_journal_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_lsn bigint;
BEGIN
  SELECT g.lsn INTO v_lsn
    FROM (SELECT DISTINCT ON (d.execution_id) d.execution_id, d.lsn FROM deleted_records d) g
   WHERE EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = g.execution_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the journal is append-only (delete of lsn %)', v_lsn USING ERRCODE = 'AR008';
  END IF;
  RETURN NULL;
END $$;
