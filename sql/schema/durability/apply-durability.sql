-- aries.apply_durability (function)
--
-- Applies a durability class to the current transaction (read at its COMMIT), or refuses an unknown one.

CREATE FUNCTION aries.apply_durability(p_class text) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF aries.durability_rank(p_class) IS NULL THEN
    RAISE EXCEPTION 'unknown durability class "%": use off, local, remote_write, on or remote_apply', p_class
      USING ERRCODE = '22023';
  END IF;
  PERFORM pg_catalog.set_config('synchronous_commit', p_class, true);
END $$;
