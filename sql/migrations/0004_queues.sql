-- 0004_queues: queues with exact limits, priorities, fairness, delay and debounce.
--
-- Model
--   queues      aries.queues holds each queue's optional limits (concurrency, worker_concurrency,
--               key_concurrency, rate_limit per rate_period_ms), paused, and who set them last (source:
--               'definition' from register_queue, 'operator' from set_queue; a deploy does not overwrite
--               an operator's change). list_queues gives limits and live stats.
--   placement   executions.queue_name / queue_key ('' when a start gave none) / priority; a workflow's
--               definition may name its queue (workflows.queue_name, register_workflow's p_queue); a start
--               may name another. An unknown queue is AR013. p_delay_ms makes a start due later.
--   occupancy   a queued execution holds a slot exactly while it has a lease owner (an expired lease keeps
--               it until taken over). claim_executions claims unqueued work as before, then admits queued
--               work under each queue's row lock (admit_queued, admit_from_queue): exact limits, priority,
--               round robin across keys; each claimed row names its queue (queue_name). Releasing a slot
--               notifies waiting workers; next_queue_admission tells a worker when a full rate window
--               frees, so it wakes then.
--   debounce    start_execution's p_debounce_key: one PENDING execution per (workflow, key) takes the
--               later starts' inputs (journaled as execution_input_replaced) until it is claimed.

-- ---- tables -------------------------------------------------------------------------------------------
CREATE TABLE aries.queues (
  name               text PRIMARY KEY,
  concurrency        integer,
  worker_concurrency integer,
  key_concurrency    integer,
  rate_limit         integer,
  rate_period_ms     bigint,
  paused             boolean NOT NULL DEFAULT false,
  source             text NOT NULL DEFAULT 'definition',
  rr_key             text,
  created_at         timestamptz NOT NULL DEFAULT aries.now(),
  updated_at         timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT queues_name_check CHECK (name <> '' AND pg_catalog.octet_length(name) <= 200),
  CONSTRAINT queues_limits_check CHECK (concurrency > 0 AND worker_concurrency > 0 AND key_concurrency > 0
                                        AND rate_limit > 0 AND rate_period_ms > 0),
  CONSTRAINT queues_rate_check CHECK ((rate_limit IS NULL) = (rate_period_ms IS NULL)),
  CONSTRAINT queues_source_check CHECK (source IN ('definition', 'operator'))
);

ALTER TABLE aries.workflows ADD COLUMN queue_name text;

ALTER TABLE aries.executions
  ADD COLUMN queue_name text,
  ADD COLUMN queue_key text,
  ADD COLUMN priority integer NOT NULL DEFAULT 0,
  ADD COLUMN debounce_key text,
  ADD COLUMN debounce_deadline timestamptz,
  ADD CONSTRAINT executions_queue_name_fkey FOREIGN KEY (queue_name) REFERENCES aries.queues (name),
  ADD CONSTRAINT executions_queue_check CHECK ((queue_name IS NULL) = (queue_key IS NULL));
-- Queues (aries.admit_from_queue): slots held per queue, key and worker; a queue's PENDING work by
-- priority and key (the round robin's skip scan); due work per queue; first starts in the rate window.
CREATE INDEX executions_queue_slots_idx ON aries.executions (queue_name, queue_key, lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX executions_queue_pending_idx ON aries.executions (queue_name, priority DESC, queue_key, available_at, id)
  WHERE status = 'PENDING';
CREATE INDEX executions_queue_due_idx ON aries.executions (queue_name, available_at) WHERE status = 'PENDING';
CREATE INDEX executions_queue_woken_idx ON aries.executions (queue_name, available_at)
  WHERE status IN ('SLEEPING', 'WAITING', 'COMPENSATING');
CREATE INDEX executions_queue_started_idx ON aries.executions (queue_name, started_at) WHERE queue_name IS NOT NULL;
-- One PENDING debounced execution per (workflow, debounce key): concurrent debounced starts make one.
CREATE UNIQUE INDEX executions_debounce_idx ON aries.executions (workflow_name, debounce_key)
  WHERE status = 'PENDING' AND debounce_key IS NOT NULL;

-- ---- journal kinds -----------------------------------------------------------------------------------
ALTER TABLE aries.journal
  DROP CONSTRAINT journal_kind_check,
  ADD CONSTRAINT journal_kind_check CHECK (kind IN (
    'execution_started', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
    'execution_completed', 'execution_failed', 'execution_released', 'execution_rolled_back',
    'execution_recovered', 'execution_compensating', 'compensation_started', 'compensation_completed',
    'compensation_failed', 'compensation_retrying', 'execution_compensated', 'execution_cancelled',
    'step_waiting', 'step_cancelled', 'signal_received', 'execution_suspended', 'execution_sub_committed',
    'execution_input_replaced'));

-- ---- functions: new, and changed (as in sql/schema) ------------------------------------------------

DROP FUNCTION aries.register_workflow(text, text);
DROP FUNCTION aries.create_execution(uuid, text, text, jsonb, text, bigint, uuid, text, text);
DROP FUNCTION aries.start_execution(text, text, jsonb, text, bigint);
DROP FUNCTION aries.signal_with_start(text, text, jsonb, text, text, jsonb, text, bigint);

-- workflows/register-workflow.sql
CREATE FUNCTION aries.register_workflow(p_name text, p_version text, p_queue text DEFAULT NULL) RETURNS void
LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.workflows (name, version, queue_name) VALUES (p_name, p_version, p_queue)
  ON CONFLICT (name, version) DO UPDATE SET last_seen_at = pg_catalog.now(), queue_name = excluded.queue_name
$$;

-- queues/check-queue-limits.sql
CREATE FUNCTION aries.check_queue_limits(p_name text, p_concurrency integer, p_worker_concurrency integer,
                                         p_key_concurrency integer, p_rate_limit integer, p_rate_period_ms bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_limit record;
BEGIN
  IF p_name IS NULL OR p_name = '' OR pg_catalog.octet_length(p_name) > 200 THEN
    RAISE EXCEPTION 'a queue name must be a non-empty string of at most 200 bytes, got %',
      coalesce(pg_catalog.quote_literal(pg_catalog.left(p_name, 40)), 'NULL') USING ERRCODE = 'AR011';
  END IF;
  FOR v_limit IN SELECT * FROM (VALUES ('concurrency', p_concurrency::bigint),
                                       ('workerConcurrency', p_worker_concurrency::bigint),
                                       ('keyConcurrency', p_key_concurrency::bigint),
                                       ('rateLimit.limit', p_rate_limit::bigint),
                                       ('rateLimit.periodMs', p_rate_period_ms)) AS l (what, value)
  LOOP
    IF v_limit.value IS NOT NULL AND v_limit.value <= 0 THEN
      RAISE EXCEPTION 'queue "%": % must be a positive integer, got %', p_name, v_limit.what, v_limit.value
        USING ERRCODE = 'AR011';
    END IF;
  END LOOP;
END $$;

-- queues/register-queue.sql
CREATE FUNCTION aries.register_queue(p_name text, p_concurrency integer DEFAULT NULL,
                                     p_worker_concurrency integer DEFAULT NULL, p_key_concurrency integer DEFAULT NULL,
                                     p_rate_limit integer DEFAULT NULL, p_rate_period_ms bigint DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.check_queue_limits(p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit,
                                   p_rate_period_ms);
  IF (p_rate_limit IS NULL) <> (p_rate_period_ms IS NULL) THEN
    RAISE EXCEPTION 'queue "%": a rate limit needs both limit and periodMs', p_name USING ERRCODE = 'AR011';
  END IF;
  INSERT INTO aries.queues AS q (name, concurrency, worker_concurrency, key_concurrency, rate_limit, rate_period_ms)
  VALUES (p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit, p_rate_period_ms)
  ON CONFLICT (name) DO UPDATE
     SET concurrency = excluded.concurrency, worker_concurrency = excluded.worker_concurrency,
         key_concurrency = excluded.key_concurrency, rate_limit = excluded.rate_limit,
         rate_period_ms = excluded.rate_period_ms, updated_at = aries.now()
   WHERE q.source = 'definition'
     AND (q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit, q.rate_period_ms)
         IS DISTINCT FROM (excluded.concurrency, excluded.worker_concurrency, excluded.key_concurrency,
                           excluded.rate_limit, excluded.rate_period_ms);
END $$;

-- queues/set-queue.sql
CREATE FUNCTION aries.set_queue(p_name text, p_concurrency integer DEFAULT NULL,
                                p_worker_concurrency integer DEFAULT NULL, p_key_concurrency integer DEFAULT NULL,
                                p_rate_limit integer DEFAULT NULL, p_rate_period_ms bigint DEFAULT NULL,
                                p_paused boolean DEFAULT NULL, p_clear text[] DEFAULT '{}')
RETURNS SETOF aries.queues LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_queue aries.queues;
  v_clear text[] := coalesce(p_clear, '{}');
  v_bad text;
BEGIN
  PERFORM aries.check_queue_limits(p_name, p_concurrency, p_worker_concurrency, p_key_concurrency, p_rate_limit,
                                   p_rate_period_ms);
  SELECT c INTO v_bad FROM pg_catalog.unnest(v_clear) c
   WHERE c IS NULL OR c NOT IN ('concurrency', 'worker_concurrency', 'key_concurrency', 'rate_limit') LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'queue "%": cannot clear %; the limits are concurrency, worker_concurrency, key_concurrency and rate_limit',
      p_name, coalesce(pg_catalog.quote_literal(v_bad), 'NULL') USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_queue FROM aries.queues q WHERE q.name = p_name FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown queue "%"', p_name USING ERRCODE = 'AR013',
      HINT = 'a queue exists once defineQueue''s workflow was started or served by a worker, or aries.register_queue created it';
  END IF;
  v_queue.concurrency := CASE WHEN 'concurrency' = ANY (v_clear) THEN NULL ELSE coalesce(p_concurrency, v_queue.concurrency) END;
  v_queue.worker_concurrency := CASE WHEN 'worker_concurrency' = ANY (v_clear) THEN NULL
                                     ELSE coalesce(p_worker_concurrency, v_queue.worker_concurrency) END;
  v_queue.key_concurrency := CASE WHEN 'key_concurrency' = ANY (v_clear) THEN NULL
                                  ELSE coalesce(p_key_concurrency, v_queue.key_concurrency) END;
  IF 'rate_limit' = ANY (v_clear) THEN
    v_queue.rate_limit := NULL;
    v_queue.rate_period_ms := NULL;
  ELSE
    v_queue.rate_limit := coalesce(p_rate_limit, v_queue.rate_limit);
    v_queue.rate_period_ms := coalesce(p_rate_period_ms, v_queue.rate_period_ms);
  END IF;
  IF (v_queue.rate_limit IS NULL) <> (v_queue.rate_period_ms IS NULL) THEN
    RAISE EXCEPTION 'queue "%": a rate limit needs both limit and periodMs', p_name USING ERRCODE = 'AR011';
  END IF;
  RETURN QUERY
  UPDATE aries.queues q
     SET concurrency = v_queue.concurrency, worker_concurrency = v_queue.worker_concurrency,
         key_concurrency = v_queue.key_concurrency, rate_limit = v_queue.rate_limit,
         rate_period_ms = v_queue.rate_period_ms, paused = coalesce(p_paused, q.paused), source = 'operator',
         updated_at = aries.now()
   WHERE q.name = p_name
  RETURNING q.*;
END $$;

-- queues/list-queues.sql
CREATE FUNCTION aries.list_queues(p_name text DEFAULT NULL)
RETURNS TABLE (name text, concurrency integer, worker_concurrency integer, key_concurrency integer,
               rate_limit integer, rate_period_ms bigint, paused boolean, source text, created_at timestamptz,
               updated_at timestamptz, pending bigint, delayed bigint, running bigint, waiting bigint,
               oldest_due_ms double precision, started_in_window bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT q.name, q.concurrency, q.worker_concurrency, q.key_concurrency, q.rate_limit, q.rate_period_ms, q.paused,
         q.source, q.created_at, q.updated_at,
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()),
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at > aries.now()),
         (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.queue_name = q.name AND e.lease_owner IS NOT NULL),
         (SELECT pg_catalog.count(*) FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status IN ('SLEEPING', 'WAITING')),
         (SELECT pg_catalog.date_part('epoch', aries.now() - pg_catalog.min(e.available_at)) * 1000 FROM aries.executions e
           WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()),
         CASE WHEN q.rate_limit IS NOT NULL THEN
           (SELECT pg_catalog.count(*) FROM aries.executions e
             WHERE e.queue_name = q.name AND e.started_at > aries.now() - q.rate_period_ms * interval '1 millisecond'
               AND e.started_at <= aries.now()) END
    FROM aries.queues q
   WHERE p_name IS NULL OR q.name = p_name
   ORDER BY q.name
$$;

-- queues/resolve-queue.sql
CREATE FUNCTION aries.resolve_queue(p_workflow text, p_version text, p_queue text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = '' AS $$
DECLARE
  v_queue text := p_queue;
BEGIN
  IF v_queue IS NULL THEN
    SELECT w.queue_name INTO v_queue FROM aries.workflows w WHERE w.name = p_workflow AND w.version = p_version;
  END IF;
  IF v_queue IS NOT NULL AND NOT EXISTS (SELECT 1 FROM aries.queues q WHERE q.name = v_queue) THEN
    RAISE EXCEPTION 'unknown queue "%" (starting workflow "%")', v_queue, p_workflow USING ERRCODE = 'AR013',
      HINT = 'define it with defineQueue and start through the SDK, or create it with aries.register_queue';
  END IF;
  RETURN v_queue;
END $$;

-- queues/check-start-placement.sql
CREATE FUNCTION aries.check_start_placement(p_queue text, p_queue_key text, p_delay_ms bigint) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
BEGIN
  IF p_queue = '' THEN
    RAISE EXCEPTION 'a start''s queue must be a non-empty queue name' USING ERRCODE = 'AR011';
  END IF;
  IF p_queue_key = '' OR pg_catalog.octet_length(p_queue_key) > 512 THEN
    RAISE EXCEPTION 'a queue key must be a non-empty string of at most 512 bytes' USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms < 0 THEN
    RAISE EXCEPTION 'a start''s delay must be at least 0 ms, got %', p_delay_ms USING ERRCODE = 'AR011';
  END IF;
END $$;

-- executions/create-execution.sql
CREATE FUNCTION aries.create_execution(p_id uuid, p_workflow text, p_version text, p_input jsonb,
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
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
  SELECT v_lsn, p_id, NULL, 'execution_started', p.payload,
         aries.journal_checksum(p_id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
    FROM (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', p_version,
                                               'input', p_input) AS payload) p;
  PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
  RETURN true;
END $$;

-- queues/debounce-start.sql
CREATE FUNCTION aries.debounce_start(p_workflow text, p_version text, p_input jsonb, p_timeout_ms bigint,
                                     p_queue text, p_queue_key text, p_priority integer, p_key text,
                                     p_delay_ms bigint, p_max_delay_ms bigint)
RETURNS TABLE (execution_id uuid, created boolean, status text, debounced boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_pending record;
  v_lsn bigint;
  v_id uuid;
BEGIN
  IF p_key IS NULL OR p_key = '' OR pg_catalog.octet_length(p_key) > 512 THEN
    RAISE EXCEPTION 'a debounce key must be a non-empty string of at most 512 bytes' USING ERRCODE = 'AR011';
  END IF;
  IF p_delay_ms IS NULL OR p_delay_ms < 0 THEN
    RAISE EXCEPTION 'debounce "%": delayMs must be at least 0, got %', p_key, coalesce(p_delay_ms::text, 'NULL')
      USING ERRCODE = 'AR011';
  END IF;
  IF p_max_delay_ms < 0 THEN
    RAISE EXCEPTION 'debounce "%": maxDelayMs must be at least 0, got %', p_key, p_max_delay_ms USING ERRCODE = 'AR011';
  END IF;
  FOR i IN 1..100 LOOP
    SELECT e.id, e.last_lsn, e.debounce_deadline INTO v_pending FROM aries.executions e
     WHERE e.workflow_name = p_workflow AND e.debounce_key = p_key AND e.status = 'PENDING'
       FOR UPDATE;
    IF FOUND THEN
      v_lsn := aries.append_journal(v_pending.id, v_pending.last_lsn, 'execution_input_replaced', NULL, NULL, NULL,
                                    pg_catalog.jsonb_build_object('input', p_input));
      UPDATE aries.executions e
         SET input = p_input, last_lsn = v_lsn, updated_at = v_now,
             available_at = least(v_now + p_delay_ms * interval '1 millisecond', e.debounce_deadline)
       WHERE e.id = v_pending.id;
      RETURN QUERY SELECT v_pending.id, false, 'PENDING'::text, true;
      RETURN;
    END IF;
    v_id := gen_random_uuid();
    IF aries.create_execution(v_id, p_workflow, p_version, p_input, NULL, p_timeout_ms,
                              p_queue => p_queue, p_queue_key => p_queue_key, p_priority => p_priority,
                              p_available_at => least(v_now + p_delay_ms * interval '1 millisecond',
                                                      v_now + p_max_delay_ms * interval '1 millisecond'),
                              p_debounce_key => p_key,
                              p_debounce_deadline => v_now + p_max_delay_ms * interval '1 millisecond') THEN
      RETURN QUERY SELECT v_id, true, 'PENDING'::text, false;
      RETURN;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'debounce "%": could not start or join a pending execution (too much contention)', p_key
    USING ERRCODE = '40001';
END $$;

-- executions/start-execution.sql
CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
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
  IF v_existing.workflow_name <> p_workflow THEN
    RAISE EXCEPTION 'idempotency key "%" already started an execution of workflow "%", not "%"',
      p_idempotency_key, v_existing.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;
  RETURN QUERY SELECT v_existing.id, false, v_existing.status, false;
END $$;

-- waits/start-child.sql
CREATE OR REPLACE FUNCTION aries.start_child(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                  p_workflow text, p_version text, p_input jsonb,
                                  p_timeout_ms double precision DEFAULT NULL, p_parent_close text DEFAULT 'cancel',
                                  p_child_timeout_ms bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_child uuid := aries.child_execution_id(p_execution_id, p_step_key);
  v_version text := aries.resolve_workflow_version(p_workflow, p_version);
BEGIN
  IF p_parent_close IS NULL OR p_parent_close NOT IN ('cancel', 'abandon') THEN
    RAISE EXCEPTION 'child "%": parentClose must be ''cancel'' or ''abandon'', got %', p_step_key,
      coalesce(p_parent_close, 'NULL') USING ERRCODE = 'AR011';
  END IF;
  PERFORM aries.begin_wait(p_execution_id, p_token, p_seq, p_step_key, 'child', p_timeout_ms, NULL, NULL, v_child);
  PERFORM aries.create_execution(v_child, p_workflow, v_version, p_input, NULL, p_child_timeout_ms, p_execution_id,
                                 p_step_key, p_parent_close, aries.resolve_queue(p_workflow, v_version, NULL));
  UPDATE aries.executions e SET has_children = true WHERE e.id = p_execution_id AND NOT e.has_children;
  RETURN v_child;
END $$;

-- waits/signal-with-start.sql
CREATE FUNCTION aries.signal_with_start(p_workflow text, p_version text, p_input jsonb, p_idempotency_key text,
                                        p_signal_name text, p_payload jsonb DEFAULT NULL,
                                        p_signal_idempotency_key text DEFAULT NULL, p_timeout_ms bigint DEFAULT NULL,
                                        p_queue text DEFAULT NULL, p_queue_key text DEFAULT NULL,
                                        p_priority integer DEFAULT 0, p_delay_ms bigint DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, signal_id bigint, duplicate boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_started record;
  v_signal record;
BEGIN
  IF p_idempotency_key IS NULL OR p_idempotency_key = '' THEN
    RAISE EXCEPTION 'signal-with-start needs the idempotency key that names the execution' USING ERRCODE = 'AR011';
  END IF;
  SELECT * INTO v_started FROM aries.start_execution(p_workflow, p_version, p_input, p_idempotency_key, p_timeout_ms,
                                                           p_queue, p_queue_key, p_priority, p_delay_ms);
  SELECT * INTO v_signal FROM aries.send_signal(v_started.execution_id, p_signal_name, p_payload, p_signal_idempotency_key);
  RETURN QUERY SELECT v_started.execution_id, v_started.created, v_signal.signal_id, v_signal.duplicate;
END $$;

-- leases/grant-claims.sql
CREATE FUNCTION aries.grant_claims(p_worker text, p_ids uuid[], p_lease_ms integer, p_now timestamptz)
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE sql SET search_path = '' AS $$
  WITH chosen AS (
    SELECT e.id, e.lease_owner AS old_owner, CASE WHEN e.lease_owner IS NOT NULL THEN e.lease_expires_at END AS expired_at
      FROM aries.executions e WHERE e.id = ANY (p_ids)
  ), node_faults AS (
    INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                                details, recovered, recovered_at, recovered_by)
    SELECT c.id, 'TRANSIENT',
           pg_catalog.format('worker %s stopped renewing its lease (it expired at %s); the execution was resumed by worker %s',
                             c.old_owner, c.expired_at, p_worker),
           'retry', 'node', pg_catalog.jsonb_build_object('worker', c.old_owner, 'lease_expired_at', c.expired_at),
           true, p_now, 'worker'
      FROM chosen c WHERE c.old_owner IS NOT NULL
  ), retried AS (
    UPDATE aries.failures f SET recovered = true, recovered_at = p_now, recovered_by = 'worker'
      FROM chosen c
     WHERE f.execution_id = c.id AND NOT f.recovered AND f.failure_type = 'TRANSIENT'
  )
  UPDATE aries.executions e
     SET status = CASE WHEN e.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'RUNNING' END,
         lease_owner = p_worker, lease_token = e.lease_token + 1,
         lease_expires_at = p_now + p_lease_ms * interval '1 millisecond',
         claim_count = e.claim_count + 1, started_at = coalesce(e.started_at, p_now), updated_at = p_now,
         debounce_key = NULL
    FROM chosen c
   WHERE e.id = c.id
  RETURNING e.id, e.workflow_name, e.workflow_version, e.input, e.lease_token, e.claim_count,
            c.expired_at IS NOT NULL, e.status = 'COMPENSATING',
            pg_catalog.date_part('epoch', e.deadline_at - p_now) * 1000, e.queue_name
$$;

-- queues/queue-key-has-room.sql
CREATE FUNCTION aries.queue_key_has_room(p_queue aries.queues, p_key text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT p_queue.key_concurrency IS NULL OR p_key = ''
         OR (SELECT pg_catalog.count(*) FROM aries.executions e
              WHERE e.queue_name = p_queue.name AND e.queue_key = p_key AND e.lease_owner IS NOT NULL)
            < p_queue.key_concurrency
$$;

-- queues/admit-from-queue.sql
CREATE FUNCTION aries.admit_from_queue(p_queue text, p_worker text, p_workflow_keys text[], p_room integer,
                                       p_lease_ms integer, p_running uuid[], p_now timestamptz)
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  c_max_visits constant integer := 1000;
  v_q aries.queues;
  v_room integer;
  v_worker_free integer;
  v_rate_free integer;
  v_ids uuid[] := '{}';
  v_id uuid;
  v_key text;
  v_first_start boolean;
  v_priority integer;
  v_cursor text;
  v_pass_first text;
  v_wrapped boolean;
  v_pass_admitted integer;
  v_visits integer := 0;
  v_candidate record;
BEGIN
  SELECT * INTO v_q FROM aries.queues q WHERE q.name = p_queue FOR NO KEY UPDATE;
  IF NOT FOUND OR v_q.paused THEN
    RETURN;
  END IF;
  -- Counted after the lock: every earlier admission into this queue is visible.
  v_room := p_room;
  IF v_q.concurrency IS NOT NULL THEN
    v_room := least(v_room, v_q.concurrency - (SELECT pg_catalog.count(*) FROM aries.executions e
                                                 WHERE e.queue_name = p_queue AND e.lease_owner IS NOT NULL)::integer);
  END IF;
  v_worker_free := CASE WHEN v_q.worker_concurrency IS NULL THEN p_room ELSE
    v_q.worker_concurrency - (SELECT pg_catalog.count(*) FROM aries.executions e
                               WHERE e.queue_name = p_queue AND e.lease_owner = p_worker)::integer END;
  v_rate_free := CASE WHEN v_q.rate_limit IS NULL THEN p_room ELSE
    v_q.rate_limit - (SELECT pg_catalog.count(*) FROM aries.executions e
                       WHERE e.queue_name = p_queue
                         AND e.started_at > p_now - v_q.rate_period_ms * interval '1 millisecond')::integer END;

  -- 1. Expired leases: the execution keeps its queue and key slot; the taking worker needs room of its own.
  FOR v_candidate IN
    SELECT e.id FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.lease_owner IS NOT NULL AND e.lease_expires_at < p_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at
     LIMIT greatest(least(p_room, v_worker_free), 0)
       FOR UPDATE SKIP LOCKED
  LOOP
    v_ids := v_ids || v_candidate.id;
    v_worker_free := v_worker_free - 1;
  END LOOP;
  v_room := least(v_room, p_room - pg_catalog.cardinality(v_ids));

  -- 2. Due COMPENSATING (unowned), SLEEPING and WAITING ones: a new slot (queue, worker, key), no rate.
  FOR v_candidate IN
    SELECT e.id, e.queue_key FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
       AND e.lease_owner IS NULL AND e.available_at <= p_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at
     LIMIT c_max_visits
  LOOP
    EXIT WHEN v_room <= 0 OR v_worker_free <= 0;
    CONTINUE WHEN NOT aries.queue_key_has_room(v_q, v_candidate.queue_key);
    SELECT e.id INTO v_id FROM aries.executions e
     WHERE e.id = v_candidate.id AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
       AND e.lease_owner IS NULL AND e.available_at <= p_now
       FOR UPDATE SKIP LOCKED;
    CONTINUE WHEN v_id IS NULL;
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, ARRAY[v_id], p_lease_ms, p_now);
    v_room := v_room - 1;
    v_worker_free := v_worker_free - 1;
  END LOOP;

  -- 3. Due PENDING ones, by priority, then round robin across keys.
  v_cursor := v_q.rr_key;
  v_priority := NULL;
  <<priorities>>
  LOOP
    EXIT WHEN v_room <= 0 OR v_worker_free <= 0 OR v_visits >= c_max_visits;
    SELECT e.priority INTO v_priority FROM aries.executions e
     WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.available_at <= p_now
       AND (v_priority IS NULL OR e.priority < v_priority)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
     ORDER BY e.priority DESC LIMIT 1;
    EXIT WHEN NOT FOUND;
    LOOP -- passes over this priority's keys
      v_pass_admitted := 0;
      v_pass_first := NULL;
      v_wrapped := false;
      v_key := v_cursor;
      LOOP -- keys of one pass, after the cursor and around
        EXIT priorities WHEN v_room <= 0 OR v_worker_free <= 0 OR v_visits >= c_max_visits;
        SELECT e.queue_key INTO v_key FROM aries.executions e
         WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.priority = v_priority
           AND (v_key IS NULL OR e.queue_key > v_key) AND e.available_at <= p_now
           AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
           AND NOT (e.id = ANY (p_running))
         ORDER BY e.queue_key LIMIT 1;
        IF NOT FOUND THEN
          EXIT WHEN v_wrapped OR v_pass_first IS NULL AND v_cursor IS NULL;
          v_wrapped := true;
          v_key := NULL;
          CONTINUE;
        END IF;
        EXIT WHEN v_wrapped AND v_pass_first IS NOT NULL AND v_key >= v_pass_first;
        v_pass_first := coalesce(v_pass_first, v_key);
        v_visits := v_visits + 1;
        CONTINUE WHEN NOT aries.queue_key_has_room(v_q, v_key);
        SELECT e.id, e.started_at IS NULL AS first_start INTO v_id, v_first_start FROM aries.executions e
         WHERE e.queue_name = p_queue AND e.status = 'PENDING' AND e.priority = v_priority AND e.queue_key = v_key
           AND e.available_at <= p_now
           AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
           AND NOT (e.id = ANY (p_running))
         ORDER BY e.available_at, e.id LIMIT 1
           FOR UPDATE SKIP LOCKED;
        CONTINUE WHEN v_id IS NULL OR (v_first_start AND v_rate_free <= 0);
        RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, ARRAY[v_id], p_lease_ms, p_now);
        v_room := v_room - 1;
        v_worker_free := v_worker_free - 1;
        IF v_first_start THEN
          v_rate_free := v_rate_free - 1;
        END IF;
        v_pass_admitted := v_pass_admitted + 1;
        v_cursor := v_key;
      END LOOP;
      EXIT WHEN v_pass_admitted = 0;
    END LOOP;
  END LOOP;

  IF pg_catalog.cardinality(v_ids) > 0 THEN
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, v_ids, p_lease_ms, p_now);
  END IF;
  IF v_cursor IS DISTINCT FROM v_q.rr_key THEN
    UPDATE aries.queues q SET rr_key = v_cursor WHERE q.name = p_queue;
  END IF;
END $$;

-- queues/admit-queued.sql
CREATE FUNCTION aries.admit_queued(p_worker text, p_workflow_keys text[], p_room integer, p_lease_ms integer,
                                   p_running uuid[], p_now timestamptz)
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_room integer := p_room;
  v_queue text;
  v_admitted integer;
BEGIN
  FOR v_queue IN
    SELECT q.name FROM aries.queues q
     WHERE NOT q.paused
       AND (EXISTS (SELECT 1 FROM aries.executions e
                     WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= p_now
                       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
            OR EXISTS (SELECT 1 FROM aries.executions e
                        WHERE e.queue_name = q.name AND e.status IN ('SLEEPING', 'WAITING', 'COMPENSATING')
                          AND e.lease_owner IS NULL AND e.available_at <= p_now
                          AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
            OR EXISTS (SELECT 1 FROM aries.executions e
                        WHERE e.queue_name = q.name AND e.lease_owner IS NOT NULL AND e.lease_expires_at < p_now
                          AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)))
     ORDER BY q.name
  LOOP
    EXIT WHEN v_room <= 0;
    RETURN QUERY SELECT * FROM aries.admit_from_queue(v_queue, p_worker, p_workflow_keys, v_room, p_lease_ms,
                                                      p_running, p_now);
    GET DIAGNOSTICS v_admitted = ROW_COUNT;
    v_room := v_room - v_admitted;
  END LOOP;
END $$;

-- leases/claim-executions.sql (its rows now name their queue: a new result type)
DROP FUNCTION aries.claim_executions(text, text[], integer, integer, uuid[]);
CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer,
                                       p_lease_ms integer, p_running uuid[] DEFAULT '{}')
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean, deadline_in_ms double precision,
               queue_name text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
  v_ids uuid[];
BEGIN
  WITH expired AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'RUNNING' AND e.lease_expires_at < v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), compensating AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'COMPENSATING' AND e.queue_name IS NULL
       AND ((e.lease_owner IS NULL AND e.available_at <= v_now) OR e.lease_expires_at < v_now)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), woken AS (
    SELECT e.id FROM aries.executions e
     WHERE e.status IN ('SLEEPING', 'WAITING') AND e.available_at <= v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), due AS (
    -- Not one the worker is still running: a retry due at once, or a hand-back, can become PENDING
    -- before the run that wrote it has returned.
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'PENDING' AND e.available_at <= v_now AND e.queue_name IS NULL
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), chosen AS (
    SELECT x.id, x.old_owner, x.expired_at FROM expired x
    UNION ALL
    SELECT c.id, c.old_owner, c.expired_at FROM compensating c
    UNION ALL
    SELECT k.id, NULL, NULL FROM woken k
    UNION ALL
    SELECT d.id, NULL, NULL FROM due d
    LIMIT p_limit
  )
  SELECT pg_catalog.array_agg(c.id) INTO v_ids FROM chosen c;
  IF v_ids IS NOT NULL THEN
    RETURN QUERY SELECT * FROM aries.grant_claims(p_worker, v_ids, p_lease_ms, v_now);
  END IF;
  IF coalesce(pg_catalog.cardinality(v_ids), 0) < p_limit THEN
    RETURN QUERY SELECT * FROM aries.admit_queued(p_worker, p_workflow_keys, p_limit - coalesce(pg_catalog.cardinality(v_ids), 0),
                                                  p_lease_ms, p_running, v_now);
  END IF;
END $$;

-- queues/next-queue-admission.sql
CREATE FUNCTION aries.next_queue_admission(p_workflow_keys text[]) RETURNS double precision
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.min(pg_catalog.date_part('epoch', w.started_at + q.rate_period_ms * interval '1 millisecond'
                                                      - aries.now()) * 1000)
    FROM aries.queues q
   CROSS JOIN LATERAL (
     -- Counted without the upper bound, as admit_from_queue counts the window.
     SELECT e.started_at FROM aries.executions e
      WHERE e.queue_name = q.name AND e.started_at > aries.now() - q.rate_period_ms * interval '1 millisecond'
      ORDER BY e.started_at DESC
     OFFSET q.rate_limit - 1 LIMIT 1) w
   WHERE q.rate_limit IS NOT NULL AND NOT q.paused
     AND EXISTS (SELECT 1 FROM aries.executions e
                  WHERE e.queue_name = q.name AND e.status = 'PENDING' AND e.available_at <= aries.now()
                    AND e.started_at IS NULL
                    AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys))
$$;

-- queues/notify-queue-slot-freed.sql
CREATE FUNCTION aries.notify_queue_slot_freed() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM aries.queues q
              WHERE q.name = NEW.queue_name
                AND (q.concurrency IS NOT NULL OR q.worker_concurrency IS NOT NULL OR q.key_concurrency IS NOT NULL)) THEN
    PERFORM pg_catalog.pg_notify('aries_wakeup', 'queue:' || NEW.queue_name);
  END IF;
  RETURN NULL;
END $$;

-- queues/executions-queue-slot-freed.sql
CREATE TRIGGER executions_queue_slot_freed AFTER UPDATE OF lease_owner ON aries.executions
  FOR EACH ROW WHEN (OLD.lease_owner IS NOT NULL AND NEW.lease_owner IS NULL AND NEW.queue_name IS NOT NULL)
  EXECUTE FUNCTION aries.notify_queue_slot_freed();

