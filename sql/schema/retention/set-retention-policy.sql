-- aries.set_retention_policy (function)
--
-- An operator's retention policy for p_workflow, or the default for every workflow when p_workflow is
-- NULL: finished executions kept p_finished_ms after they finished, their idempotency keys
-- p_idempotency_keys_ms (NULL: for ever, and with the body). Marked 'operator', so a later registration of
-- the workflow's definition does not overwrite it. AR011 for a duration that is not positive.

CREATE FUNCTION aries.set_retention_policy(p_workflow text, p_finished_ms bigint, p_idempotency_keys_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.check_retention_durations(p_finished_ms, p_idempotency_keys_ms);
  IF p_workflow = '' OR p_workflow = '*' THEN
    RAISE EXCEPTION 'a retention policy names a workflow, or NULL for the default, not "%"', p_workflow
      USING ERRCODE = 'AR011';
  END IF;
  INSERT INTO aries.retention_policies AS p (workflow_name, finished_ms, idempotency_keys_ms, source)
  VALUES (coalesce(p_workflow, '*'), p_finished_ms, p_idempotency_keys_ms, 'operator')
  ON CONFLICT (workflow_name) DO UPDATE
    SET finished_ms = excluded.finished_ms, idempotency_keys_ms = excluded.idempotency_keys_ms,
        source = 'operator', updated_at = aries.now();
END $$;
