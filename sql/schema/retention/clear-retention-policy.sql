-- aries.clear_retention_policy (function)
--
-- Removes the policy of p_workflow (NULL: the default), whoever set it; true when there was one. The
-- workflow then falls back to the default (or keeps its executions for ever) until its definition
-- registers a policy again.

CREATE FUNCTION aries.clear_retention_policy(p_workflow text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  DELETE FROM aries.retention_policies p WHERE p.workflow_name = coalesce(p_workflow, '*');
  RETURN FOUND;
END $$;

-- It deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.clear_retention_policy(text) FROM PUBLIC;
