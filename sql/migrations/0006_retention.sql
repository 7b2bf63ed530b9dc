-- 0006_retention: finished executions deleted in bounded batches; idempotency keys kept longer.
--
-- Model
--   policies      aries.retention_policies: per workflow (or the default row '*') how long a finished
--                 execution's body is kept after finished_at and how long its idempotency key is still
--                 honoured. A definition registers its policy (register_retention_policy); an operator's
--                 (set_retention_policy, source 'operator') is never overwritten by a deploy. No policy:
--                 kept for ever, as before.
--   purge         aries.purge_finished(p_batch): one bounded, short transaction. Finished top-level
--                 executions older than their policy (database clock; never FAILED, never a child on its
--                 own: a tree goes whole, and only when all of it finished), picked oldest first from
--                 executions_retention_idx with FOR UPDATE SKIP LOCKED, deleted with everything that
--                 cascades from them. The built-in schedule aries.retention runs one pass every 10 s.
--   kept keys     aries.retained_idempotency_keys: a purged execution's key while its workflow keeps keys
--                 longer than bodies. create_execution treats such a key as taken and start_execution
--                 answers with the purged execution's id and final status (retained_execution).
--   journal       still append-only: updates refused per row as before; deletes judged once per
--                 statement over a transition table (a record goes only with its execution), instead of a
--                 row trigger probing executions for every deleted record.

-- ---- the journal: deletes judged per statement -------------------------------------------------------
DROP TRIGGER journal_append_only ON aries.journal;

CREATE OR REPLACE FUNCTION aries.refuse_journal_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (% of lsn %)', pg_catalog.lower(TG_OP), OLD.lsn USING ERRCODE = 'AR008';
END $$;

CREATE TRIGGER journal_append_only BEFORE UPDATE ON aries.journal
  FOR EACH ROW EXECUTE FUNCTION aries.refuse_journal_change();

CREATE FUNCTION aries.refuse_journal_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_lsn bigint;
BEGIN
  SELECT g.lsn INTO v_lsn
    FROM (SELECT DISTINCT ON (d.execution_id) d.execution_id, d.lsn FROM deleted_records d) g
   WHERE EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = g.execution_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the journal is append-only (delete of lsn %)', v_lsn USING ERRCODE = 'AR008';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER journal_deleted_with_execution AFTER DELETE ON aries.journal
  REFERENCING OLD TABLE AS deleted_records
  FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_delete();


-- ---- executions: retention's candidates -------------------------------------------------------------

CREATE INDEX executions_retention_idx ON aries.executions (workflow_name, finished_at)
  WHERE finished_at IS NOT NULL AND parent_id IS NULL;


-- ---- policies and kept keys ---------------------------------------------------------------------------

CREATE TABLE aries.retention_policies (
  workflow_name       text PRIMARY KEY,
  finished_ms         bigint CHECK (finished_ms > 0),
  idempotency_keys_ms bigint CHECK (idempotency_keys_ms > 0),
  source              text NOT NULL CHECK (source IN ('definition', 'operator')),
  updated_at          timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT retention_policies_default_check CHECK (workflow_name <> '*' OR source = 'operator')
);


CREATE TABLE aries.retained_idempotency_keys (
  idempotency_key text PRIMARY KEY,
  workflow_name   text NOT NULL,
  execution_id    uuid NOT NULL UNIQUE,
  status          text NOT NULL CHECK (status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')),
  finished_at     timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL,
  CONSTRAINT retained_idempotency_keys_check CHECK (expires_at > finished_at)
);
-- Expired keys, oldest first (purge_finished deletes them in bounded batches).
CREATE INDEX retained_idempotency_keys_expires_idx ON aries.retained_idempotency_keys (expires_at);


CREATE FUNCTION aries.retained_execution(p_idempotency_key text)
RETURNS TABLE (execution_id uuid, workflow_name text, status text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT k.execution_id, k.workflow_name, k.status
    FROM aries.retained_idempotency_keys k
   WHERE k.idempotency_key = p_idempotency_key AND k.expires_at > aries.now()
$$;


CREATE FUNCTION aries.check_retention_durations(p_finished_ms bigint, p_idempotency_keys_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF p_finished_ms <= 0 THEN
    RAISE EXCEPTION 'retention finishedMs must be a positive number of milliseconds, got %', p_finished_ms
      USING ERRCODE = 'AR011';
  END IF;
  IF p_idempotency_keys_ms <= 0 THEN
    RAISE EXCEPTION 'retention idempotencyKeysMs must be a positive number of milliseconds, got %',
      p_idempotency_keys_ms USING ERRCODE = 'AR011';
  END IF;
END $$;


CREATE FUNCTION aries.set_retention_policy(p_workflow text, p_finished_ms bigint, p_idempotency_keys_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.check_retention_durations(p_finished_ms, p_idempotency_keys_ms);
  IF p_workflow = '' OR p_workflow = '*' THEN
    RAISE EXCEPTION 'a retention policy names a workflow, or NULL for the default, not "%"', p_workflow
      USING ERRCODE = 'AR011';
  END IF;
  INSERT INTO aries.retention_policies AS p (workflow_name, finished_ms, idempotency_keys_ms, source)
  VALUES (coalesce(p_workflow, '*'), p_finished_ms, p_idempotency_keys_ms, 'operator')
  ON CONFLICT (workflow_name) DO UPDATE
    SET finished_ms = excluded.finished_ms, idempotency_keys_ms = excluded.idempotency_keys_ms,
        source = 'operator', updated_at = aries.now();
END $$;


CREATE FUNCTION aries.clear_retention_policy(p_workflow text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  DELETE FROM aries.retention_policies p WHERE p.workflow_name = coalesce(p_workflow, '*');
  RETURN FOUND;
END $$;


CREATE FUNCTION aries.register_retention_policy(p_workflow text, p_finished_ms bigint, p_idempotency_keys_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.check_retention_durations(p_finished_ms, p_idempotency_keys_ms);
  IF p_finished_ms IS NULL AND p_idempotency_keys_ms IS NULL THEN
    DELETE FROM aries.retention_policies p WHERE p.workflow_name = p_workflow AND p.source = 'definition';
    RETURN;
  END IF;
  INSERT INTO aries.retention_policies AS p (workflow_name, finished_ms, idempotency_keys_ms, source)
  VALUES (p_workflow, p_finished_ms, p_idempotency_keys_ms, 'definition')
  ON CONFLICT (workflow_name) DO UPDATE
    SET finished_ms = excluded.finished_ms, idempotency_keys_ms = excluded.idempotency_keys_ms,
        updated_at = aries.now()
    WHERE p.source = 'definition'
      AND (p.finished_ms, p.idempotency_keys_ms) IS DISTINCT FROM (excluded.finished_ms, excluded.idempotency_keys_ms);
END $$;


CREATE FUNCTION aries.purge_finished(p_batch integer DEFAULT 1000)
RETURNS TABLE (executions integer, keys_kept integer, keys_expired integer)
LANGUAGE plpgsql SET search_path = '' AS $$
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


-- ---- starts: a retained key is taken ------------------------------------------------------------------

CREATE OR REPLACE FUNCTION aries.create_execution(p_id uuid, p_workflow text, p_version text, p_input jsonb,
                                       p_idempotency_key text, p_timeout_ms bigint,
                                       p_parent_id uuid DEFAULT NULL, p_parent_step_key text DEFAULT NULL,
                                       p_parent_close text DEFAULT NULL, p_queue text DEFAULT NULL,
                                       p_queue_key text DEFAULT NULL, p_priority integer DEFAULT 0,
                                       p_available_at timestamptz DEFAULT NULL, p_debounce_key text DEFAULT NULL,
                                       p_debounce_deadline timestamptz DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql SET search_path = '' AS $$
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


CREATE OR REPLACE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
                                      p_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL,
                                      p_queue text DEFAULT NULL, p_queue_key text DEFAULT NULL,
                                      p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL,
                                      p_debounce_key text DEFAULT NULL, p_debounce_delay_ms bigint DEFAULT NULL,
                                      p_debounce_max_delay_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, status text, debounced boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
  v_queue text;
  v_id uuid := gen_random_uuid();
  v_existing record;
BEGIN
  PERFORM aries.check_start_placement(p_queue, p_queue_key, p_delay_ms);
  v_queue := aries.resolve_queue(p_workflow, v_version, p_queue);
  IF v_queue IS NULL AND (p_queue_key IS NOT NULL OR coalesce(p_priority, 0) <> 0) THEN
    RAISE EXCEPTION 'workflow "%" has no queue: a queue key or priority needs one (name it in the start or in the workflow)',
      p_workflow USING ERRCODE = 'AR011';
  END IF;
  IF p_debounce_key IS NOT NULL OR p_debounce_delay_ms IS NOT NULL OR p_debounce_max_delay_ms IS NOT NULL THEN
    IF p_idempotency_key IS NOT NULL THEN
      RAISE EXCEPTION 'a start cannot be both debounced and idempotent (debounce with idempotencyKey "%")',
        p_idempotency_key USING ERRCODE = 'AR011';
    END IF;
    RETURN QUERY SELECT * FROM aries.debounce_start(p_workflow, v_version, p_input, p_timeout_ms, v_queue,
                                                    p_queue_key, p_priority, p_debounce_key, p_debounce_delay_ms,
                                                    p_debounce_max_delay_ms);
    RETURN;
  END IF;
  IF aries.create_execution(v_id, p_workflow, v_version, p_input, p_idempotency_key, p_timeout_ms,
                            p_queue => v_queue, p_queue_key => p_queue_key, p_priority => p_priority,
                            p_available_at => aries.now() + coalesce(p_delay_ms, 0) * interval '1 millisecond') THEN
    RETURN QUERY SELECT v_id, true, 'PENDING'::text, false;
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
  RETURN QUERY SELECT v_existing.id, false, v_existing.status, false;
END $$;


-- ---- the built-in retention schedule: one bounded pass every 10 seconds -----------------------------

ALTER TABLE aries.schedules DROP CONSTRAINT schedules_sql_action_check;
ALTER TABLE aries.schedules ADD CONSTRAINT schedules_sql_action_check
  CHECK (sql_action IN ('auto_recover_failures', 'purge_finished'));

CREATE OR REPLACE FUNCTION aries.run_schedule_action(p_action text) RETURNS bigint
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  CASE p_action
    WHEN 'auto_recover_failures' THEN RETURN aries.auto_recover_failures();
    WHEN 'purge_finished' THEN RETURN (SELECT p.executions FROM aries.purge_finished() p);
    ELSE RAISE EXCEPTION 'unknown schedule action "%"', p_action USING ERRCODE = 'AR011';
  END CASE;
END $$;

INSERT INTO aries.schedules (name, cron, timezone, sql_action, misfire, max_lateness_ms, next_fire_at)
VALUES ('aries.retention', '*/10 * * * * *', 'UTC', 'purge_finished', 'skip', 60000,
        pg_catalog.date_bin('10 seconds', aries.now(), timestamptz '2000-01-01 00:00:00+00') + interval '10 seconds');
