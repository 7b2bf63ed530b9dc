-- aries.signal_with_start (function)
--
-- Starts an execution of p_workflow under p_idempotency_key if that key is new (as start_execution), and
-- delivers the signal p_signal_name to it (as send_signal), in one transaction: the signal is never sent
-- to an execution that does not exist, nor the execution started without it. created says whether this
-- call started it; p_queue, p_queue_key, p_priority and p_delay_ms place a new one as start_execution
-- does. AR007 the key started another workflow, AR011 no idempotency key, AR013 an unknown queue.

CREATE FUNCTION aries.signal_with_start(p_workflow text, p_version text, p_input jsonb, p_idempotency_key text,
                                        p_signal_name text, p_payload jsonb DEFAULT NULL,
                                        p_signal_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL,
                                        p_queue text DEFAULT NULL, p_queue_key text DEFAULT NULL,
                                        p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, signal_id bigint, duplicate boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_started record;
  v_signal record;
BEGIN
  IF p_idempotency_key IS NULL OR p_idempotency_key = '' THEN
    RAISE EXCEPTION 'signal-with-start needs the idempotency key that names the execution' USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_started FROM aries.start_execution(p_workflow, p_version, p_input, p_idempotency_key, p_timeout_ms,
                                                           p_queue, p_queue_key, p_priority, p_delay_ms,
                                                           p_input_must_match => false);
  SELECT * INTO v_signal FROM aries.send_signal(v_started.execution_id, p_signal_name, p_payload, p_signal_idempotency_key);
  RETURN QUERY SELECT v_started.execution_id, v_started.created, v_signal.signal_id, v_signal.duplicate;
END $$;
