-- aries.journal_no_truncate (trigger)
--
-- TRUNCATE fires no row trigger: the journal refuses it by a statement trigger.

CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON aries.journal
  FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_truncate();
