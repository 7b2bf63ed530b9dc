-- aries.payload_preview (function)
--
-- A payload as the execution page shows it: itself when its JSON text is at most p_limit bytes (or p_limit
-- is NULL), else {"$truncated": true, "bytes": n, "preview": its first 2,048 characters}. Computed here so
-- a large payload never leaves the database whole unless asked for.

CREATE FUNCTION aries.payload_preview(p_payload jsonb, p_limit integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_limit IS NULL OR p_payload IS NULL OR pg_catalog.octet_length(p_payload::text) <= p_limit
              THEN p_payload
              ELSE pg_catalog.jsonb_build_object('$truncated', true, 'bytes', pg_catalog.octet_length(p_payload::text),
                                                 'preview', pg_catalog.left(p_payload::text, 2048)) END
$$;
