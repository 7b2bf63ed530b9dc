-- aries.schedule_slot_key (function)
--
-- The idempotency key of the execution a cron slot starts: 'aries:schedule:<name>:<slot, ISO 8601 UTC>'.
-- Deleting and re-creating a schedule of the same name never starts a slot's execution twice.

CREATE FUNCTION aries.schedule_slot_key(p_name text, p_slot_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT 'aries:schedule:' || p_name || ':'
         || pg_catalog.to_char(p_slot_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
