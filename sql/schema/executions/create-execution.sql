-- aries.create_execution (function)
--
-- Inserts a PENDING execution under p_id with its execution_started record, unless one exists under the
-- same id or idempotency key, or (p_debounce_key) a PENDING one of the workflow under the same debounce
-- key; true when it was created. Queued when p_queue is given (p_queue_key '' for none), due at
-- p_available_at (NULL: now). Tells idle workers once per new execution (never per step: NOTIFY
-- serialises commits; workers also poll, so a lost notification only delays). The one insert of
-- start_execution, signal_with_start and start_child. A key that names an execution purged by
-- retention (aries.retained_idempotency_keys) is taken too: nothing is created.

CREATE FUNCTION aries.create_execution(p_id uuid, p_workflow text, p_version text, p_input jsonb,
                                       p_idempotency_key text, p_timeout_ms bigint,
                                       p_parent_id uuid DEFAULT NULL, p_parent_step_key text DEFAULT NULL,
                                       p_parent_close text DEFAULT NULL, p_queue text DEFAULT NULL,
                                       p_queue_key text DEFAULT NULL, p_priority integer DEFAULT 0,
                                       p_available_at timestamptz DEFAULT NULL, p_debounce_key text DEFAULT NULL,
                                       p_debounce_deadline timestamptz DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_lsn bigint;
  v_inserted uuid;
BEGIN
  IF p_timeout_ms IS NOT NULL AND p_timeout_ms <= 0 THEN
    RAISE EXCEPTION 'an execution''s timeout must be a positive number of milliseconds, got %', p_timeout_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM aries.retained_execution(p_idempotency_key)) THEN
    RETURN false;
  END IF;
  v_lsn := pg_catalog.nextval('aries.journal_lsn_seq');
  INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn,
                                     parent_id, parent_step_key, parent_close, deadline_at, queue_name, queue_key,
                                     priority, available_at, debounce_key, debounce_deadline)
  VALUES (p_id, p_workflow, p_version, p_input, p_idempotency_key, v_lsn, p_parent_id, p_parent_step_key,
          p_parent_close, aries.now() + p_timeout_ms * interval '1 millisecond', p_queue,
          CASE WHEN p_queue IS NOT NULL THEN coalesce(p_queue_key, '') END, coalesce(p_priority, 0),
          coalesce(p_available_at, aries.now()), p_debounce_key, p_debounce_deadline)
  ON CONFLICT DO NOTHING
  RETURNING e.id INTO v_inserted;
  IF v_inserted IS NULL THEN
    RETURN false;
  END IF;
  -- A purge that moved this key to the retained keys committed while the insert waited on its row: the
  -- key is taken after all, so the row just inserted (nothing refers to it yet) is taken back.
  IF p_idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM aries.retained_execution(p_idempotency_key)) THEN
    DELETE FROM aries.executions e WHERE e.id = v_inserted;
    RETURN false;
  END IF;
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
  SELECT v_lsn, p_id, NULL, 'execution_started', p.payload,
         aries.journal_checksum(p_id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
    FROM (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', p_version,
                                               'input', p_input) AS payload) p;
  PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
  RETURN true;
END $$;

-- It deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.create_execution(uuid, text, text, jsonb, text, bigint, uuid, text, text, text, text, integer, timestamptz, text, timestamptz) FROM PUBLIC;
