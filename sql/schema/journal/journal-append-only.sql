-- aries.journal_append_only (trigger)
--
-- A journal record is never updated (journal_deleted_with_execution judges deletes). Operators and tests
-- may still corrupt a row deliberately after disabling these triggers; replay then detects it by its
-- checksum, the prev-LSN chain and executions.last_lsn.

CREATE TRIGGER journal_append_only BEFORE UPDATE ON aries.journal
  FOR EACH ROW EXECUTE FUNCTION aries.refuse_journal_change();
