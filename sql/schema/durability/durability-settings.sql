-- aries.durability_settings (function)
--
-- The server settings that decide whether a commit survives a crash, for the start-up warning.

CREATE FUNCTION aries.durability_settings()
RETURNS TABLE (fsync text, full_page_writes text, synchronous_commit text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.current_setting('fsync'), pg_catalog.current_setting('full_page_writes'),
         pg_catalog.current_setting('synchronous_commit')
$$;
