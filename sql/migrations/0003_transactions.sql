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
--   invariants      more of them kept by the schema itself (an execution is born PENDING, a completed step
--                   or compensation is never undone except by a rollback, a step's output record and
--                   completion time exist exactly when it is COMPLETED, journal records name a whole step
--                   or none, the journal cannot be truncated).
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

-- ---- invariants the schema keeps by itself --------------------------------------------------------
-- (found missing by test/sql/schema-invariants.test.ts, which tries each with raw SQL)

-- An execution is born PENDING: every other status is reached through execution_transitions. The WHEN
-- clause keeps the hot path's upserts (which propose PENDING rows) from calling the function.
CREATE FUNCTION aries.refuse_execution_born_running() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'an execution is created PENDING, not % (its other statuses are reached by transitions)', NEW.status
    USING ERRCODE = 'AR003';
END $$;
CREATE TRIGGER executions_born_pending BEFORE INSERT ON aries.executions
  FOR EACH ROW WHEN (NEW.status <> 'PENDING') EXECUTE FUNCTION aries.refuse_execution_born_running();

-- A step's output record and completion time exist exactly when it is COMPLETED (each on its own).
ALTER TABLE aries.steps DROP CONSTRAINT steps_check;
ALTER TABLE aries.steps
  ADD CONSTRAINT steps_output_check CHECK ((status = 'COMPLETED') = (output_lsn IS NOT NULL)),
  ADD CONSTRAINT steps_completed_at_check CHECK ((status = 'COMPLETED') = (completed_at IS NOT NULL));

-- A completed step never becomes runnable again, except by a rollback to a checkpoint (ROLLED_BACK); a
-- completed compensation never runs again, except when its step is rolled back with it.
CREATE FUNCTION aries.refuse_step_undone() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK') THEN
    RAISE EXCEPTION 'step "%" of execution % is COMPLETED: it cannot become % (only a rollback voids it)',
      OLD.step_key, OLD.execution_id, NEW.status USING ERRCODE = 'AR003';
  END IF;
  RAISE EXCEPTION 'the compensation of step "%" of execution % completed: it cannot become %', OLD.step_key,
    OLD.execution_id, coalesce(NEW.compensation_status, 'NULL') USING ERRCODE = 'AR003';
END $$;
CREATE TRIGGER steps_completed_guard BEFORE UPDATE OF status, compensation_status ON aries.steps
  FOR EACH ROW WHEN ((OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK'))
                     OR (OLD.compensation_status = 'COMPLETED' AND NEW.compensation_status IS DISTINCT FROM 'COMPLETED'
                         AND NEW.status <> 'ROLLED_BACK'))
  EXECUTE FUNCTION aries.refuse_step_undone();

-- A journal record names a whole step (key, position, attempt) or none of it.
ALTER TABLE aries.journal
  ADD CONSTRAINT journal_step_fields_whole_check CHECK (pg_catalog.num_nulls(step_key, seq, attempt) IN (0, 3));

-- TRUNCATE fires no row trigger: refuse it for the journal by a statement trigger (deleting executions
-- removes their journal by cascade; a TRUNCATE of the journal would orphan every step's output).
CREATE FUNCTION aries.refuse_journal_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (truncate)' USING ERRCODE = 'AR008';
END $$;
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON aries.journal
  FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_truncate();

-- ---- operators ---------------------------------------------------------------------------------------

-- The workers holding leases now, with how many executions each holds and when their leases end (a
-- worker holding none is not listed: workers keep no row of their own; their leases are their trace).
CREATE FUNCTION aries.list_workers()
RETURNS TABLE (worker text, executions bigint, compensating bigint, earliest_lease_expiry timestamptz,
               latest_lease_expiry timestamptz, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT e.lease_owner, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATING'),
         pg_catalog.min(e.lease_expires_at), pg_catalog.max(e.lease_expires_at),
         pg_catalog.count(*) FILTER (WHERE e.lease_expires_at < aries.now())
    FROM aries.executions e
   WHERE e.lease_owner IS NOT NULL
   GROUP BY e.lease_owner
   ORDER BY e.lease_owner
$$;
