-- aries.retry_step (function)
--
-- Records a TRANSIENT failure of a step's attempt and schedules its retry: the step is RETRYING, the
-- failure is recorded (strategy retry), and the execution is PENDING until now + p_delay_ms: that row is
-- the durable timer. Completions of other steps must have been recorded first. Idempotent under the same
-- token. Returns when the retry is due.

CREATE FUNCTION aries.retry_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                 p_attempt integer, p_error jsonb, p_delay_ms integer, p_source text)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_at timestamptz := aries.now() + GREATEST(p_delay_ms, 0) * interval '1 millisecond';
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' THEN
    RETURN v.available_at;
  END IF;
  IF v.status <> 'RUNNING' THEN
    RAISE EXCEPTION 'execution % is %, not RUNNING: its steps are not retried', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
                    AND s.seq = p_seq AND s.attempt = p_attempt AND s.status = 'RUNNING') THEN
    RAISE EXCEPTION 'step "%" of execution % is not running attempt % at position %', p_step_key, p_execution_id,
      p_attempt, p_seq USING ERRCODE = 'AR005';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_retrying', p_seq, p_step_key, p_attempt,
             pg_catalog.jsonb_build_object('error', p_error, 'delay_ms', p_delay_ms, 'retry_at', v_at));
  UPDATE aries.steps s SET status = 'RETRYING', error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  PERFORM aries.record_failure(p_execution_id, 'TRANSIENT', 'retry', p_source, p_error, p_step_key, p_attempt,
    pg_catalog.jsonb_build_object('retry_at', v_at, 'delay_ms', p_delay_ms, 'error', p_error -> 'details'));
  UPDATE aries.executions e
     SET status = 'PENDING', lease_owner = NULL, lease_expires_at = NULL, available_at = v_at, last_lsn = v_lsn,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_at;
END $$;
