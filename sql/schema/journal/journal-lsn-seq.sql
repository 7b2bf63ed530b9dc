-- aries.journal_lsn_seq (sequence)
--
-- The journal's log sequence numbers: global and monotonic (a rolled-back transaction leaves a gap, never
-- a reuse).

CREATE SEQUENCE aries.journal_lsn_seq;
