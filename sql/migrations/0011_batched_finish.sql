-- 0011_batched_finish: an execution's end goes through the worker's group commit: record_steps_batch takes
-- "finish" requests and ends them set-based (finish_executions), instead of one complete_execution call and
-- one commit per execution.

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

CREATE OR REPLACE FUNCTION aries.record_steps_batch(p_requests jsonb)
RETURNS TABLE (execution_id uuid, attempt integer, error_code text, error_message text)
-- Generic plans: no plan here depends on the values, but a custom plan knows an array's length and looks
-- cheaper, so the statements reading arrays would be planned again at every call.
LANGUAGE plpgsql SET search_path = '' SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_one_each boolean;
  v_rounds jsonb[];
  v_round jsonb;
  v_req jsonb;
  v_done record;
  v_id uuid[] := '{}';
  v_attempt integer[] := '{}';
  v_code text[] := '{}';
  v_message text[] := '{}';
  v_recorded integer := 0;
  v_started boolean := false;
  v_finishing boolean := p_requests @? '$[*].finish';
BEGIN
  SELECT pg_catalog.count(*) = pg_catalog.jsonb_array_length(p_requests) INTO v_one_each
    FROM (SELECT DISTINCT (a.r ->> 'execution_id')::uuid AS id FROM pg_catalog.jsonb_array_elements(p_requests) a (r)
           ORDER BY 1) i
    LEFT JOIN LATERAL (SELECT 1 FROM aries.executions e WHERE e.id = i.id FOR UPDATE) l ON true;
  IF v_one_each THEN
    v_rounds := ARRAY[p_requests];
  ELSE
    v_rounds := ARRAY(
      SELECT pg_catalog.jsonb_agg(a.r ORDER BY a.pos)
        FROM (SELECT a.r, a.pos,
                     pg_catalog.row_number() OVER (PARTITION BY (a.r ->> 'execution_id')::uuid ORDER BY a.pos) AS round
                FROM pg_catalog.jsonb_array_elements(p_requests) WITH ORDINALITY a (r, pos)) a
       GROUP BY a.round ORDER BY a.round);
  END IF;
  FOREACH v_round IN ARRAY v_rounds LOOP
    BEGIN
      v_done := aries.apply_step_requests(v_round);
      IF v_finishing THEN
        v_recorded := v_recorded + aries.finish_executions(v_round, ARRAY(
          SELECT u.id FROM ROWS FROM (pg_catalog.unnest(v_done.execution_ids), pg_catalog.unnest(v_done.error_codes)) u (id, code)
           WHERE u.code IS NULL));
      END IF;
      v_id := v_id || v_done.execution_ids;
      v_attempt := v_attempt || v_done.attempts;
      v_code := v_code || v_done.error_codes;
      v_message := v_message || v_done.error_messages;
      v_recorded := v_recorded + v_done.recorded;
      v_started := v_started OR v_done.started;
    EXCEPTION WHEN OTHERS THEN
      FOR v_req IN SELECT a.r FROM pg_catalog.jsonb_array_elements(v_round) a (r)
                    ORDER BY (a.r ->> 'execution_id')::uuid LOOP
        BEGIN
          v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(v_req));
          IF v_req ? 'finish' AND v_done.error_codes[1] IS NULL THEN
            v_recorded := v_recorded + aries.finish_executions(pg_catalog.jsonb_build_array(v_req), v_done.execution_ids);
          END IF;
          v_id := v_id || v_done.execution_ids;
          v_attempt := v_attempt || v_done.attempts;
          v_code := v_code || v_done.error_codes;
          v_message := v_message || v_done.error_messages;
          v_recorded := v_recorded + v_done.recorded;
          v_started := v_started OR v_done.started;
        EXCEPTION WHEN OTHERS THEN
          v_id := v_id || (v_req ->> 'execution_id')::uuid;
          v_attempt := v_attempt || NULL::integer;
          v_code := v_code || SQLSTATE;
          v_message := v_message || SQLERRM;
        END;
      END LOOP;
    END;
  END LOOP;
  IF v_finishing AND 'AR002' = ANY (v_code) THEN
    SELECT pg_catalog.array_agg(CASE WHEN d.done THEN NULL ELSE u.code END ORDER BY u.n),
           pg_catalog.array_agg(CASE WHEN d.done THEN NULL ELSE u.message END ORDER BY u.n)
      INTO v_code, v_message
      FROM ROWS FROM (pg_catalog.unnest(v_id), pg_catalog.unnest(v_code), pg_catalog.unnest(v_message))
           WITH ORDINALITY u (id, code, message, n)
      LEFT JOIN LATERAL (
        SELECT true AS done FROM pg_catalog.jsonb_array_elements(p_requests) a (r)
         WHERE u.code = 'AR002' AND a.r ? 'finish' AND (a.r ->> 'execution_id')::uuid = u.id
           AND EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = u.id AND e.lease_token = (a.r ->> 'token')::bigint
                          AND e.status IN ('COMPLETED', 'SUB_COMMITTED'))
         LIMIT 1) d ON true;
  END IF;
  IF v_recorded = 0 AND v_started THEN
    PERFORM aries.commit_intents_asynchronously();
  END IF;
  RETURN QUERY
  SELECT u.id, u.attempt, u.code, u.message
    FROM ROWS FROM (pg_catalog.unnest(v_id), pg_catalog.unnest(v_attempt), pg_catalog.unnest(v_code),
                    pg_catalog.unnest(v_message)) WITH ORDINALITY u (id, attempt, code, message, n)
   ORDER BY u.id, u.n;
END $$;
