-- aries.list_failures (function)
--
-- Failures, newest first, for operators and the CLI.

CREATE FUNCTION aries.list_failures(p_execution_id uuid DEFAULT NULL, p_unrecovered_only boolean DEFAULT false,
                                    p_limit integer DEFAULT 100)
RETURNS SETOF aries.failures LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT * FROM aries.failures f
   WHERE (p_execution_id IS NULL OR f.execution_id = p_execution_id) AND (NOT p_unrecovered_only OR NOT f.recovered)
   ORDER BY f.failure_timestamp DESC, f.failure_id
   LIMIT p_limit
$$;
