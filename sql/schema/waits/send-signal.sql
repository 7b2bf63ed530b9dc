-- aries.send_signal (function)
--
-- Puts a signal named p_name with p_payload in the mailbox of an execution, in the caller's transaction:
-- it exists if and only if that transaction commits (an application can signal a workflow in the same
-- transaction as its own writes). The execution's journal records it (signal_received). A WAITING
-- execution that waits for that name is made due and idle workers are told on commit. The same
-- p_idempotency_key again stores nothing and returns the first signal (duplicate true). Waits for the
-- execution's row lock, which a worker holds only for its short writes. AR001 an unknown execution, AR003
-- a finished one (COMPLETED, SUB_COMMITTED, COMPENSATED or CANCELLED), 22023 an empty name.

CREATE FUNCTION aries.send_signal(p_execution_id uuid, p_name text, p_payload jsonb DEFAULT NULL,
                                  p_idempotency_key text DEFAULT NULL)
RETURNS TABLE (signal_id bigint, duplicate boolean) LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_id bigint;
  v_lsn bigint;
BEGIN
  IF p_name IS NULL OR p_name = '' THEN
    RAISE EXCEPTION 'a signal needs a non-empty name' USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_key = '' THEN
    RAISE EXCEPTION 'a signal''s idempotency key must not be empty' USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF p_idempotency_key IS NOT NULL THEN
    SELECT sg.id INTO v_id FROM aries.signals sg
     WHERE sg.execution_id = p_execution_id AND sg.idempotency_key = p_idempotency_key;
    IF FOUND THEN
      RETURN QUERY SELECT v_id, true;
      RETURN;
    END IF;
  END IF;
  IF v.status IN ('COMPLETED', 'SUB_COMMITTED', 'COMPENSATED', 'CANCELLED') THEN
    RAISE EXCEPTION 'execution % is % and cannot receive signal "%": it is finished', p_execution_id, v.status, p_name
      USING ERRCODE = 'AR003';
  END IF;
  INSERT INTO aries.signals (execution_id, name, payload, idempotency_key)
  VALUES (p_execution_id, p_name, p_payload, p_idempotency_key)
  RETURNING id INTO v_id;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'signal_received', NULL, NULL, NULL,
    pg_catalog.jsonb_build_object('signal', p_name, 'signalId', v_id, 'payload', p_payload,
                                  'idempotencyKey', p_idempotency_key));
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  IF v.status = 'WAITING' AND EXISTS (SELECT 1 FROM aries.waits wt
                                       WHERE wt.execution_id = p_execution_id AND wt.signal_name = p_name
                                         AND wt.resolved_at IS NULL) THEN
    PERFORM aries.wake_execution(p_execution_id);
  END IF;
  RETURN QUERY SELECT v_id, false;
END $$;
