-- aries.commit_intents_asynchronously (function)
--
-- A transaction that only journals intents, and records no completion, commits asynchronously when the
-- server fsyncs: a server crash may lose it, which loses an attempt count, never a completed step. Without
-- fsync (PGlite, which also has no WAL writer to flush asynchronous commits before a process dies) a
-- synchronous commit costs no disk flush, so the intent is committed synchronously and survives a killed
-- process. synchronous_commit is read at COMMIT, so setting it last decides for the whole transaction.

CREATE FUNCTION aries.commit_intents_asynchronously() RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF pg_catalog.current_setting('fsync') = 'on' THEN
    PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
  END IF;
END $$;
