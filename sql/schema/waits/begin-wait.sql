-- aries.begin_wait (function)
--
-- Records that the workflow began a wait at position p_seq under p_step_key: a sleep (p_kind 'sleep')
-- or a wait for the signal p_signal_name ('signal'). When it resolves by itself is computed here, on the
-- database clock: p_until, or p_delay_ms from now (neither, for a signal wait: no timeout). The steps row
-- is WAITING until aries.await_waits settles the wait. Idempotent: a wait already begun under the key
-- returns its wake time; one voided by a rollback begins again. Returns the wake time (NULL: none). AR002 a lost lease, AR006 the key recorded
-- as another kind or the position held by another key, 22023 a bad argument.

CREATE FUNCTION aries.begin_wait(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text, p_kind text,
                                 p_delay_ms double precision DEFAULT NULL, p_until timestamptz DEFAULT NULL,
                                 p_signal_name text DEFAULT NULL, p_child_id uuid DEFAULT NULL)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  v_step record;
  v_wake timestamptz;
  v_lsn bigint;
BEGIN
  IF p_kind IS NULL OR p_kind NOT IN ('sleep', 'signal', 'child') THEN
    RAISE EXCEPTION 'a wait is a sleep, a signal wait or a child, not %', coalesce(p_kind, 'NULL') USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms IS NOT NULL AND (p_delay_ms < 0 OR p_delay_ms = 'Infinity'::double precision OR p_delay_ms = 'NaN'::double precision) THEN
    RAISE EXCEPTION 'wait "%": the delay must be a finite number of milliseconds >= 0, got %', p_step_key, p_delay_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_kind = 'sleep' AND p_delay_ms IS NULL AND p_until IS NULL THEN
    RAISE EXCEPTION 'sleep "%" needs a delay or a time to sleep until', p_step_key USING ERRCODE = 'AR011';
  END IF;
  IF (p_kind = 'signal') <> (p_signal_name IS NOT NULL AND p_signal_name <> '') THEN
    RAISE EXCEPTION 'wait "%": only a signal wait names a signal, and it needs a non-empty name', p_step_key USING ERRCODE = 'AR011';
  END IF;
  SELECT s.status, s.kind, s.seq, s.attempt INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  IF FOUND THEN
    IF v_step.kind = p_kind AND v_step.status = 'WAITING' THEN
      RETURN (SELECT w.wake_at FROM aries.waits w WHERE w.execution_id = p_execution_id AND w.step_key = p_step_key);
    END IF;
    IF v_step.kind = p_kind AND v_step.status = 'ROLLED_BACK' THEN
      -- Voided by a rollback to a checkpoint: the wait begins again, as its next attempt, and gives back
      -- the signal it had consumed (that consumption was voided with it).
      IF EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq = p_seq AND s.step_key <> p_step_key) THEN
        RAISE EXCEPTION 'execution % recorded a different step at position % than "%"; the workflow code no longer matches its journal',
          p_execution_id, p_seq, p_step_key USING ERRCODE = 'AR006';
      END IF;
      v_wake := coalesce(p_until, aries.now() + p_delay_ms * interval '1 millisecond');
      v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_waiting', p_seq, p_step_key, v_step.attempt + 1,
        pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('kind', p_kind, 'until', v_wake, 'signal', p_signal_name,
                                                                   'child', p_child_id, 'again', true)));
      UPDATE aries.steps s SET status = 'WAITING', seq = p_seq, attempt = v_step.attempt + 1, error = NULL, output_lsn = NULL,
                               completed_at = NULL, ended_at = NULL, started_at = aries.now()
       WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
      UPDATE aries.waits w SET wake_at = v_wake, created_at = aries.now(), resolved_at = NULL, resolved_lsn = NULL
       WHERE w.execution_id = p_execution_id AND w.step_key = p_step_key;
      UPDATE aries.signals sg SET consumed_by = NULL, consumed_at = NULL
       WHERE sg.execution_id = p_execution_id AND sg.consumed_by = p_step_key;
      UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
      RETURN v_wake;
    END IF;
    RAISE EXCEPTION 'execution % recorded step "%" as a % (%), but the workflow code now begins a % wait under its key; the workflow code no longer matches its journal',
      p_execution_id, p_step_key, v_step.kind, v_step.status, p_kind USING ERRCODE = 'AR006';
  END IF;
  IF EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.seq = p_seq) THEN
    RAISE EXCEPTION 'execution % recorded a different step at position % than "%"; the workflow code no longer matches its journal',
      p_execution_id, p_seq, p_step_key USING ERRCODE = 'AR006';
  END IF;
  v_wake := coalesce(p_until, aries.now() + p_delay_ms * interval '1 millisecond');
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_waiting', p_seq, p_step_key, 1,
    pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('kind', p_kind, 'until', v_wake, 'signal', p_signal_name,
                                                               'child', p_child_id)));
  INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt, kind, started_at)
  VALUES (p_execution_id, p_step_key, p_seq, 'WAITING', 1, p_kind, aries.now());
  INSERT INTO aries.waits (execution_id, step_key, kind, wake_at, signal_name, child_id)
  VALUES (p_execution_id, p_step_key, p_kind, v_wake, p_signal_name, p_child_id);
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  RETURN v_wake;
END $$;
