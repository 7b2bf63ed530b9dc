-- aries.durability_rank (function)
--
-- The durability classes in order of strength (a batch commits at its strongest): off < local <
-- remote_write < on < remote_apply; NULL for an unknown class.

CREATE FUNCTION aries.durability_rank(p_class text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_class WHEN 'off' THEN 0 WHEN 'local' THEN 1 WHEN 'remote_write' THEN 2 WHEN 'on' THEN 3
                      WHEN 'remote_apply' THEN 4 END
$$;
