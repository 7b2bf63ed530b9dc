-- aries.resolve_workflow_version (function)
--
-- The version of p_workflow to start: p_version, or (NULL) the most recently registered one. AR004 when
-- no such workflow (version) is registered.

CREATE FUNCTION aries.resolve_workflow_version(p_workflow text, p_version text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
  v_version text := p_version;
BEGIN
  IF v_version IS NULL THEN
    SELECT w.version INTO v_version FROM aries.workflows w WHERE w.name = p_workflow
    ORDER BY w.registered_at DESC, w.version DESC LIMIT 1;
  END IF;
  IF v_version IS NULL OR NOT EXISTS (SELECT 1 FROM aries.workflows w
                                      WHERE w.name = p_workflow AND w.version = v_version) THEN
    RAISE EXCEPTION 'unknown workflow "%"%', p_workflow,
      CASE WHEN p_version IS NULL THEN '' ELSE ' version "' || p_version || '"' END
      USING ERRCODE = 'AR004',
            HINT = 'start a worker whose modules export it (workers register their workflows), or check the name';
  END IF;
  RETURN v_version;
END $$;
