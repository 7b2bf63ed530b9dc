-- aries.start_execution (function)
--
-- Starts an execution, or returns the one already started under the same idempotency key (also when
-- retention purged its body but keeps its key: its id and final status).
-- p_version NULL means the most recently registered version of p_workflow; p_timeout_ms, when given, is
-- the whole execution's deadline from now (database clock).

CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
                                      p_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, status text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
  v_id uuid := gen_random_uuid();
  v_existing record;
BEGIN
  IF aries.create_execution(v_id, p_workflow, v_version, p_input, p_idempotency_key, p_timeout_ms) THEN
    RETURN QUERY SELECT v_id, true, 'PENDING'::text;
    RETURN;
  END IF;
  SELECT e.id, e.workflow_name, e.status INTO v_existing
  FROM aries.executions e WHERE e.idempotency_key = p_idempotency_key;
  IF NOT FOUND THEN
    SELECT r.execution_id AS id, r.workflow_name, r.status INTO v_existing
      FROM aries.retained_execution(p_idempotency_key) r;
  END IF;
  IF v_existing.workflow_name <> p_workflow THEN
    RAISE EXCEPTION 'idempotency key "%" already started an execution of workflow "%", not "%"',
      p_idempotency_key, v_existing.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;
  RETURN QUERY SELECT v_existing.id, false, v_existing.status;
END $$;
