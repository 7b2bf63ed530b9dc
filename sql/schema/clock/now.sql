-- aries.now (function)
--
-- The database clock: the start of the current transaction (Aries's transactions are short; in a long
-- one this only makes a lease end earlier, never later). Tests may pin it with SET aries.now = '…'.
-- This function and journal_checksum have no SET search_path (unlike every other function here): a SET
-- clause stops PostgreSQL from inlining a SQL function, and both are on the hot path. They name only
-- pg_catalog objects, fully qualified, so the caller's search_path cannot change what they do.

CREATE FUNCTION aries.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(pg_catalog.current_setting('aries.now', true), '')::timestamptz, pg_catalog.now())
$$;
