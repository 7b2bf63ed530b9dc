-- aries.child_execution_id (function)
--
-- The id of the child a parent starts under a step key: derived from (parent, key), so that a replayed
-- ctx.child, or a retried start, names the same execution and never starts a second one.

CREATE FUNCTION aries.child_execution_id(p_parent_id uuid, p_step_key text) RETURNS uuid
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT pg_catalog.md5('aries-child:' || p_parent_id::text || ':' || p_step_key)::uuid
$$;
