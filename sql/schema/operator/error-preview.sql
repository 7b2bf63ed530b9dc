-- aries.error_preview (function)
--
-- A stored error (an execution's or a step's; a cancel reason is one) as pages show it: itself when its
-- JSON text is at most p_limit bytes (or p_limit is NULL), else its name, its code if it has one, the
-- first 512 characters of its message and {"$truncated": true, "bytes": n} (the stack and details left
-- out). A stored message may be 4,096 characters, a stack 16 KiB and details 64 KiB: a page of them would
-- be megabytes, so the whole error leaves the database only when asked for, as with payload_preview.

CREATE FUNCTION aries.error_preview(p_error jsonb, p_limit integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE WHEN p_limit IS NULL OR p_error IS NULL OR pg_catalog.octet_length(p_error::text) <= p_limit
              THEN p_error
              ELSE pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                     'name', p_error -> 'name', 'code', p_error -> 'code',
                     'message', pg_catalog.left(p_error ->> 'message', 512),
                     '$truncated', true, 'bytes', pg_catalog.octet_length(p_error::text))) END
$$;
