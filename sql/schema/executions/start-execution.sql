-- aries.start_execution (function)
--
-- Starts an execution, or returns the one already started under the same idempotency key.
-- p_version NULL means the most recently registered version of p_workflow.

CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
                                      p_idempotency_key text DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, status text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_version text := p_version;
  v_id uuid := gen_random_uuid();
  v_lsn bigint := pg_catalog.nextval('aries.journal_lsn_seq');
  v_inserted uuid;
  v_existing record;
BEGIN
  IF v_version IS NULL THEN
    SELECT w.version INTO v_version FROM aries.workflows w WHERE w.name = p_workflow
    ORDER BY w.registered_at DESC, w.version DESC LIMIT 1;
  END IF;
  IF v_version IS NULL OR NOT EXISTS (SELECT 1 FROM aries.workflows w
                                      WHERE w.name = p_workflow AND w.version = v_version) THEN
    RAISE EXCEPTION 'unknown workflow "%"%', p_workflow,
      CASE WHEN p_version IS NULL THEN '' ELSE ' version "' || p_version || '"' END
      USING ERRCODE = 'AR004',
            HINT = 'start a worker whose modules export it (workers register their workflows), or check the name';
  END IF;

  INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn)
  VALUES (v_id, p_workflow, v_version, p_input, p_idempotency_key, v_lsn)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING e.id INTO v_inserted;

  IF v_inserted IS NOT NULL THEN
    INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
    SELECT v_lsn, v_id, NULL, 'execution_started', p.payload,
           aries.journal_checksum(v_id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
      FROM (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', v_version,
                                                 'input', p_input) AS payload) p;
    -- A hint for idle workers, sent once per new execution (never per step: NOTIFY serialises commits).
    -- Workers also poll, so a lost notification only delays.
    PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
    RETURN QUERY SELECT v_id, true, 'PENDING'::text;
    RETURN;
  END IF;

  SELECT e.id, e.workflow_name, e.status INTO v_existing
  FROM aries.executions e WHERE e.idempotency_key = p_idempotency_key;
  IF v_existing.workflow_name <> p_workflow THEN
    RAISE EXCEPTION 'idempotency key "%" already started an execution of workflow "%", not "%"',
      p_idempotency_key, v_existing.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;
  RETURN QUERY SELECT v_existing.id, false, v_existing.status;
END $$;
