-- aries.checkpoint_checksum (function)
--
-- A checkpoint's checksum binds it to its execution and LSN (apply_step_requests computes the same).

CREATE FUNCTION aries.checkpoint_checksum(p_execution_id uuid, p_lsn bigint, p_state jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_catalog.md5(p_execution_id::text || ':' || p_lsn::text || ':' || p_state::text)
$$;
