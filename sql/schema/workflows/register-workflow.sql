-- aries.register_workflow (function)
--
-- Records that a worker serves workflow p_name version p_version; registering it again refreshes
-- last_seen_at.

CREATE FUNCTION aries.register_workflow(p_name text, p_version text) RETURNS void
LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.workflows (name, version) VALUES (p_name, p_version)
  ON CONFLICT (name, version) DO UPDATE SET last_seen_at = pg_catalog.now()
$$;
