-- aries.journal_checksum (function)
--
-- The checksum of a journal record. jsonb's text form is canonical (keys sorted, spacing fixed), so the
-- same payload always hashes the same way on every backend. Built from immutable operators only, so
-- the planner inlines it into the statements that call it.

CREATE FUNCTION aries.journal_checksum(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer,
                                       p_step_key text, p_attempt integer, p_payload jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_catalog.md5(p_execution_id::text || E'\x1f' || coalesce(p_prev_lsn::text, '-') || E'\x1f' || p_kind
         || E'\x1f' || coalesce(p_seq::text, '-') || E'\x1f' || coalesce(p_step_key, '-') || E'\x1f'
         || coalesce(p_attempt::text, '-') || E'\x1f' || coalesce(p_payload::text, '-'))
$$;
