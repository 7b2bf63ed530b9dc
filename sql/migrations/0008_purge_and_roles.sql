-- 0008_purge_and_roles: an operator purges one execution (a leaked secret) with an audit record; the
-- functions that delete rows run as the schema owner, so the runtime role needs no DELETE.
--
-- Model
--   purge     aries.purge_execution(p_execution_id, p_purged_by, p_reason): deletes a top-level execution at
--             rest (COMPLETED, COMPENSATED, CANCELLED or FAILED) with its whole tree of children and
--             everything that cascades from them; a busy one is refused (AR017), a child alone too (AR018,
--             naming its top-level execution). The journal's statement trigger still lets a record go only
--             with its execution: that is how its records go.
--   audit     aries.purges: who (the name given and the session's database user), why, when (database
--             clock), the workflow, the status it had and the rows removed. Never names a payload.
--   privilege purge_execution, purge_finished, register_retention_policy, clear_retention_policy,
--             delete_schedule and create_execution (its rare taking back of a row it just inserted) are
--             SECURITY DEFINER with the fixed empty search_path, and EXECUTE is revoked from PUBLIC: the
--             schema owner runs them for roles granted EXECUTE (`aries roles` grants the runtime role).
--             Their owner is the role that runs this migration.

-- ---- the audit table and the purge --------------------------------------------------------------

CREATE TABLE aries.purges (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id    uuid NOT NULL,
  workflow_name   text NOT NULL,
  workflow_version text NOT NULL,
  status          text NOT NULL,
  purged_by       text NOT NULL CHECK (purged_by <> '' AND pg_catalog.length(purged_by) <= 256),
  database_user   text NOT NULL,
  reason          text CHECK (pg_catalog.length(reason) <= 4096),
  purged_at       timestamptz NOT NULL DEFAULT aries.now(),
  executions      integer NOT NULL CHECK (executions >= 1),
  steps           integer NOT NULL,
  journal_records integer NOT NULL,
  checkpoints     integer NOT NULL,
  failures        integer NOT NULL,
  signals         integer NOT NULL,
  waits           integer NOT NULL
);
-- The audit trail of one execution id, newest first (a purge is listed by the id it named).
CREATE INDEX purges_execution_idx ON aries.purges (execution_id);
CREATE INDEX purges_purged_at_idx ON aries.purges (purged_at);


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


-- ---- the functions that delete rows run as the schema owner -------------------------------------------

ALTER FUNCTION aries.purge_finished(integer) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION aries.purge_finished(integer) FROM PUBLIC;
ALTER FUNCTION aries.register_retention_policy(text, bigint, bigint) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION aries.register_retention_policy(text, bigint, bigint) FROM PUBLIC;
ALTER FUNCTION aries.clear_retention_policy(text) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION aries.clear_retention_policy(text) FROM PUBLIC;
ALTER FUNCTION aries.delete_schedule(text) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION aries.delete_schedule(text) FROM PUBLIC;
ALTER FUNCTION aries.create_execution(uuid, text, text, jsonb, text, bigint, uuid, text, text, text, text, integer, timestamptz, text, timestamptz) SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION aries.create_execution(uuid, text, text, jsonb, text, bigint, uuid, text, text, text, text, integer, timestamptz, text, timestamptz) FROM PUBLIC;
