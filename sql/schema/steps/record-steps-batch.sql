-- aries.record_steps_batch (function)
--
-- Group commit: the step transitions of several executions (a worker's concurrent writes) in one
-- transaction. p_requests is [{execution_id, token, completed?, start_seq?, start_key?, finish?}]
-- (apply_step_requests; "finish" {output?} then ends the execution COMPLETED, as complete_execution does,
-- through finish_executions). Each request succeeds or is refused on its own: its row has its started attempt,
-- or the SQLSTATE and message that refused it (error_code, error_message). Rows are locked in execution
-- id order, as renew_leases locks them, so two transactions never wait on each other's rows in opposite
-- orders.
--
-- All requests go through one apply_step_requests call. Two requests for one execution (a worker never
-- sends them) are applied one after the other, in rounds. A request that fails for a reason no check
-- foresaw (malformed, it violates a table's constraint) fails the statement: the round is then applied
-- again one request at a time, each in its own subtransaction, so that request fails alone.
--
-- A finish repeated after its COMMIT's answer was lost finds its execution ended under its own token:
-- it succeeds again without writing anything, as complete_execution's repeat does.

CREATE FUNCTION aries.record_steps_batch(p_requests jsonb)
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
