-- aries.register_retention_policy (function)
--
-- The retention policy a workflow's definition declares, recorded when the workflow is registered:
-- inserted or replaced, unless an operator set this workflow's policy (an operator's change outlives the
-- next deploy). A definition that declares none (both NULL) removes the row an earlier definition left.

CREATE FUNCTION aries.register_retention_policy(p_workflow text, p_finished_ms bigint, p_idempotency_keys_ms bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  PERFORM aries.check_retention_durations(p_finished_ms, p_idempotency_keys_ms);
  IF p_finished_ms IS NULL AND p_idempotency_keys_ms IS NULL THEN
    DELETE FROM aries.retention_policies p WHERE p.workflow_name = p_workflow AND p.source = 'definition';
    RETURN;
  END IF;
  INSERT INTO aries.retention_policies AS p (workflow_name, finished_ms, idempotency_keys_ms, source)
  VALUES (p_workflow, p_finished_ms, p_idempotency_keys_ms, 'definition')
  ON CONFLICT (workflow_name) DO UPDATE
    SET finished_ms = excluded.finished_ms, idempotency_keys_ms = excluded.idempotency_keys_ms,
        updated_at = aries.now()
    WHERE p.source = 'definition'
      AND (p.finished_ms, p.idempotency_keys_ms) IS DISTINCT FROM (excluded.finished_ms, excluded.idempotency_keys_ms);
END $$;

-- It deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.register_retention_policy(text, bigint, bigint) FROM PUBLIC;
