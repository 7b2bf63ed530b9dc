-- aries.lock_owned_execution (function)
--
-- Locks an execution for a write by the worker holding fencing token p_token, or raises AR001 if it
-- does not exist and AR002 if the token is no longer current (another worker claimed it since) or the
-- execution left RUNNING under another token. A COMPENSATING execution is owned like a RUNNING one.
-- p_done_status names the status an idempotent repeat of the caller's own transition would find: then
-- the row is returned as it is and the caller does nothing.

CREATE FUNCTION aries.lock_owned_execution(p_execution_id uuid, p_token bigint, p_done_status text DEFAULT NULL)
RETURNS aries.executions LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_token = p_token
     AND ((v.status IN ('RUNNING', 'COMPENSATING') AND v.lease_owner IS NOT NULL) OR v.status = p_done_status) THEN
    RETURN v;
  END IF;
  RAISE EXCEPTION 'lease on execution % lost: fencing token % is not current (current token %, status %)',
    p_execution_id, p_token, v.lease_token, v.status USING ERRCODE = 'AR002';
END $$;
