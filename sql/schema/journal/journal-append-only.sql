-- aries.journal_append_only (trigger)
--
-- A journal record is never updated, and deleted only with its execution. Operators and tests may still
-- corrupt a row deliberately after disabling this trigger; replay then detects it by its checksum, the
-- prev-LSN chain and executions.last_lsn.

CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON aries.journal
  FOR EACH ROW EXECUTE FUNCTION aries.refuse_journal_change();
