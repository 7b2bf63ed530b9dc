-- aries.abandon_waits (function)
--
-- The worker holding the lease cancels open waits its run no longer awaits: those that lost a race, and
-- every wait still open when the workflow function returns (see aries.cancel_waits). AR002 a lost lease.

CREATE FUNCTION aries.abandon_waits(p_execution_id uuid, p_token bigint, p_keys text[], p_reason text)
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.lock_owned_execution(p_execution_id, p_token, 'RUNNING');
  RETURN aries.cancel_waits(p_execution_id, p_keys, p_reason);
END $$;
