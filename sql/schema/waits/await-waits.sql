-- aries.await_waits (function)
--
-- Called by the worker when its run of the execution can go no further without a wait: p_open are the
-- keys of the waits the workflow is blocked on, p_cancel those of waits that lost a race (cancelled first:
-- a signal they would have taken stays in the mailbox). Of the open waits, the one whose event came first
-- on the database clock is settled, and only that one (what it settles may end a race, so the others are
-- looked at again next time):
--   sleep   its wake time has come;
--   signal  the oldest unconsumed signal of its name (consumed here, by this wait), or its timeout has come;
--   child   the child ended (SUB_COMMITTED or COMPLETED: its output; FAILED, COMPENSATED, CANCELLED: its
--           error), or the timeout came first (the child is then cancelled as its parent_close says).
-- A settled wait is COMPLETED with its output journaled (step_completed), or FAILED with its error
-- (step_failed); one row describes it (outcome 'completed' or 'failed'). When nothing has come yet, the
-- execution is suspended: SLEEPING (only sleeps) or WAITING, no lease owner, due at the earliest wake time
-- or deadline (infinity when only a signal, a child or a cancel can wake it); the row has outcome
-- 'suspended', that status, when it is due and in how many milliseconds (NULL: infinity), so the worker
-- can look again then without a clock of its own. Ties go to the lower position. AR002 a lost lease.

CREATE FUNCTION aries.await_waits(p_execution_id uuid, p_token bigint, p_open text[], p_cancel text[] DEFAULT '{}')
RETURNS TABLE (step_key text, outcome text, output jsonb, error jsonb, resolved_lsn bigint, status text,
               available_at timestamptz, due_in_ms double precision)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  v_now timestamptz := aries.now();
  w record;
  v_lsn bigint;
  v_status text;
  v_due timestamptz;
BEGIN
  IF pg_catalog.cardinality(p_cancel) > 0 THEN
    PERFORM aries.cancel_waits(p_execution_id, p_cancel, 'lost a race to another wait');
    SELECT e.last_lsn INTO v.last_lsn FROM aries.executions e WHERE e.id = p_execution_id; -- its records came first
  END IF;
  SELECT c.* INTO w FROM (
    SELECT o.step_key, o.seq, o.attempt, o.kind, o.wake_at, x.event_at, x.outcome, x.output, x.error, x.signal_id, o.child_id
      FROM (SELECT wt.step_key, s.seq, s.attempt, wt.kind, wt.wake_at, wt.signal_name, wt.child_id, wt.created_at
              FROM aries.waits wt
              JOIN aries.steps s ON s.execution_id = wt.execution_id AND s.step_key = wt.step_key
             WHERE wt.execution_id = p_execution_id AND wt.step_key = ANY (p_open) AND s.status = 'WAITING') o
      LEFT JOIN LATERAL (SELECT sg.id, sg.sent_at, sg.payload FROM aries.signals sg
                          WHERE o.kind = 'signal' AND sg.execution_id = p_execution_id AND sg.name = o.signal_name
                            AND sg.consumed_by IS NULL
                          ORDER BY sg.id LIMIT 1) sig ON true
      LEFT JOIN LATERAL (SELECT ch.status, ch.output, ch.error, ch.updated_at FROM aries.executions ch
                          WHERE o.kind = 'child' AND ch.id = o.child_id) child ON true
     CROSS JOIN LATERAL (SELECT * FROM (VALUES
         (CASE WHEN o.kind = 'sleep' AND o.wake_at <= v_now THEN o.wake_at END, 'completed', NULL::jsonb, NULL::jsonb, NULL::bigint),
         (CASE WHEN sig.id IS NOT NULL THEN greatest(sig.sent_at, o.created_at) END, 'completed', sig.payload, NULL, sig.id),
         (CASE WHEN child.status IN ('SUB_COMMITTED', 'COMPLETED') THEN child.updated_at END, 'completed', child.output, NULL, NULL),
         (CASE WHEN child.status IN ('FAILED', 'COMPENSATED', 'CANCELLED') THEN child.updated_at END, 'failed', NULL,
          pg_catalog.jsonb_build_object('name', 'ChildWorkflowFailedError', 'code', 'CHILD_FAILED',
            'message', pg_catalog.format('child execution %s ended %s: %s', o.child_id, child.status,
                                         coalesce(child.error ->> 'message', 'no message')),
            'childExecutionId', o.child_id, 'childStatus', child.status,
            'failureType', CASE WHEN child.status = 'FAILED' THEN coalesce(child.error ->> 'failureType', 'PERMANENT')
                                ELSE 'PERMANENT' END,
            'childError', child.error), NULL),
         (CASE WHEN o.kind <> 'sleep' AND o.wake_at <= v_now THEN o.wake_at END, 'failed', NULL,
          pg_catalog.jsonb_build_object('name', 'WaitTimeoutError', 'code', 'WAIT_TIMEOUT',
            'message', pg_catalog.format('%s "%s" timed out at %s', CASE o.kind WHEN 'signal' THEN 'the wait for signal "' || o.signal_name || '" under key' ELSE 'child' END,
                                         o.step_key, o.wake_at),
            'kind', o.kind, 'signal', o.signal_name, 'childExecutionId', o.child_id, 'timedOutAt', o.wake_at), NULL)
       ) ev (event_at, outcome, output, error, signal_id)
       WHERE ev.event_at IS NOT NULL
       ORDER BY ev.event_at LIMIT 1) x
     ORDER BY x.event_at, o.seq LIMIT 1) c;

  IF FOUND THEN
    IF w.outcome = 'completed' THEN
      v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_completed', w.seq, w.step_key, w.attempt, w.output);
      UPDATE aries.steps s SET status = 'COMPLETED', output_lsn = v_lsn, completed_at = v_now, ended_at = v_now
       WHERE s.execution_id = p_execution_id AND s.step_key = w.step_key;
      UPDATE aries.executions e SET last_lsn = v_lsn, step_count = e.step_count + 1, updated_at = v_now
       WHERE e.id = p_execution_id;
    ELSE
      v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_failed', w.seq, w.step_key, w.attempt, w.error);
      UPDATE aries.steps s SET status = 'FAILED', error = w.error, ended_at = v_now
       WHERE s.execution_id = p_execution_id AND s.step_key = w.step_key;
      UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = v_now WHERE e.id = p_execution_id;
      -- A child that timed out is cancelled, unless it is to be abandoned.
      IF w.kind = 'child' AND w.error ->> 'code' = 'WAIT_TIMEOUT' THEN
        PERFORM aries.cancel_execution(ch.id, pg_catalog.format('its parent %s stopped waiting for it: %s', p_execution_id, w.error ->> 'message'),
                                       true)
           FROM aries.executions ch
          WHERE ch.id = w.child_id AND ch.parent_close = 'cancel'
            AND ch.status IN ('PENDING', 'RUNNING', 'SLEEPING', 'WAITING');
      END IF;
    END IF;
    IF w.signal_id IS NOT NULL THEN
      UPDATE aries.signals sg SET consumed_by = w.step_key, consumed_at = v_now WHERE sg.id = w.signal_id;
    END IF;
    UPDATE aries.waits wt SET resolved_at = v_now, resolved_lsn = v_lsn
     WHERE wt.execution_id = p_execution_id AND wt.step_key = w.step_key;
    RETURN QUERY SELECT w.step_key, w.outcome, w.output, w.error, v_lsn, 'RUNNING'::text, NULL::timestamptz,
                        NULL::double precision;
    RETURN;
  END IF;

  -- Nothing has come: the execution gives back its lease and its worker slot until it is due.
  SELECT CASE WHEN pg_catalog.bool_and(wt.kind = 'sleep') THEN 'SLEEPING' ELSE 'WAITING' END,
         least(pg_catalog.min(wt.wake_at), v.deadline_at)
    INTO v_status, v_due
    FROM aries.waits wt
   WHERE wt.execution_id = p_execution_id AND wt.step_key = ANY (p_open) AND wt.resolved_at IS NULL;
  IF v_status IS NULL THEN
    RAISE EXCEPTION 'execution % has none of the open waits % to wait for', p_execution_id, p_open
      USING ERRCODE = 'AR011';
  END IF;
  v_due := coalesce(v_due, 'infinity'::timestamptz);
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_suspended', NULL, NULL, NULL,
    pg_catalog.jsonb_build_object('status', v_status, 'until', v_due, 'waits', pg_catalog.to_jsonb(p_open)));
  UPDATE aries.executions e
     SET status = v_status, lease_owner = NULL, lease_expires_at = NULL, available_at = v_due,
         last_lsn = v_lsn, updated_at = v_now
   WHERE e.id = p_execution_id;
  RETURN QUERY SELECT NULL::text, 'suspended'::text, NULL::jsonb, NULL::jsonb, v_lsn, v_status, v_due,
                      CASE WHEN pg_catalog.isfinite(v_due) THEN pg_catalog.date_part('epoch', v_due - v_now) * 1000 END;
END $$;
