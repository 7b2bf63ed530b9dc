-- 0012_start_journal_from_insert: aries.start_executions journals its execution_started records from what its
-- INSERT returned instead of reading the rows it just wrote again by id; what it does is unchanged.

CREATE OR REPLACE FUNCTION aries.start_executions(p_workflow text, p_version text, p_inputs jsonb,
                                       p_idempotency_keys jsonb DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL,
                                       p_queue text DEFAULT NULL, p_queue_key text DEFAULT NULL,
                                       p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL,
                                       p_input_must_match boolean DEFAULT true)
RETURNS TABLE (ord integer, execution_id uuid, created boolean, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
  v_queue text;
  v_count integer;
  v_bad record;
  v_inputs jsonb[];
  v_key_values jsonb[];
  v_keys text[];
  v_ids uuid[];
  v_created uuid[];
  v_created_lsns bigint[];
  v_created_inputs jsonb[];
  v_now timestamptz := aries.now();
BEGIN
  IF p_inputs IS NULL OR pg_catalog.jsonb_typeof(p_inputs) <> 'array' THEN
    RAISE EXCEPTION 'start_executions needs its inputs as a JSON array' USING ERRCODE = 'AR011';
  END IF;
  v_count := pg_catalog.jsonb_array_length(p_inputs);
  IF p_idempotency_keys IS NOT NULL AND (pg_catalog.jsonb_typeof(p_idempotency_keys) <> 'array'
                                         OR pg_catalog.jsonb_array_length(p_idempotency_keys) <> v_count) THEN
    RAISE EXCEPTION 'start_executions needs one idempotency key (or null) per input: % input(s)', v_count
      USING ERRCODE = 'AR011';
  END IF;
  IF p_timeout_ms IS NOT NULL AND p_timeout_ms <= 0 THEN
    RAISE EXCEPTION 'an execution''s timeout must be a positive number of milliseconds, got %', p_timeout_ms
      USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.check_start_placement(p_queue, p_queue_key, p_delay_ms);
  v_queue := aries.resolve_queue(p_workflow, v_version, p_queue);
  IF v_queue IS NULL AND (p_queue_key IS NOT NULL OR coalesce(p_priority, 0) <> 0) THEN
    RAISE EXCEPTION 'workflow "%" has no queue: a queue key or priority needs one (name it in the start or in the workflow)',
      p_workflow USING ERRCODE = 'AR011';
  END IF;

  SELECT pg_catalog.array_agg(i.input ORDER BY i.ord), pg_catalog.array_agg(p_idempotency_keys -> (i.ord::integer - 1) ORDER BY i.ord)
    INTO v_inputs, v_key_values
    FROM pg_catalog.jsonb_array_elements(p_inputs) WITH ORDINALITY AS i(input, ord);
  SELECT k.ord INTO v_bad FROM pg_catalog.unnest(v_key_values) WITH ORDINALITY AS k(key, ord)
   WHERE k.key IS NOT NULL AND k.key <> 'null'::jsonb
     AND (pg_catalog.jsonb_typeof(k.key) <> 'string' OR k.key #>> '{}' = '' OR pg_catalog.length(k.key #>> '{}') > 200)
   ORDER BY k.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: an idempotency key must be a string of 1 to 200 characters', v_bad.ord
      USING ERRCODE = 'AR011';
  END IF;
  SELECT pg_catalog.array_agg(k.key #>> '{}' ORDER BY k.ord), pg_catalog.array_agg(gen_random_uuid())
    INTO v_keys, v_ids
    FROM pg_catalog.unnest(v_key_values) WITH ORDINALITY AS k(key, ord);

  -- A key given twice: the first item names the execution; a later one with another input is a conflict.
  SELECT w.ord, w.key, w.first_ord INTO v_bad
    FROM (SELECT i.ord, i.key, i.input,
                 pg_catalog.first_value(i.ord) OVER (PARTITION BY i.key ORDER BY i.ord) AS first_ord,
                 pg_catalog.first_value(i.input) OVER (PARTITION BY i.key ORDER BY i.ord) AS first_input
            FROM ROWS FROM (pg_catalog.unnest(v_inputs), pg_catalog.unnest(v_keys)) WITH ORDINALITY AS i(input, key, ord)
           WHERE i.key IS NOT NULL) w
   WHERE p_input_must_match AND w.ord > w.first_ord AND w.input IS DISTINCT FROM w.first_input
   ORDER BY w.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: idempotency key "%" is given to item % too, with a different input',
      v_bad.ord, v_bad.key, v_bad.first_ord USING ERRCODE = 'AR007';
  END IF;

  WITH items AS (
    SELECT * FROM ROWS FROM (pg_catalog.unnest(v_inputs), pg_catalog.unnest(v_keys), pg_catalog.unnest(v_ids)) WITH ORDINALITY AS s(input, key, id, ord)
  ), firsts AS (
    SELECT DISTINCT ON (coalesce(s.key, s.id::text)) s.* FROM items s ORDER BY coalesce(s.key, s.id::text), s.ord
  ), numbered AS (
    -- LSNs in item order (a volatile target is evaluated after the sort).
    SELECT f.*, pg_catalog.nextval('aries.journal_lsn_seq') AS lsn FROM firsts f ORDER BY f.ord
  ), inserted AS (
    INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn,
                                       deadline_at, queue_name, queue_key, priority, available_at)
    SELECT f.id, p_workflow, v_version, f.input, f.key, f.lsn,
           v_now + p_timeout_ms * interval '1 millisecond', v_queue,
           CASE WHEN v_queue IS NOT NULL THEN coalesce(p_queue_key, '') END, coalesce(p_priority, 0),
           v_now + coalesce(p_delay_ms, 0) * interval '1 millisecond'
      -- Rows go in in key order, so two batches sharing keys take the keys' index entries in the same order:
      -- one waits for the other instead of each waiting on a key the other holds (a deadlock).
      FROM (SELECT * FROM numbered ORDER BY key, ord) f
     -- An anti-join by key (a keyless item matches nothing): no OR, which would make it hash the whole table.
     WHERE NOT EXISTS (SELECT 1 FROM aries.retained_idempotency_keys k
                        WHERE k.idempotency_key = f.key AND k.expires_at > v_now)
    ON CONFLICT DO NOTHING
    RETURNING e.id, e.last_lsn, e.input
  )
  SELECT coalesce(pg_catalog.array_agg(i.id ORDER BY i.last_lsn), '{}'), coalesce(pg_catalog.array_agg(i.last_lsn ORDER BY i.last_lsn), '{}'),
         coalesce(pg_catalog.array_agg(i.input ORDER BY i.last_lsn), '{}')
    INTO v_created, v_created_lsns, v_created_inputs FROM inserted i;

  -- A purge that moved a key to the retained keys committed while the insert waited on its row: that key
  -- is taken after all, so the row just inserted (nothing refers to it yet) is taken back.
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(v_keys) k WHERE k IS NOT NULL) THEN
    WITH taken_back AS (
      DELETE FROM aries.executions e
       WHERE e.id = ANY (v_created) AND e.idempotency_key IS NOT NULL
         AND EXISTS (SELECT 1 FROM aries.retained_idempotency_keys k
                      WHERE k.idempotency_key = e.idempotency_key AND k.expires_at > v_now)
      RETURNING e.id
    )
    SELECT coalesce(pg_catalog.array_agg(c.id ORDER BY c.lsn), '{}'), coalesce(pg_catalog.array_agg(c.lsn ORDER BY c.lsn), '{}'),
           coalesce(pg_catalog.array_agg(c.input ORDER BY c.lsn), '{}')
      INTO v_created, v_created_lsns, v_created_inputs
      FROM ROWS FROM (pg_catalog.unnest(v_created), pg_catalog.unnest(v_created_lsns), pg_catalog.unnest(v_created_inputs)) c (id, lsn, input)
     WHERE c.id NOT IN (SELECT t.id FROM taken_back t);
  END IF;

  -- From what the insert returned: the rows just written are not read again.
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
  SELECT c.lsn, c.id, NULL, 'execution_started', p.payload,
         aries.journal_checksum(c.id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
    FROM ROWS FROM (pg_catalog.unnest(v_created), pg_catalog.unnest(v_created_lsns), pg_catalog.unnest(v_created_inputs)) c (id, lsn, input)
   CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', v_version,
                                                            'input', c.input) AS payload) p
   ORDER BY c.lsn;

  -- Every other keyed item: the execution its key already names (in a row, or kept after retention purged it).
  SELECT s.ord, s.key, x.id AS existing_id INTO v_bad
    FROM ROWS FROM (pg_catalog.unnest(v_inputs), pg_catalog.unnest(v_keys), pg_catalog.unnest(v_ids)) WITH ORDINALITY AS s(input, key, id, ord)
    JOIN aries.executions x ON x.idempotency_key = s.key
   WHERE s.key IS NOT NULL AND x.id <> s.id
     AND (x.workflow_name <> p_workflow OR (p_input_must_match AND x.input IS DISTINCT FROM s.input))
   ORDER BY s.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: idempotency key "%" already started execution % with a different input or workflow',
      v_bad.ord, v_bad.key, v_bad.existing_id USING ERRCODE = 'AR007',
      DETAIL = pg_catalog.format('execution_id=%s', v_bad.existing_id);
  END IF;
  SELECT s.ord, s.key, r.workflow_name INTO v_bad
    FROM pg_catalog.unnest(v_keys) WITH ORDINALITY AS s(key, ord)
    JOIN aries.retained_idempotency_keys r ON r.idempotency_key = s.key AND r.expires_at > v_now
   WHERE s.key IS NOT NULL AND r.workflow_name <> p_workflow
   ORDER BY s.ord LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'item % of the batch: idempotency key "%" already started an execution of workflow "%", not "%"',
      v_bad.ord, v_bad.key, v_bad.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;

  IF pg_catalog.cardinality(v_created) > 0 THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
  END IF;
  RETURN QUERY
  -- An item's own id is in the table only if its row was inserted (and not taken back): ids are new.
  SELECT s.ord::integer, coalesce(mine.id, keyed.id, r.execution_id), mine.id IS NOT NULL,
         coalesce(mine.status, keyed.status, r.status)
    FROM ROWS FROM (pg_catalog.unnest(v_keys), pg_catalog.unnest(v_ids)) WITH ORDINALITY AS s(key, id, ord)
    LEFT JOIN aries.executions mine ON mine.id = s.id
    LEFT JOIN aries.executions keyed ON mine.id IS NULL AND s.key IS NOT NULL AND keyed.idempotency_key = s.key
    LEFT JOIN aries.retained_idempotency_keys r ON mine.id IS NULL AND keyed.id IS NULL AND r.idempotency_key = s.key
                                               AND r.expires_at > v_now
   ORDER BY s.ord;
END $$;

REVOKE EXECUTE ON FUNCTION aries.start_executions(text, text, jsonb, jsonb, bigint, text, text, integer, bigint, boolean) FROM PUBLIC;
