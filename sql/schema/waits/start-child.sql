-- aries.start_child (function)
--
-- The parent (p_execution_id, holding its lease) begins waiting at p_seq under p_step_key for a child
-- execution of p_workflow (p_version NULL: the newest registered) started here with p_input, in the same
-- transaction. The child's id is aries.child_execution_id(parent, key): a replayed or retried start finds
-- it and starts nothing. p_timeout_ms bounds the wait (NULL: none); p_parent_close says what a cancel of
-- the parent does to the child ('cancel' or 'abandon'); p_child_timeout_ms is the child's own deadline (its
-- workflow's timeoutMs). The child lands in its workflow's registered queue, if any (queue key '').
-- Returns the child's id. AR004 an unknown workflow, AR013 an unknown queue.

CREATE FUNCTION aries.start_child(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                  p_workflow text, p_version text, p_input jsonb,
                                  p_timeout_ms double precision DEFAULT NULL, p_parent_close text DEFAULT 'cancel',
                                  p_child_timeout_ms bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_child uuid := aries.child_execution_id(p_execution_id, p_step_key);
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
BEGIN
  IF p_parent_close IS NULL OR p_parent_close NOT IN ('cancel', 'abandon') THEN
    RAISE EXCEPTION 'child "%": parentClose must be ''cancel'' or ''abandon'', got %', p_step_key,
      coalesce(p_parent_close, 'NULL') USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.begin_wait(p_execution_id, p_token, p_seq, p_step_key, 'child', p_timeout_ms, NULL, NULL, v_child);
  PERFORM aries.create_execution(v_child, p_workflow, v_version, p_input, NULL, p_child_timeout_ms, p_execution_id,
                                 p_step_key, p_parent_close, aries.resolve_queue(p_workflow, v_version, NULL));
  UPDATE aries.executions e SET has_children = true WHERE e.id = p_execution_id AND NOT e.has_children;
  RETURN v_child;
END $$;
