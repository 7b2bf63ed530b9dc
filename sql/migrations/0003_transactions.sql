-- 0003_transactions: durability classes and transactional steps.
--
-- Model
--   durability class  a workflow's choice of synchronous_commit for the transactions that record its steps'
--                     completions (its checkpoints) and its end: 'off' | 'local' | 'remote_write' | 'on' |
--                     'remote_apply' (default 'on'). It is applied with SET LOCAL inside those transactions,
--                     so it binds nothing else. A batch of several executions' writes commits at the
--                     strongest class among them. 'off' may lose the last few hundred milliseconds of
--                     acknowledged commits if the server crashes, never half of one: those steps run again.
--   transactional step  ctx.transaction(key, fn): the user's statements and the step's completion (journal
--                     record, steps row, checkpoint) commit in one transaction of the requested isolation
--                     level, fenced by the lease token, so its effect on the application's own tables happens
--                     exactly once. It uses record_steps (0001) inside that transaction.
--
-- The classes in order of strength (for a batch's strongest): off < local < remote_write < on < remote_apply.

CREATE FUNCTION aries.durability_rank(p_class text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_class WHEN 'off' THEN 0 WHEN 'local' THEN 1 WHEN 'remote_write' THEN 2 WHEN 'on' THEN 3
                      WHEN 'remote_apply' THEN 4 END
$$;

-- Applies a durability class to the current transaction (read at its COMMIT), or refuses an unknown one.
CREATE FUNCTION aries.apply_durability(p_class text) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF aries.durability_rank(p_class) IS NULL THEN
    RAISE EXCEPTION 'unknown durability class "%": use off, local, remote_write, on or remote_apply', p_class
      USING ERRCODE = '22023';
  END IF;
  PERFORM pg_catalog.set_config('synchronous_commit', p_class, true);
END $$;

-- record_steps_batch (0001) committed at durability class p_durability. A batch that only journals
-- intents still commits asynchronously when the server fsyncs (record_steps_batch lowers it to off):
-- losing an intent loses an attempt count, never a completed step.
CREATE FUNCTION aries.record_steps_durably(p_requests jsonb, p_durability text DEFAULT 'on')
RETURNS TABLE (execution_id uuid, attempt integer, error_code text, error_message text)
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.apply_durability(p_durability);
  RETURN QUERY SELECT * FROM aries.record_steps_batch(p_requests);
END $$;

-- The server settings that decide whether a commit survives a crash, for the start-up warning.
CREATE FUNCTION aries.durability_settings()
RETURNS TABLE (fsync text, full_page_writes text, synchronous_commit text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.current_setting('fsync'), pg_catalog.current_setting('full_page_writes'),
         pg_catalog.current_setting('synchronous_commit')
$$;
