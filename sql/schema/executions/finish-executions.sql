-- aries.finish_executions (function)
--
-- The set-based end of complete_execution, for record_steps_batch: every request of p_requests that
-- carries "finish" ({output?}: an absent "output" stores SQL NULL) and whose execution is in
-- p_accepted (apply_step_requests accepted its completions under its lease, and the caller holds its
-- row lock) ends COMPLETED with that output, or SUB_COMMITTED when it is a child whose parent has not
-- finished. One execution_completed (or execution_sub_committed) journal record each, LSNs drawn in
-- execution id order, chained after the execution's last record. Three statements whatever the number
-- of requests. Returns how many executions it ended.

CREATE FUNCTION aries.finish_executions(p_requests jsonb, p_accepted uuid[])
RETURNS integer
LANGUAGE plpgsql SET search_path = '' SET jit = off AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_ids uuid[];
  v_lsns bigint[];
  v_prev bigint[];
  v_statuses text[];
  v_outputs jsonb[];
BEGIN
  SELECT pg_catalog.array_agg(n.id ORDER BY n.id), pg_catalog.array_agg(n.lsn ORDER BY n.id),
         pg_catalog.array_agg(n.last_lsn ORDER BY n.id), pg_catalog.array_agg(n.status ORDER BY n.id),
         pg_catalog.array_agg(n.output ORDER BY n.id)
    INTO v_ids, v_lsns, v_prev, v_statuses, v_outputs
    FROM (SELECT f.id, f.output, x.last_lsn,
                 CASE WHEN x.parent_id IS NOT NULL AND EXISTS (
                        SELECT 1 FROM aries.executions p WHERE p.id = x.parent_id
                           AND p.status NOT IN ('COMPLETED', 'COMPENSATED', 'CANCELLED'))
                      THEN 'SUB_COMMITTED' ELSE 'COMPLETED' END AS status,
                 pg_catalog.nextval('aries.journal_lsn_seq') AS lsn
            FROM (SELECT (a.r ->> 'execution_id')::uuid AS id, a.r -> 'finish' -> 'output' AS output
                    FROM pg_catalog.jsonb_array_elements(p_requests) a (r)
                   WHERE a.r ? 'finish') f
            -- LATERAL … LIMIT 1: an index probe whatever the table size was when the plan was cached.
            CROSS JOIN LATERAL (SELECT e.last_lsn, e.parent_id FROM aries.executions e
                                 WHERE e.id = f.id AND e.id = ANY (p_accepted) LIMIT 1) x
           ORDER BY f.id) n;
  IF v_ids IS NULL THEN
    RETURN 0;
  END IF;
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum, created_at)
  SELECT u.lsn, u.id, u.prev,
         CASE u.status WHEN 'COMPLETED' THEN 'execution_completed' ELSE 'execution_sub_committed' END, u.output,
         aries.journal_checksum(u.id, u.prev,
                                CASE u.status WHEN 'COMPLETED' THEN 'execution_completed' ELSE 'execution_sub_committed' END,
                                NULL, NULL, NULL, u.output), v_now
    FROM ROWS FROM (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_lsns), pg_catalog.unnest(v_prev),
                    pg_catalog.unnest(v_statuses), pg_catalog.unnest(v_outputs)) u (id, lsn, prev, status, output)
   ORDER BY u.lsn;
  -- `e.id = ANY (v_ids)` keeps the update a primary-key probe per execution under a cached plan.
  UPDATE aries.executions e
     SET status = u.status, output = u.output, lease_owner = NULL, lease_expires_at = NULL, last_lsn = u.lsn,
         finished_at = CASE u.status WHEN 'COMPLETED' THEN v_now END, updated_at = v_now
    FROM ROWS FROM (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_lsns), pg_catalog.unnest(v_statuses),
                    pg_catalog.unnest(v_outputs)) u (id, lsn, status, output)
   WHERE e.id = ANY (v_ids) AND e.id = u.id;
  RETURN pg_catalog.cardinality(v_ids);
END $$;
