-- aries.purge_execution (function)
--
-- Deletes one execution and everything that belongs to it, on an operator's word (a leaked secret in an
-- input, an output or a step's record), and leaves an audit record in aries.purges. What goes: the
-- execution row and, through its foreign keys, its journal records, steps, waits, checkpoints, failures
-- and signals; its kept idempotency key; schedule slots that started it keep their slot but lose the id
-- (ON DELETE SET NULL). A top-level execution goes with its whole tree of children (the parent's journal
-- names its children; the children's rows name the parent), so a child alone is refused (AR018, naming
-- the top-level execution to purge). Only a tree at rest is purged: every execution in it COMPLETED,
-- COMPENSATED, CANCELLED or FAILED; any other status is refused (AR017, naming the execution and its
-- status: cancel it first). An unknown id is AR001.
--
-- The journal still refuses deletes: its statement trigger lets a record go only with its execution, and
-- that is the only way this function removes one. SECURITY DEFINER (owned by the schema owner, fixed
-- search_path): the runtime role has no DELETE of its own; EXECUTE is revoked from PUBLIC and granted by
-- sql/roles.sql. The executions are locked (FOR UPDATE, in id order) before they are judged, so a worker
-- that claims one concurrently either finishes first or finds it gone.

CREATE FUNCTION aries.purge_execution(p_execution_id uuid, p_purged_by text, p_reason text DEFAULT NULL)
RETURNS aries.purges
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_root uuid;
  v_ids uuid[];
  v_busy record;
  v_audit aries.purges;
BEGIN
  IF p_purged_by IS NULL OR p_purged_by = '' OR pg_catalog.length(p_purged_by) > 256 THEN
    RAISE EXCEPTION 'a purge names who purges (1 to 256 characters), got %', coalesce(pg_catalog.quote_literal(p_purged_by), 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF pg_catalog.length(p_reason) > 4096 THEN
    RAISE EXCEPTION 'the purge reason is % characters; the limit is 4096', pg_catalog.length(p_reason) USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.parent_id IS NOT NULL THEN
    WITH RECURSIVE up AS (
      SELECT e.id, e.parent_id FROM aries.executions e WHERE e.id = v.parent_id
      UNION ALL
      SELECT p.id, p.parent_id FROM up u JOIN aries.executions p ON p.id = u.parent_id
    )
    SELECT u.id INTO v_root FROM up u WHERE u.parent_id IS NULL;
    RAISE EXCEPTION 'execution % is a child of execution %: a child is purged with its tree, purge top-level execution % instead',
      p_execution_id, v.parent_id, coalesce(v_root, v.parent_id) USING ERRCODE = 'AR018';
  END IF;
  WITH RECURSIVE tree AS (
    SELECT p_execution_id AS id
    UNION ALL
    SELECT c.id FROM tree t JOIN aries.executions c ON c.parent_id = t.id
  )
  SELECT pg_catalog.array_agg(t.id ORDER BY t.id) INTO v_ids FROM tree t;
  PERFORM 1 FROM aries.executions e WHERE e.id = ANY (v_ids) ORDER BY e.id FOR UPDATE;
  SELECT e.id, e.status INTO v_busy FROM aries.executions e
   WHERE e.id = ANY (v_ids) AND e.status NOT IN ('COMPLETED', 'COMPENSATED', 'CANCELLED', 'FAILED')
   ORDER BY e.id = p_execution_id DESC, e.id LIMIT 1;
  IF FOUND THEN
    IF v_busy.id = p_execution_id THEN
      RAISE EXCEPTION 'execution % is % and cannot be purged: cancel it first', p_execution_id, v_busy.status
        USING ERRCODE = 'AR017';
    END IF;
    RAISE EXCEPTION 'execution % cannot be purged: its child execution % is %; cancel it first',
      p_execution_id, v_busy.id, v_busy.status USING ERRCODE = 'AR017';
  END IF;
  INSERT INTO aries.purges (execution_id, workflow_name, workflow_version, status, purged_by, database_user, reason,
                            executions, steps, journal_records, checkpoints, failures, signals, waits)
  SELECT v.id, v.workflow_name, v.workflow_version, v.status, p_purged_by, SESSION_USER, p_reason,
         pg_catalog.cardinality(v_ids),
         (SELECT pg_catalog.count(*) FROM aries.steps s WHERE s.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.journal j WHERE j.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.checkpoints c WHERE c.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.failures f WHERE f.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.signals g WHERE g.execution_id = ANY (v_ids)),
         (SELECT pg_catalog.count(*) FROM aries.waits w WHERE w.execution_id = ANY (v_ids))
  RETURNING * INTO v_audit;
  DELETE FROM aries.retained_idempotency_keys k WHERE k.execution_id = ANY (v_ids);
  DELETE FROM aries.executions e WHERE e.id = ANY (v_ids);
  RETURN v_audit;
END $$;

REVOKE EXECUTE ON FUNCTION aries.purge_execution(uuid, text, text) FROM PUBLIC;
