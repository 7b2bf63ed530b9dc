-- aries.purge_finished (function)
--
-- One bounded pass of retention: deletes up to p_batch finished executions (COMPLETED, COMPENSATED or
-- CANCELLED; never FAILED, which can still be recovered) whose finished_at is older than their workflow's
-- policy on the database clock, with everything that cascades from them (journal, steps, checkpoints,
-- failures, waits, signals). Only top-level executions are picked: a child goes with its parent, the
-- whole tree at once, and a tree with an unfinished or FAILED execution in it is kept. Rows another
-- transaction holds are skipped (FOR UPDATE SKIP LOCKED): a purge never waits on a worker nor on another
-- purge. Before a body goes, its idempotency key moves to aries.retained_idempotency_keys when the policy
-- keeps keys longer; up to p_batch expired retained keys are deleted. Returns what it did: executions
-- deleted (children included, so a tree may take it past p_batch), keys kept, keys expired.
-- Each workflow's candidates come from executions_retention_idx, oldest first.

CREATE FUNCTION aries.purge_finished(p_batch integer DEFAULT 1000)
RETURNS TABLE (executions integer, keys_kept integer, keys_expired integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_policy record;
  v_left integer := p_batch;
  v_roots uuid[];
  v_parents uuid[];
  v_ids uuid[];
  v_executions integer := 0;
  v_kept integer := 0;
  v_expired integer;
  v_count integer;
BEGIN
  IF p_batch IS NULL OR p_batch < 1 THEN
    RAISE EXCEPTION 'purge_finished needs a batch size of at least 1, got %', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  FOR v_policy IN
    SELECT n.name,
           CASE WHEN own.workflow_name IS NULL THEN dflt.finished_ms ELSE own.finished_ms END AS finished_ms,
           CASE WHEN own.workflow_name IS NULL THEN dflt.idempotency_keys_ms ELSE own.idempotency_keys_ms END AS keys_ms
      FROM (SELECT DISTINCT w.name FROM aries.workflows w) n
      LEFT JOIN aries.retention_policies own ON own.workflow_name = n.name
      LEFT JOIN aries.retention_policies dflt ON dflt.workflow_name = '*'
     WHERE CASE WHEN own.workflow_name IS NULL THEN dflt.finished_ms ELSE own.finished_ms END IS NOT NULL
     ORDER BY n.name
  LOOP
    EXIT WHEN v_left <= 0;
    SELECT pg_catalog.array_agg(c.id), pg_catalog.array_agg(c.id) FILTER (WHERE c.has_children)
      INTO v_roots, v_parents
      FROM (SELECT e.id, e.has_children FROM aries.executions e
             WHERE e.workflow_name = v_policy.name AND e.finished_at IS NOT NULL AND e.parent_id IS NULL
               AND e.finished_at < v_now - v_policy.finished_ms * interval '1 millisecond'
               -- a parent with an unfinished child takes no room in the batch (it would, at its head, for ever)
               AND NOT (e.has_children AND EXISTS (SELECT 1 FROM aries.executions c
                                                    WHERE c.parent_id = e.id AND c.finished_at IS NULL))
             ORDER BY e.finished_at
             LIMIT v_left
             FOR UPDATE SKIP LOCKED) c;
    CONTINUE WHEN v_roots IS NULL;
    v_left := v_left - pg_catalog.cardinality(v_roots);
    v_ids := v_roots;
    IF v_parents IS NOT NULL THEN
      -- Trees go whole or not at all: drop a root with any unfinished descendant, add the others'.
      WITH RECURSIVE tree AS (
        SELECT e.id AS root, e.id FROM aries.executions e WHERE e.id = ANY (v_parents)
        UNION ALL
        SELECT t.root, c.id FROM tree t JOIN aries.executions c ON c.parent_id = t.id
      ), kept AS (
        SELECT DISTINCT t.root FROM tree t JOIN aries.executions e ON e.id = t.id WHERE e.finished_at IS NULL
      )
      SELECT pg_catalog.array_agg(x.id) INTO v_ids
        FROM (SELECT r.id FROM pg_catalog.unnest(v_roots) AS r(id)
               WHERE r.id NOT IN (SELECT k.root FROM kept k)
              UNION ALL
              SELECT t.id FROM tree t WHERE t.id <> t.root AND t.root NOT IN (SELECT k.root FROM kept k)) x;
      CONTINUE WHEN v_ids IS NULL;
    END IF;
    IF v_policy.keys_ms IS NOT NULL AND v_policy.keys_ms > v_policy.finished_ms THEN
      INSERT INTO aries.retained_idempotency_keys (idempotency_key, workflow_name, execution_id, status,
                                                   finished_at, expires_at)
      SELECT e.idempotency_key, e.workflow_name, e.id, e.status, e.finished_at,
             e.finished_at + v_policy.keys_ms * interval '1 millisecond'
        FROM aries.executions e
       WHERE e.id = ANY (v_ids) AND e.idempotency_key IS NOT NULL AND e.finished_at IS NOT NULL
         AND e.finished_at + v_policy.keys_ms * interval '1 millisecond' > v_now
      ON CONFLICT DO NOTHING;
      GET DIAGNOSTICS v_count = ROW_COUNT;
      v_kept := v_kept + v_count;
    END IF;
    DELETE FROM aries.executions e WHERE e.id = ANY (v_ids);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    v_executions := v_executions + v_count;
  END LOOP;
  DELETE FROM aries.retained_idempotency_keys k
   WHERE k.idempotency_key IN (SELECT x.idempotency_key FROM aries.retained_idempotency_keys x
                                WHERE x.expires_at <= v_now ORDER BY x.expires_at LIMIT p_batch
                                FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS v_expired = ROW_COUNT;
  RETURN QUERY SELECT v_executions, v_kept, v_expired;
END $$;

-- It deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.purge_finished(integer) FROM PUBLIC;
