-- aries.retained_execution (function)
--
-- The purged execution an idempotency key still names (its id, workflow and final status), while the key
-- is kept (expires_at after the database clock); no row otherwise. start_execution answers with it when
-- the key's execution row is gone.

CREATE FUNCTION aries.retained_execution(p_idempotency_key text)
RETURNS TABLE (execution_id uuid, workflow_name text, status text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT k.execution_id, k.workflow_name, k.status
    FROM aries.retained_idempotency_keys k
   WHERE k.idempotency_key = p_idempotency_key AND k.expires_at > aries.now()
$$;
