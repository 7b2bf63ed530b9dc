-- 0001_core: the durable execution model.
--
-- Model
--   workflows    what workers have registered (name, version); start_execution refuses an unknown name.
--   executions   one run of a workflow. Its status is a state machine whose legal transitions are rows of
--                execution_transitions; a trigger refuses any other. A worker owns a RUNNING execution
--                while its lease (lease_expires_at, judged on the database clock) is live; lease_token is
--                the fencing token, incremented on every claim, and every write a worker makes carries it.
--   steps        one row per step key of an execution (the source document's tasks); (execution_id,
--                step_key) and (execution_id, seq) are unique, so a step cannot be recorded twice.
--   journal      append-only write-ahead log of an execution: a global monotonic LSN, prev_lsn chaining
--                the records of one execution, and a checksum binding execution, sequence, step key,
--                attempt, kind, prev_lsn and payload. Replay reads step outputs only from here, and only
--                from records whose checksum still matches.
--   checkpoints  snapshots that bound recovery (the source document's orchestration_checkpoints).
--   failures     recorded, classified errors (the source document's orchestration_failures).
--
-- Invariants kept by the schema itself: statuses are CHECKed, rows reference their execution (ON DELETE
-- CASCADE: an execution's history goes with it under a retention policy), journal rows are never updated
-- or deleted except by that cascade, transitions follow execution_transitions.
--
-- Every function sets search_path = '' and qualifies names, so it behaves the same whatever the caller's
-- search_path. Errors use SQLSTATEs in class AR (listed in src/db/sqlstate-errors.ts):
--   AR001 execution not found      AR002 lease lost (fencing token no longer current)
--   AR003 illegal transition       AR004 unknown workflow
--   AR005 duplicate step key       AR006 step sequence conflict (nondeterminism)
--   AR007 idempotency key reused for another workflow  AR008 journal record changed or deleted

CREATE SCHEMA IF NOT EXISTS aries;

-- The database clock: the start of the current transaction (Aries's transactions are short; in a long
-- one this only makes a lease end earlier, never later). Tests may pin it with SET aries.now = '…'.
-- This function and journal_checksum have no SET search_path (unlike every other function here): a SET
-- clause stops PostgreSQL from inlining a SQL function, and both are on the hot path. They name only
-- pg_catalog objects, fully qualified, so the caller's search_path cannot change what they do.
CREATE FUNCTION aries.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(pg_catalog.current_setting('aries.now', true), '')::timestamptz, pg_catalog.now())
$$;

CREATE TABLE aries.workflows (
  name          text NOT NULL,
  version       text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (name, version),
  CHECK (name <> '' AND version <> '')
);

CREATE TABLE aries.execution_statuses (status text PRIMARY KEY, terminal boolean NOT NULL);
INSERT INTO aries.execution_statuses VALUES
  ('PENDING', false), ('RUNNING', false), ('SLEEPING', false), ('WAITING', false),
  ('COMPLETED', true), ('FAILED', false), ('COMPENSATING', false), ('COMPENSATED', true),
  ('CANCELLED', true);

-- The state machine. src/core/execution-states.ts holds the same table; a test keeps them equal.
CREATE TABLE aries.execution_transitions (
  from_status text NOT NULL REFERENCES aries.execution_statuses (status),
  to_status   text NOT NULL REFERENCES aries.execution_statuses (status),
  PRIMARY KEY (from_status, to_status),
  CHECK (from_status <> to_status)
);
INSERT INTO aries.execution_transitions VALUES
  ('PENDING', 'RUNNING'), ('PENDING', 'CANCELLED'),
  ('RUNNING', 'PENDING'), ('RUNNING', 'SLEEPING'), ('RUNNING', 'WAITING'), ('RUNNING', 'COMPLETED'),
  ('RUNNING', 'FAILED'), ('RUNNING', 'COMPENSATING'), ('RUNNING', 'CANCELLED'),
  ('SLEEPING', 'RUNNING'), ('SLEEPING', 'CANCELLED'),
  ('WAITING', 'RUNNING'), ('WAITING', 'CANCELLED'),
  ('FAILED', 'PENDING'),
  ('COMPENSATING', 'COMPENSATED'), ('COMPENSATING', 'FAILED'), ('COMPENSATING', 'CANCELLED');

CREATE TABLE aries.executions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workflow_name    text NOT NULL,
  workflow_version text NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING' REFERENCES aries.execution_statuses (status),
  input            jsonb,
  output           jsonb,
  error            jsonb,
  idempotency_key  text UNIQUE,
  available_at     timestamptz NOT NULL DEFAULT aries.now(),
  lease_owner      text,
  lease_token      bigint NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  claim_count      integer NOT NULL DEFAULT 0,
  step_count       integer NOT NULL DEFAULT 0,
  last_lsn         bigint,
  created_at       timestamptz NOT NULL DEFAULT aries.now(),
  updated_at       timestamptz NOT NULL DEFAULT aries.now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  FOREIGN KEY (workflow_name, workflow_version) REFERENCES aries.workflows (name, version),
  -- A RUNNING execution always has an owner; no other status keeps one.
  CHECK ((status = 'RUNNING') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
  CHECK ((status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')) = (finished_at IS NOT NULL)),
  CHECK (status = 'COMPLETED' OR output IS NULL),
  CHECK (idempotency_key IS NULL OR idempotency_key <> '')
);
-- The claim query's index: runnable work ordered by when it becomes runnable, and leases to reap.
CREATE INDEX executions_runnable_idx ON aries.executions (available_at) WHERE status = 'PENDING';
CREATE INDEX executions_lease_idx ON aries.executions (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX executions_list_idx ON aries.executions (created_at DESC, id DESC);
CREATE INDEX executions_status_idx ON aries.executions (status, created_at DESC);

CREATE FUNCTION aries.guard_execution_transition() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM aries.execution_transitions t
                 WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
    RAISE EXCEPTION 'illegal transition of execution % from % to %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'AR003';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER executions_transition_guard
  BEFORE UPDATE OF status ON aries.executions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION aries.guard_execution_transition();

CREATE TABLE aries.steps (
  execution_id  uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  step_key      text NOT NULL CHECK (step_key <> ''),
  seq           integer NOT NULL CHECK (seq >= 0),
  status        text NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
  attempt       integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  output_lsn    bigint,
  error         jsonb,
  started_at    timestamptz NOT NULL DEFAULT aries.now(),
  completed_at  timestamptz,
  PRIMARY KEY (execution_id, step_key),
  UNIQUE (execution_id, seq),
  CHECK ((status = 'COMPLETED') = (output_lsn IS NOT NULL AND completed_at IS NOT NULL))
);

CREATE SEQUENCE aries.journal_lsn_seq;

CREATE TABLE aries.journal (
  lsn          bigint PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  prev_lsn     bigint,
  kind         text NOT NULL CHECK (kind IN ('execution_started', 'step_started', 'step_completed',
                                             'step_failed', 'execution_completed', 'execution_failed',
                                             'execution_released')),
  seq          integer,
  step_key     text,
  attempt      integer,
  payload      jsonb,
  checksum     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT aries.now(),
  CHECK (prev_lsn IS NULL OR prev_lsn < lsn),
  CHECK ((kind LIKE 'step_%') = (step_key IS NOT NULL AND seq IS NOT NULL AND attempt IS NOT NULL))
);
CREATE INDEX journal_execution_idx ON aries.journal (execution_id, lsn);

-- The journal is append-only: a record is never updated, and deleted only with its execution (the
-- ON DELETE CASCADE runs after the execution row is gone, which is how this trigger tells it apart).
CREATE FUNCTION aries.refuse_journal_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM aries.executions e WHERE e.id = OLD.execution_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the journal is append-only (% of lsn %)', pg_catalog.lower(TG_OP), OLD.lsn USING ERRCODE = 'AR008';
END $$;
-- Operators and tests may still corrupt a row deliberately after disabling this trigger; replay then
-- detects it by its checksum, the prev-LSN chain and executions.last_lsn.
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON aries.journal
  FOR EACH ROW EXECUTE FUNCTION aries.refuse_journal_change();

-- The checksum of a journal record. jsonb's text form is canonical (keys sorted, spacing fixed), so the
-- same payload always hashes the same way on every backend. Built from immutable operators only, so
-- the planner inlines it into the statements that call it.
CREATE FUNCTION aries.journal_checksum(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer,
                                       p_step_key text, p_attempt integer, p_payload jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_catalog.md5(p_execution_id::text || E'\x1f' || coalesce(p_prev_lsn::text, '-') || E'\x1f' || p_kind
         || E'\x1f' || coalesce(p_seq::text, '-') || E'\x1f' || coalesce(p_step_key, '-') || E'\x1f'
         || coalesce(p_attempt::text, '-') || E'\x1f' || coalesce(p_payload::text, '-'))
$$;

CREATE TABLE aries.checkpoints (
  checkpoint_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  execution_id    uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  lsn             bigint NOT NULL,
  checkpoint_time timestamptz NOT NULL DEFAULT aries.now(),
  state_data      jsonb NOT NULL,
  step_progress   jsonb,
  checksum        text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT aries.now()
);
CREATE INDEX checkpoints_execution_idx ON aries.checkpoints (execution_id, lsn DESC);

CREATE TABLE aries.failures (
  failure_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  execution_id      uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  failure_type      text NOT NULL CHECK (failure_type IN ('TRANSIENT', 'PERMANENT', 'PARTIAL')),
  failure_message   text NOT NULL,
  failure_timestamp timestamptz NOT NULL DEFAULT aries.now(),
  recovery_strategy text NOT NULL CHECK (recovery_strategy IN ('retry', 'rollback', 'compensate', 'none')),
  recovered         boolean NOT NULL DEFAULT false,
  source            text NOT NULL CHECK (source IN ('node', 'network', 'data', 'step')),
  step_key          text,
  attempt           integer,
  error_class       text,
  stack             text,
  details           jsonb
);
CREATE INDEX failures_execution_idx ON aries.failures (execution_id, failure_timestamp DESC);
CREATE INDEX failures_unrecovered_idx ON aries.failures (failure_timestamp) WHERE NOT recovered;

-- Appends one journal record chained after p_prev_lsn and returns its LSN. The caller holds the
-- execution's row lock and stores the returned LSN as executions.last_lsn in its own UPDATE, so records
-- of one execution chain without gaps and each transition updates the execution row once.
CREATE FUNCTION aries.append_journal(p_execution_id uuid, p_prev_lsn bigint, p_kind text, p_seq integer,
                                     p_step_key text, p_attempt integer, p_payload jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_lsn bigint := pg_catalog.nextval('aries.journal_lsn_seq');
BEGIN
  INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum)
  VALUES (v_lsn, p_execution_id, p_prev_lsn, p_kind, p_seq, p_step_key, p_attempt, p_payload,
          aries.journal_checksum(p_execution_id, p_prev_lsn, p_kind, p_seq, p_step_key, p_attempt, p_payload));
  RETURN v_lsn;
END $$;

CREATE FUNCTION aries.register_workflow(p_name text, p_version text) RETURNS void
LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.workflows (name, version) VALUES (p_name, p_version)
  ON CONFLICT (name, version) DO UPDATE SET last_seen_at = pg_catalog.now()
$$;

-- Starts an execution, or returns the one already started under the same idempotency key.
-- p_version NULL means the most recently registered version of p_workflow.
CREATE FUNCTION aries.start_execution(p_workflow text, p_version text, p_input jsonb,
                                      p_idempotency_key text DEFAULT NULL)
RETURNS TABLE (execution_id uuid, created boolean, status text)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_version text := p_version;
  v_id uuid := gen_random_uuid();
  v_lsn bigint := pg_catalog.nextval('aries.journal_lsn_seq');
  v_inserted uuid;
  v_existing record;
BEGIN
  IF v_version IS NULL THEN
    SELECT w.version INTO v_version FROM aries.workflows w WHERE w.name = p_workflow
    ORDER BY w.registered_at DESC, w.version DESC LIMIT 1;
  END IF;
  IF v_version IS NULL OR NOT EXISTS (SELECT 1 FROM aries.workflows w
                                      WHERE w.name = p_workflow AND w.version = v_version) THEN
    RAISE EXCEPTION 'unknown workflow "%"%', p_workflow,
      CASE WHEN p_version IS NULL THEN '' ELSE ' version "' || p_version || '"' END
      USING ERRCODE = 'AR004',
            HINT = 'start a worker whose modules export it (workers register their workflows), or check the name';
  END IF;

  INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, input, idempotency_key, last_lsn)
  VALUES (v_id, p_workflow, v_version, p_input, p_idempotency_key, v_lsn)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING e.id INTO v_inserted;

  IF v_inserted IS NOT NULL THEN
    INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, payload, checksum)
    SELECT v_lsn, v_id, NULL, 'execution_started', p.payload,
           aries.journal_checksum(v_id, NULL, 'execution_started', NULL, NULL, NULL, p.payload)
      FROM (SELECT pg_catalog.jsonb_build_object('workflow', p_workflow, 'version', v_version,
                                                 'input', p_input) AS payload) p;
    -- A hint for idle workers, sent once per new execution (never per step: NOTIFY serialises commits).
    -- Workers also poll, so a lost notification only delays.
    PERFORM pg_catalog.pg_notify('aries_wakeup', p_workflow);
    RETURN QUERY SELECT v_id, true, 'PENDING'::text;
    RETURN;
  END IF;

  SELECT e.id, e.workflow_name, e.status INTO v_existing
  FROM aries.executions e WHERE e.idempotency_key = p_idempotency_key;
  IF v_existing.workflow_name <> p_workflow THEN
    RAISE EXCEPTION 'idempotency key "%" already started an execution of workflow "%", not "%"',
      p_idempotency_key, v_existing.workflow_name, p_workflow USING ERRCODE = 'AR007';
  END IF;
  RETURN QUERY SELECT v_existing.id, false, v_existing.status;
END $$;

-- Claims up to p_limit runnable executions of the given workflows ("name@version" keys) for a worker:
-- RUNNING ones whose lease expired (their worker is presumed dead) first, then PENDING ones that are
-- due. p_running lists what the claiming worker is running itself: a lease of its own that expired
-- because the worker stalled (a CPU-bound step) is not taken again while its run is still going. Each claim increments the fencing token. Run at READ COMMITTED: SKIP LOCKED keeps concurrent
-- claimers apart, and under SERIALIZABLE the skipped rows' predicate locks would cause 40001 storms.
CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer,
                                       p_lease_ms integer, p_running uuid[] DEFAULT '{}')
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  RETURN QUERY
  WITH expired AS (
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'RUNNING' AND e.lease_expires_at < v_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), due AS (
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'PENDING' AND e.available_at <= v_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), chosen AS (
    SELECT x.id, true AS resumed FROM expired x
    UNION ALL
    SELECT d.id, false FROM due d
    LIMIT p_limit
  )
  UPDATE aries.executions e
     SET status = 'RUNNING', lease_owner = p_worker, lease_token = e.lease_token + 1,
         lease_expires_at = v_now + p_lease_ms * interval '1 millisecond',
         claim_count = e.claim_count + 1, started_at = coalesce(e.started_at, v_now), updated_at = v_now
    FROM chosen c
   WHERE e.id = c.id
  RETURNING e.id, e.workflow_name, e.workflow_version, e.input, e.lease_token, e.claim_count, c.resumed;
END $$;

-- Renews the leases a worker holds; returns the executions it still owns. Anything missing was lost.
-- Rows are locked in id order, as record_steps_batch locks them, so the two never deadlock.
CREATE FUNCTION aries.renew_leases(p_worker text, p_ids uuid[], p_tokens bigint[], p_lease_ms integer)
RETURNS TABLE (id uuid) LANGUAGE sql SET search_path = '' AS $$
  WITH held AS (
    -- Found by primary key (id = ANY): a join on status = 'RUNNING' could be planned over every RUNNING
    -- execution of the fleet when statistics are stale.
    SELECT e.id FROM aries.executions e
      JOIN ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_tokens)) AS h(id, token) ON e.id = h.id
     WHERE e.id = ANY (p_ids) AND e.lease_token = h.token AND e.lease_owner = p_worker AND e.status = 'RUNNING'
     ORDER BY e.id
       FOR UPDATE OF e
  )
  UPDATE aries.executions e
     SET lease_expires_at = aries.now() + p_lease_ms * interval '1 millisecond'
    FROM held
   WHERE e.id = held.id
  RETURNING e.id
$$;

-- Locks an execution for a write by the worker holding fencing token p_token, or raises AR001 if it
-- does not exist and AR002 if the token is no longer current (another worker claimed it since) or the
-- execution left RUNNING under another token. p_done_status names the status an idempotent repeat of
-- the caller's own transition would find: then the row is returned as it is and the caller does nothing.
CREATE FUNCTION aries.lock_owned_execution(p_execution_id uuid, p_token bigint, p_done_status text DEFAULT NULL)
RETURNS aries.executions LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_token = p_token AND (v.status = 'RUNNING' OR v.status = p_done_status) THEN
    RETURN v;
  END IF;
  RAISE EXCEPTION 'lease on execution % lost: fencing token % is not current (current token %, status %)',
    p_execution_id, p_token, v.lease_token, v.status USING ERRCODE = 'AR002';
END $$;

-- Applies the step writes of executions whose rows the caller has locked (in id order), at most one
-- request per execution, in one set-based statement whatever their number: it judges every request,
-- then writes what the accepted ones record. It is the whole hot path of a step.
--
--   p_requests   [{execution_id, token, completed?, start_seq?, start_key?}]
--     completed  [{seq, key, attempt, output?, checkpoint}] in order; an absent "output" stores SQL NULL
--                (the step returned nothing). A completion already recorded for the same attempt is
--                skipped (the client could not tell whether its COMMIT happened); for another attempt it
--                is refused (AR005). A checkpoint is written for items that ask for one.
--     start_*    the step to start, or absent: the step becomes RUNNING with attempt 1, or attempt + 1
--                when it had started before (its worker died after the intent, or it is retried).
--
-- A request is judged as if its completions, then its start, were applied one after another; the first
-- that cannot be refuses it: AR001 (no such execution), AR002 (the token is not current, or the
-- execution is not RUNNING), AR005 (a step key at two positions, or a completed step recorded for
-- another attempt or started again), AR006 (another step key at a recorded position). All of it is
-- checked before anything is written, so a refused request writes nothing and fails nothing else.
--
-- The records of the accepted requests take a block of LSNs from journal_lsn_seq, assigned in the order
-- (execution id, completions in order, start); each record chains to the previous one of its execution,
-- the first to executions.last_lsn, which is then updated once per execution, with step_count.
--
-- Returns, in execution id order, each request's started attempt (NULL when nothing was started) or its
-- refusal (SQLSTATE, message); and, over all requests, how many completions were newly recorded and
-- whether a step was started.
CREATE FUNCTION aries.apply_step_requests(p_requests jsonb, OUT execution_ids uuid[], OUT attempts integer[],
                                          OUT error_codes text[], OUT error_messages text[], OUT recorded integer,
                                          OUT started boolean)
-- jit off: the statement below is a few index probes per request, but estimated (jsonb arrays count as
-- 100 elements each) far above jit_above_cost, and compiling it would take longer than running it.
LANGUAGE plpgsql SET search_path = '' SET jit = off AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  WITH step_row AS (
    -- A row per completion of a request that holds its lease, then a last row (ord NULL): its start, or
    -- (kind NULL) a row that only carries the request's verdict.
    SELECT q.id, q.token, q.has_start, x.lease_token, x.status AS execution_status, x.last_lsn, x.step_count,
           w.ord, w.kind, w.seq, w.key, w.attempt, w.output, w.checkpoint
      FROM (SELECT (a.r ->> 'execution_id')::uuid AS id, (a.r ->> 'token')::bigint AS token,
                   a.r ? 'start_key' AS has_start, a.r
              FROM pg_catalog.jsonb_array_elements(p_requests) a (r)) q
      -- LATERAL … LIMIT 1, here and below: every lookup stays an index probe, whatever the table sizes
      -- were when this statement's plan was cached.
      LEFT JOIN LATERAL (SELECT e.lease_token, e.status, e.last_lsn, e.step_count FROM aries.executions e
                          WHERE e.id = q.id LIMIT 1) x ON true
      CROSS JOIN LATERAL (
        SELECT c.ord, 'step_completed' AS kind, (c.item ->> 'seq')::integer AS seq, c.item ->> 'key' AS key,
               (c.item ->> 'attempt')::integer AS attempt, c.item -> 'output' AS output,
               coalesce((c.item ->> 'checkpoint')::boolean, false) AS checkpoint
          FROM pg_catalog.jsonb_array_elements(coalesce(q.r -> 'completed', '[]'::jsonb))
               WITH ORDINALITY c (item, ord)
         WHERE x.lease_token = q.token AND x.status = 'RUNNING'
        UNION ALL
        SELECT NULL, CASE WHEN x.lease_token = q.token AND x.status = 'RUNNING' AND q.r ->> 'start_key' IS NOT NULL
                          THEN 'step_started' END,
               (q.r ->> 'start_seq')::integer, q.r ->> 'start_key', NULL, NULL, false) w
  ), placed AS (
    -- Each row with the keys, positions and attempts of the completions before it in its request.
    SELECT r.*, pg_catalog.array_agg(r.key) OVER earlier AS earlier_keys,
           pg_catalog.array_agg(r.seq) OVER earlier AS earlier_seqs,
           pg_catalog.array_agg(r.attempt) OVER earlier AS earlier_attempts
      FROM step_row r
    WINDOW earlier AS (PARTITION BY r.id ORDER BY r.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
  ), judged AS (
    -- A row finds its step as the first earlier completion with its key left it (recorded), or else as
    -- its steps row is; its position is taken if an earlier completion or a steps row holds another key
    -- there.
    SELECT p.id, p.ord, p.kind, p.seq, p.key, p.output, p.checkpoint, p.has_start, p.last_lsn, p.step_count,
           CASE WHEN p.kind = 'step_started' THEN coalesce(prior.attempt + 1, 1) ELSE p.attempt END AS attempt,
           v.verdict, coalesce(v.verdict NOT IN ('write', 'skip'), false) AS stops,
           CASE v.verdict WHEN 'not_found' THEN 'AR001' WHEN 'lease_lost' THEN 'AR002'
                          WHEN 'key_reused' THEN 'AR005' WHEN 'completed' THEN 'AR005'
                          WHEN 'start_completed' THEN 'AR005' WHEN 'position_taken' THEN 'AR006' END AS code,
           CASE v.verdict
             WHEN 'not_found' THEN pg_catalog.format('execution %s not found', coalesce(p.id::text, '<NULL>'))
             WHEN 'lease_lost' THEN pg_catalog.format(
               'lease on execution %s lost: fencing token %s is not current (current token %s, status %s)',
               p.id, coalesce(p.token::text, '<NULL>'), p.lease_token, p.execution_status)
             WHEN 'key_reused' THEN pg_catalog.format(
               'step key "%s" is used twice in execution %s (at positions %s and %s); step keys must be unique within an execution',
               p.key, p.id, prior.seq, p.seq)
             WHEN 'completed' THEN pg_catalog.format('step "%s" of execution %s is already completed (attempt %s)',
                                                     p.key, p.id, prior.attempt)
             WHEN 'start_completed' THEN pg_catalog.format('step "%s" of execution %s is already completed', p.key, p.id)
             WHEN 'position_taken' THEN pg_catalog.format(
               'execution %s recorded a different step at position %s than "%s"; the workflow code no longer matches its journal',
               p.id, p.seq, p.key)
           END AS message
      FROM placed p
      CROSS JOIN LATERAL (SELECT pg_catalog.array_position(p.earlier_keys, p.key) AS same_key,
                                 p.earlier_keys[pg_catalog.array_position(p.earlier_seqs, p.seq)] AS key_there) e
      LEFT JOIN LATERAL (SELECT s.seq, s.status, s.attempt FROM aries.steps s
                          WHERE e.same_key IS NULL AND p.kind IS NOT NULL AND s.execution_id = p.id
                            AND s.step_key = p.key
                          LIMIT 1) k ON true
      CROSS JOIN LATERAL (SELECT coalesce(p.earlier_seqs[e.same_key], k.seq) AS seq,
                                 CASE WHEN e.same_key IS NOT NULL THEN 'COMPLETED' ELSE k.status END AS status,
                                 coalesce(p.earlier_attempts[e.same_key], k.attempt) AS attempt) prior
      LEFT JOIN LATERAL (SELECT true AS taken FROM aries.steps s
                          WHERE prior.status IS NULL AND p.kind IS NOT NULL AND s.execution_id = p.id
                            AND s.seq = p.seq
                          LIMIT 1) t ON true
      CROSS JOIN LATERAL (SELECT CASE
        WHEN p.lease_token IS NULL THEN 'not_found'
        WHEN p.lease_token IS DISTINCT FROM p.token OR p.execution_status <> 'RUNNING' THEN 'lease_lost'
        WHEN p.kind IS NULL THEN NULL
        WHEN prior.seq <> p.seq THEN 'key_reused'
        WHEN prior.status = 'COMPLETED' AND p.kind = 'step_started' THEN 'start_completed'
        WHEN prior.status = 'COMPLETED' AND prior.attempt = p.attempt THEN 'skip'
        WHEN prior.status = 'COMPLETED' THEN 'completed'
        -- Not something a worker sends: written as it is, it fails on the tables' own constraints.
        WHEN p.key IS NULL OR p.key = '' OR p.seq IS NULL OR p.seq < 0
             OR (p.kind = 'step_completed' AND (p.attempt IS NULL OR p.attempt < 1)) THEN 'malformed'
        WHEN prior.status IS NULL AND (e.key_there <> p.key OR t.taken) THEN 'position_taken'
        ELSE 'write' END AS verdict) v
  ), decided AS (
    -- A request is refused by its first row that stops it (a malformed one lets it through: its write
    -- fails, and the caller isolates it).
    SELECT j.*, pg_catalog.first_value(j.code) OVER request AS request_code,
           pg_catalog.first_value(j.message) OVER request AS request_message,
           pg_catalog.count(*) FILTER (WHERE j.kind = 'step_completed' AND j.verdict = 'write') OVER request
             AS completions
      FROM judged j
    WINDOW request AS (PARTITION BY j.id ORDER BY j.stops DESC, j.ord
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
  ), record AS (
    -- What the accepted requests journal, each with its LSN, drawn from the sequence in the order
    -- (execution id, completions in order, start): PostgreSQL computes output expressions after ORDER BY.
    SELECT d.id, d.ord, d.kind, d.seq, d.key, d.attempt, d.output, d.checkpoint, d.last_lsn, d.step_count,
           pg_catalog.nextval('aries.journal_lsn_seq') AS lsn
      FROM decided d
     WHERE d.request_code IS NULL AND d.verdict IN ('write', 'malformed')
     ORDER BY d.id, d.ord
  ), chained AS (
    SELECT r.*, pg_catalog.lag(r.lsn, 1, r.last_lsn) OVER same_execution AS prev_lsn,
           r.step_count + pg_catalog.count(*) FILTER (WHERE r.kind = 'step_completed') OVER same_execution
             AS completed_steps,
           pg_catalog.lead(r.lsn) OVER same_execution IS NULL AS last_of_execution
      FROM record r
    WINDOW same_execution AS (PARTITION BY r.id ORDER BY r.lsn)
  ), stepped AS (
    -- A completion's intent can be missing (a server crash may drop an asynchronously committed one):
    -- its row is then created COMPLETED.
    INSERT INTO aries.steps AS s (execution_id, step_key, seq, status, attempt, output_lsn, started_at, completed_at)
    SELECT c.id, c.key, c.seq, CASE c.kind WHEN 'step_completed' THEN 'COMPLETED' ELSE 'RUNNING' END, c.attempt,
           CASE c.kind WHEN 'step_completed' THEN c.lsn END, v_now, CASE c.kind WHEN 'step_completed' THEN v_now END
      FROM chained c
    ON CONFLICT ON CONSTRAINT steps_pkey DO UPDATE
       SET status = excluded.status, attempt = excluded.attempt, output_lsn = excluded.output_lsn,
           completed_at = excluded.completed_at, error = NULL,
           started_at = CASE excluded.status WHEN 'RUNNING' THEN excluded.started_at ELSE s.started_at END
  ), checkpointed AS (
    INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum, checkpoint_time, created_at)
    SELECT c.id, c.lsn, st.state, pg_catalog.jsonb_build_object('completed', c.completed_steps),
           pg_catalog.md5(c.id::text || ':' || c.lsn::text || ':' || st.state::text), v_now, v_now
      FROM chained c
     CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_build_object('completed_steps', c.completed_steps, 'last_seq', c.seq,
                                                              'last_step_key', c.key) AS state) st
     WHERE c.checkpoint
  ), advanced AS (
    -- An upsert finds each execution row by its primary key whatever the plan, where an UPDATE … FROM is
    -- a join that a plan cached while the table was small would run as a scan of all of it. Every row
    -- exists (its lock is held), so nothing is inserted; were one missing, the row proposed here would
    -- fail on its foreign key, as no workflow has an empty name.
    INSERT INTO aries.executions AS e (id, workflow_name, workflow_version, last_lsn, step_count)
    SELECT c.id, '', '', c.lsn, c.completed_steps FROM chained c WHERE c.last_of_execution
    ON CONFLICT ON CONSTRAINT executions_pkey DO UPDATE
       SET last_lsn = excluded.last_lsn, step_count = excluded.step_count, updated_at = v_now
  ), journaled AS (
    -- Listed last: PostgreSQL runs the writes no query reads last first, so a malformed record meets the
    -- journal's checks before the other tables', as when each record was written by its own statement.
    INSERT INTO aries.journal (lsn, execution_id, prev_lsn, kind, seq, step_key, attempt, payload, checksum, created_at)
    SELECT c.lsn, c.id, c.prev_lsn, c.kind, c.seq, c.key, c.attempt, c.output,
           aries.journal_checksum(c.id, c.prev_lsn, c.kind, c.seq, c.key, c.attempt, c.output), v_now
      FROM chained c
  )
  -- One row per request: its last one.
  SELECT pg_catalog.array_agg(d.id ORDER BY d.id),
         pg_catalog.array_agg(CASE WHEN d.request_code IS NULL THEN d.attempt END ORDER BY d.id),
         pg_catalog.array_agg(d.request_code ORDER BY d.id), pg_catalog.array_agg(d.request_message ORDER BY d.id),
         coalesce(pg_catalog.sum(d.completions) FILTER (WHERE d.request_code IS NULL), 0),
         coalesce(pg_catalog.bool_or(d.has_start AND d.request_code IS NULL), false)
    INTO execution_ids, attempts, error_codes, error_messages, recorded, started
    FROM decided d
   WHERE d.ord IS NULL;
END $$;

-- A transaction that only journals intents, and records no completion, commits asynchronously when the
-- server fsyncs: a server crash may lose it, which loses an attempt count, never a completed step. Without
-- fsync (PGlite, which also has no WAL writer to flush asynchronous commits before a process dies) a
-- synchronous commit costs no disk flush, so the intent is committed synchronously and survives a killed
-- process. synchronous_commit is read at COMMIT, so setting it last decides for the whole transaction.
CREATE FUNCTION aries.commit_intents_asynchronously() RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF pg_catalog.current_setting('fsync') = 'on' THEN
    PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
  END IF;
END $$;

-- The hot-path step transition, one round trip per step: apply_step_requests for one execution, whose
-- refusal is raised. Workflow code between two steps is deterministic and has no side effects, so a
-- step's completion may wait for the next step's intent: it is durable before any later side effect.
CREATE FUNCTION aries.record_steps(p_execution_id uuid, p_token bigint, p_completed jsonb,
                                   p_start_seq integer DEFAULT NULL, p_start_key text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_done record;
BEGIN
  PERFORM 1 FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('execution_id', p_execution_id, 'token', p_token,
                                  'completed', coalesce(p_completed, '[]'::jsonb))
    || CASE WHEN p_start_key IS NULL THEN '{}'::jsonb
            ELSE pg_catalog.jsonb_build_object('start_seq', p_start_seq, 'start_key', p_start_key) END));
  IF v_done.error_codes[1] IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
  END IF;
  IF v_done.recorded = 0 AND v_done.started THEN
    PERFORM aries.commit_intents_asynchronously();
  END IF;
  RETURN v_done.attempts[1];
END $$;

-- Group commit: the step transitions of several executions (a worker's concurrent writes) in one
-- transaction. p_requests is [{execution_id, token, completed?, start_seq?, start_key?}]
-- (apply_step_requests). Each request succeeds or is refused on its own: its row has its started attempt,
-- or the SQLSTATE and message that refused it (error_code, error_message). Rows are locked in execution
-- id order, as renew_leases locks them, so two transactions never wait on each other's rows in opposite
-- orders.
--
-- All requests go through one apply_step_requests call. Two requests for one execution (a worker never
-- sends them) are applied one after the other, in rounds. A request that fails for a reason no check
-- foresaw (malformed, it violates a table's constraint) fails the statement: the round is then applied
-- again one request at a time, each in its own subtransaction, so that request fails alone.
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
  IF v_recorded = 0 AND v_started THEN
    PERFORM aries.commit_intents_asynchronously();
  END IF;
  RETURN QUERY
  SELECT u.id, u.attempt, u.code, u.message
    FROM ROWS FROM (pg_catalog.unnest(v_id), pg_catalog.unnest(v_attempt), pg_catalog.unnest(v_code),
                    pg_catalog.unnest(v_message)) WITH ORDINALITY u (id, attempt, code, message, n)
   ORDER BY u.id, u.n;
END $$;

-- Journals the intent to run one step (record_steps without completions).
CREATE FUNCTION aries.begin_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text)
RETURNS integer LANGUAGE sql SET search_path = '' AS $$
  SELECT aries.record_steps(p_execution_id, p_token, NULL, p_seq, p_step_key)
$$;

-- Records one step's output (record_steps with one completion and no start). Returns the step's LSN.
CREATE FUNCTION aries.complete_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                    p_attempt integer, p_output jsonb, p_checkpoint boolean DEFAULT false)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.record_steps(p_execution_id, p_token,
    pg_catalog.jsonb_build_array(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'seq', p_seq, 'key', p_step_key, 'attempt', p_attempt, 'checkpoint', p_checkpoint))
      || CASE WHEN p_output IS NULL THEN '{}'::jsonb ELSE pg_catalog.jsonb_build_object('output', p_output) END));
  RETURN (SELECT s.output_lsn FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key);
END $$;

-- Records that a step's attempt ended in an error the workflow will see: the step is FAILED and replay
-- raises the recorded error again instead of re-running it. Idempotent for the same attempt.
CREATE FUNCTION aries.fail_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                p_attempt integer, p_error jsonb)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_step aries.steps;
  v_lsn bigint;
BEGIN
  SELECT * INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key AND s.seq = p_seq;
  IF NOT FOUND THEN
    INSERT INTO aries.steps (execution_id, step_key, seq, status, attempt)
    VALUES (p_execution_id, p_step_key, p_seq, 'RUNNING', p_attempt);
  ELSIF v_step.status = 'FAILED' AND v_step.attempt = p_attempt THEN
    RETURN v.last_lsn;
  ELSIF v_step.status = 'COMPLETED' THEN
    RAISE EXCEPTION 'step "%" of execution % is already completed', p_step_key, p_execution_id
      USING ERRCODE = 'AR005';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_failed', p_seq, p_step_key, p_attempt, p_error);
  UPDATE aries.steps s SET status = 'FAILED', attempt = p_attempt, error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  RETURN v_lsn;
END $$;

-- Ends an execution COMPLETED with its output, recording first the completions of its last steps
-- (p_completed, as for record_steps). Idempotent under the same token.
CREATE FUNCTION aries.complete_execution(p_execution_id uuid, p_token bigint, p_output jsonb,
                                         p_completed jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'COMPLETED');
  v_done record;
  v_lsn bigint;
BEGIN
  IF v.status = 'COMPLETED' THEN
    RETURN;
  END IF;
  IF p_completed IS NOT NULL THEN
    v_done := aries.apply_step_requests(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'execution_id', p_execution_id, 'token', p_token, 'completed', p_completed)));
    IF v_done.error_codes[1] IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = v_done.error_codes[1], MESSAGE = v_done.error_messages[1];
    END IF;
  END IF;
  v_lsn := aries.append_journal(p_execution_id,
                                (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                'execution_completed', NULL, NULL, NULL, p_output);
  UPDATE aries.executions e
     SET status = 'COMPLETED', output = p_output, lease_owner = NULL, lease_expires_at = NULL,
         last_lsn = v_lsn, finished_at = aries.now(),
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;

-- Ends an execution FAILED and records the failure; p_step_key / p_attempt name the step whose error
-- it was, if a step's (fail_step recorded the step's own outcome). Idempotent under the same token. Returns the failure's id.
CREATE FUNCTION aries.fail_execution(p_execution_id uuid, p_token bigint, p_error jsonb, p_failure_type text,
                                     p_source text, p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'FAILED');
  v_lsn bigint;
  v_failure uuid;
BEGIN
  IF v.status = 'FAILED' THEN
    SELECT f.failure_id INTO v_failure FROM aries.failures f WHERE f.execution_id = p_execution_id
     ORDER BY f.failure_timestamp DESC LIMIT 1;
    RETURN v_failure;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_failed', NULL, NULL, NULL, p_error);
  INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                              step_key, attempt, error_class, stack, details)
  VALUES (p_execution_id, p_failure_type, coalesce(p_error ->> 'message', 'unknown error'), 'rollback', p_source,
          p_step_key, p_attempt, p_error ->> 'name', p_error ->> 'stack', p_error -> 'details')
  RETURNING failure_id INTO v_failure;
  UPDATE aries.executions e
     SET status = 'FAILED', error = p_error, lease_owner = NULL, lease_expires_at = NULL, last_lsn = v_lsn,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_failure;
END $$;

-- Hands an execution back to the queue (its worker is shutting down): runnable again at once.
CREATE FUNCTION aries.release_execution(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_released', NULL, NULL, NULL, NULL);
  UPDATE aries.executions e
     SET status = 'PENDING', lease_owner = NULL, lease_expires_at = NULL, available_at = aries.now(),
         last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
END $$;

-- The journal of an execution, each record's checksum verified against its contents.
CREATE FUNCTION aries.read_journal(p_execution_id uuid, p_after_lsn bigint DEFAULT NULL)
RETURNS TABLE (lsn bigint, prev_lsn bigint, kind text, seq integer, step_key text, attempt integer,
               payload jsonb, payload_is_null boolean, checksum_ok boolean, created_at timestamptz,
               execution_last_lsn bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT j.lsn, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload, j.payload IS NULL,
         j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                             j.attempt, j.payload),
         j.created_at,
         (SELECT e.last_lsn FROM aries.executions e WHERE e.id = j.execution_id)
    FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND (p_after_lsn IS NULL OR j.lsn > p_after_lsn)
   ORDER BY j.lsn
$$;
