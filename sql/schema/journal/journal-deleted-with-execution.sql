-- aries.journal_deleted_with_execution (trigger)
--
-- A journal record is deleted only with its execution: each DELETE statement on the journal (a direct one,
-- or the cascade of an execution's delete) is judged once, over the rows it deleted.

CREATE TRIGGER journal_deleted_with_execution AFTER DELETE ON aries.journal
  REFERENCING OLD TABLE AS deleted_records
  FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_delete();
