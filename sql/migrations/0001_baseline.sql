-- 0001_baseline: the schema as the four original migrations left it (0001_core, 0002_recovery,
-- 0003_transactions, 0004_operator), each object defined once. A database those migrations built is
-- carried onto this one without change (src/db/legacy-migrations.ts); the catalogs are the same.
--
-- Model
--   workflows    what workers have registered (name, version); start_execution refuses an unknown name.
--   executions   one run of a workflow. Its status is a state machine whose legal transitions are rows of
--                execution_transitions; a trigger refuses any other, and an execution is born PENDING. A
--                worker owns a RUNNING (or COMPENSATING) execution while its lease (lease_expires_at,
--                judged on the database clock) is live; lease_token is the fencing token, incremented on
--                every claim, and every write a worker makes carries it.
--   steps        one row per step key of an execution; (execution_id, step_key) and (execution_id, seq)
--                are unique, so a step cannot be recorded twice. A completed step or compensation is never
--                undone except by a rollback.
--   journal      append-only write-ahead log of an execution: a global monotonic LSN, prev_lsn chaining
--                the records of one execution, and a checksum binding execution, sequence, step key,
--                attempt, kind, prev_lsn and payload. Replay reads step outputs only from here, and only
--                from records whose checksum still matches. It cannot be updated, deleted (except with its
--                execution) or truncated.
--   checkpoints  snapshots that bound recovery: a resuming worker reads the newest checkpoint whose checksum
--                matches and the journal after it, never the history before it. A checkpoint that does not
--                verify is skipped (the previous valid one is used) and recorded as a data failure.
--   failures     recorded, classified errors (TRANSIENT / PERMANENT / PARTIAL → retry / rollback /
--                compensate):
--     retry        a step that failed TRANSIENTLY and has attempts left is RETRYING: its failure is
--                  recorded, and the execution goes back to PENDING with available_at = now + backoff. That
--                  row is the retry's durable timer: a worker claims it when it is due (judged on the
--                  database clock), so a crash during the wait loses nothing and never retries early.
--     rollback     a PERMANENT failure rolls the execution back to its last valid checkpoint: every step
--                  recorded after it becomes ROLLED_BACK (it will run again, with a higher attempt and the
--                  same idempotency key, once an operator recovers the execution), an
--                  execution_rolled_back record is journaled and a checkpoint is taken at it, and the
--                  execution ends FAILED.
--     compensate   a PERMANENT failure after steps with compensations completed leaves the execution
--                  partially applied (PARTIAL): it becomes COMPENSATING and workers run the compensations
--                  of the completed steps in reverse completion order, each journaled, each retried on
--                  TRANSIENT errors, none run again after it completed. The end is COMPENSATED; a
--                  compensation that fails PERMANENTLY ends the execution FAILED, its failures unrecovered
--                  until an operator recovers it.
--   recovery     recover_from_failure(execution, type) resumes a FAILED execution from its last valid
--                checkpoint (or resumes its compensation); auto_recover_failures() does it for failures
--                whose TRANSIENT retries ran out, a bounded number of times per execution.
--   durability   a workflow's choice of synchronous_commit ('off' | 'local' | 'remote_write' | 'on' |
--                'remote_apply', default 'on') for the transactions that record its steps' completions and
--                its end, applied with SET LOCAL; a batch of several executions' writes commits at the
--                strongest class among them. A transactional step (ctx.transaction) commits the user's
--                statements and its completion in one transaction, fenced by the lease token.
--   operators    cancel (→ CANCELLED: the lease ends and the fencing token moves on, so the worker still
--                running it is refused at its next write; steps left RUNNING or RETRYING become FAILED;
--                open failures are settled), keyset pages ordered by (created_at DESC, id DESC) with an
--                index per filter, the overview's counts and statistics, payloads truncated in the database.
--
-- Every function sets search_path = '' and qualifies names, so it behaves the same whatever the caller's
-- search_path (aries.now and aries.journal_checksum excepted, and say why). Errors use SQLSTATEs in
-- class AR (listed in src/db/sqlstate-errors.ts):
--   AR001 execution not found      AR002 lease lost (fencing token no longer current)
--   AR003 illegal transition       AR004 unknown workflow
--   AR005 duplicate step key       AR006 step sequence conflict (nondeterminism)
--   AR007 idempotency key reused for another workflow  AR008 journal record changed or deleted
--   AR009 no unrecovered failure to recover  AR010 the execution is not in a state to recover
--
-- sql/schema/ holds each object in a file of its own, as it is now (after every later migration);
-- test/sql/schema-agreement.test.ts proves the migrations build the same catalog.

CREATE SCHEMA IF NOT EXISTS aries;

-- ---- clock ------------------------------------------------------------------------------------------

-- The database clock: the start of the current transaction (Aries's transactions are short; in a long
-- one this only makes a lease end earlier, never later). Tests may pin it with SET aries.now = '…'.
-- This function and journal_checksum have no SET search_path (unlike every other function here): a SET
-- clause stops PostgreSQL from inlining a SQL function, and both are on the hot path. They name only
-- pg_catalog objects, fully qualified, so the caller's search_path cannot change what they do.
CREATE FUNCTION aries.now() RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(pg_catalog.current_setting('aries.now', true), '')::timestamptz, pg_catalog.now())
$$;

-- ---- workflows --------------------------------------------------------------------------------------

-- What workers have registered (name, version); start_execution refuses an unknown name.
CREATE TABLE aries.workflows (
  name          text NOT NULL,
  version       text NOT NULL,
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (name, version),
  CONSTRAINT workflows_check CHECK (name <> '' AND version <> '')
);

-- ---- executions -------------------------------------------------------------------------------------

-- The statuses an execution can have, and which of them are final.
CREATE TABLE aries.execution_statuses (status text PRIMARY KEY, terminal boolean NOT NULL);
INSERT INTO aries.execution_statuses VALUES
  ('PENDING', false), ('RUNNING', false), ('SLEEPING', false), ('WAITING', false),
  ('COMPLETED', true), ('FAILED', false), ('COMPENSATING', false), ('COMPENSATED', true),
  ('CANCELLED', true);

-- The state machine: its rows are the legal transitions of an execution's status, and the trigger
-- executions_transition_guard refuses any other. src/core/execution-states.ts holds the same table; a
-- test keeps them equal.
CREATE TABLE aries.execution_transitions (
  from_status text NOT NULL REFERENCES aries.execution_statuses (status),
  to_status   text NOT NULL REFERENCES aries.execution_statuses (status),
  PRIMARY KEY (from_status, to_status),
  CONSTRAINT execution_transitions_check CHECK (from_status <> to_status)
);
INSERT INTO aries.execution_transitions VALUES
  ('PENDING', 'RUNNING'), ('PENDING', 'CANCELLED'),
  ('RUNNING', 'PENDING'), ('RUNNING', 'SLEEPING'), ('RUNNING', 'WAITING'), ('RUNNING', 'COMPLETED'),
  ('RUNNING', 'FAILED'), ('RUNNING', 'COMPENSATING'), ('RUNNING', 'CANCELLED'),
  ('SLEEPING', 'RUNNING'), ('SLEEPING', 'CANCELLED'),
  ('WAITING', 'RUNNING'), ('WAITING', 'CANCELLED'),
  -- a failed execution is retried or recovered (PENDING), its compensation resumed, or it is cancelled
  ('FAILED', 'PENDING'), ('FAILED', 'COMPENSATING'), ('FAILED', 'CANCELLED'),
  ('COMPENSATING', 'COMPENSATED'), ('COMPENSATING', 'FAILED'), ('COMPENSATING', 'CANCELLED');

-- One run of a workflow. Its status follows execution_transitions. A worker owns a RUNNING (or
-- COMPENSATING) execution while its lease (lease_expires_at, judged on the database clock) is live;
-- lease_token is the fencing token, incremented on every claim, and every write a worker makes carries
-- it. A RUNNING execution always has an owner, and only RUNNING and COMPENSATING ones keep one; an
-- execution has finished_at exactly when it is final, and an output only when COMPLETED. The
-- constraint names executions_check1 / _check2 are those the first schema gave them, kept so that every
-- database has the same catalog.
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
  CONSTRAINT executions_lease_check CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL)),
  CONSTRAINT executions_running_leased_check CHECK (status <> 'RUNNING' OR lease_owner IS NOT NULL),
  CONSTRAINT executions_leased_status_check CHECK (lease_owner IS NULL OR status IN ('RUNNING', 'COMPENSATING')),
  CONSTRAINT executions_check1 CHECK ((status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED')) = (finished_at IS NOT NULL)),
  CONSTRAINT executions_check2 CHECK (status = 'COMPLETED' OR output IS NULL),
  CONSTRAINT executions_idempotency_key_check CHECK (idempotency_key IS NULL OR idempotency_key <> '')
);
-- The claim query's indexes: runnable work ordered by when it becomes runnable, and leases to reap.
CREATE INDEX executions_runnable_idx ON aries.executions (available_at) WHERE status = 'PENDING';
CREATE INDEX executions_lease_idx ON aries.executions (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX executions_compensating_idx ON aries.executions (available_at) WHERE status = 'COMPENSATING';
-- Keyset pages ordered by (created_at DESC, id DESC), one index per filter (see list pages in src/db).
CREATE INDEX executions_list_idx ON aries.executions (created_at DESC, id DESC);
CREATE INDEX executions_status_idx ON aries.executions (status, created_at DESC, id DESC);
CREATE INDEX executions_workflow_status_idx ON aries.executions (workflow_name, status, created_at DESC, id DESC);
-- Written once per execution (when it finishes): the overview's completed / compensated / cancelled counts.
CREATE INDEX executions_finished_idx ON aries.executions (finished_at) WHERE finished_at IS NOT NULL;

-- Refuses a change of an execution's status that is not a row of execution_transitions (AR003).
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

-- Every change of an execution's status follows execution_transitions.
CREATE TRIGGER executions_transition_guard
  BEFORE UPDATE OF status ON aries.executions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION aries.guard_execution_transition();

-- An execution is born PENDING: every other status is reached through execution_transitions. The WHEN
-- clause keeps the hot path's upserts (which propose PENDING rows) from calling the function.
CREATE FUNCTION aries.refuse_execution_born_running() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'an execution is created PENDING, not % (its other statuses are reached by transitions)', NEW.status
    USING ERRCODE = 'AR003';
END $$;

-- An execution is born PENDING. The WHEN clause keeps the hot path's upserts (which propose PENDING rows)
-- from calling the function.
CREATE TRIGGER executions_born_pending BEFORE INSERT ON aries.executions
  FOR EACH ROW WHEN (NEW.status <> 'PENDING') EXECUTE FUNCTION aries.refuse_execution_born_running();

-- ---- steps ------------------------------------------------------------------------------------------

-- One row per step key of an execution: (execution_id, step_key) and (execution_id, seq) are unique, so
-- a step cannot be recorded twice nor two steps at one position. A step's output record and completion
-- time exist exactly when it is COMPLETED; a compensation is recorded only for a completed step.
CREATE TABLE aries.steps (
  execution_id  uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  step_key      text NOT NULL CHECK (step_key <> ''),
  seq           integer NOT NULL,
  status        text NOT NULL,
  attempt       integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  output_lsn    bigint,
  error         jsonb,
  started_at    timestamptz NOT NULL DEFAULT aries.now(),
  completed_at  timestamptz,
  -- attempt - attempt_base is how many attempts the current retry budget has used; recovery resets it.
  attempt_base  integer NOT NULL DEFAULT 0,
  compensation_status       text CHECK (compensation_status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING')),
  compensation_attempt      integer NOT NULL DEFAULT 0,
  compensation_attempt_base integer NOT NULL DEFAULT 0,
  compensation_error        jsonb,
  compensated_at            timestamptz,
  PRIMARY KEY (execution_id, step_key),
  UNIQUE (execution_id, seq),
  CONSTRAINT steps_status_check CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'RETRYING', 'ROLLED_BACK')),
  -- recovery parks ROLLED_BACK rows at negative positions, so that they hold none
  CONSTRAINT steps_seq_check CHECK (seq >= 0 OR status = 'ROLLED_BACK'),
  CONSTRAINT steps_output_check CHECK ((status = 'COMPLETED') = (output_lsn IS NOT NULL)),
  CONSTRAINT steps_completed_at_check CHECK ((status = 'COMPLETED') = (completed_at IS NOT NULL)),
  CONSTRAINT steps_compensated_check CHECK (compensation_status IS NULL OR status = 'COMPLETED')
);

-- A completed step never becomes runnable again, except by a rollback to a checkpoint (ROLLED_BACK); a
-- completed compensation never runs again, except when its step is rolled back with it.
CREATE FUNCTION aries.refuse_step_undone() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK') THEN
    RAISE EXCEPTION 'step "%" of execution % is COMPLETED: it cannot become % (only a rollback voids it)',
      OLD.step_key, OLD.execution_id, NEW.status USING ERRCODE = 'AR003';
  END IF;
  RAISE EXCEPTION 'the compensation of step "%" of execution % completed: it cannot become %', OLD.step_key,
    OLD.execution_id, coalesce(NEW.compensation_status, 'NULL') USING ERRCODE = 'AR003';
END $$;

-- A completed step never becomes runnable again, except by a rollback to a checkpoint (ROLLED_BACK); a
-- completed compensation never runs again, except when its step is rolled back with it.
CREATE TRIGGER steps_completed_guard BEFORE UPDATE OF status, compensation_status ON aries.steps
  FOR EACH ROW WHEN ((OLD.status = 'COMPLETED' AND NEW.status NOT IN ('COMPLETED', 'ROLLED_BACK'))
                     OR (OLD.compensation_status = 'COMPLETED' AND NEW.compensation_status IS DISTINCT FROM 'COMPLETED'
                         AND NEW.status <> 'ROLLED_BACK'))
  EXECUTE FUNCTION aries.refuse_step_undone();

-- ---- journal ----------------------------------------------------------------------------------------

-- The journal's log sequence numbers: global and monotonic (a rolled-back transaction leaves a gap, never
-- a reuse).
CREATE SEQUENCE aries.journal_lsn_seq;

-- The append-only write-ahead log of an execution: a global monotonic LSN, prev_lsn chaining the records
-- of one execution, and a checksum binding execution, sequence, step key, attempt, kind, prev_lsn and
-- payload. Replay reads step outputs only from records whose checksum still matches. A record names a
-- whole step (key, position, attempt) or none of it; step and compensation records name one.
CREATE TABLE aries.journal (
  lsn          bigint PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES aries.executions (id) ON DELETE CASCADE,
  prev_lsn     bigint,
  kind         text NOT NULL,
  seq          integer,
  step_key     text,
  attempt      integer,
  payload      jsonb,
  checksum     text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT aries.now(),
  CONSTRAINT journal_check CHECK (prev_lsn IS NULL OR prev_lsn < lsn),
  CONSTRAINT journal_kind_check CHECK (kind IN (
    'execution_started', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
    'execution_completed', 'execution_failed', 'execution_released', 'execution_rolled_back',
    'execution_recovered', 'execution_compensating', 'compensation_started', 'compensation_completed',
    'compensation_failed', 'compensation_retrying', 'execution_compensated', 'execution_cancelled')),
  CONSTRAINT journal_step_fields_check CHECK (
    (kind LIKE 'step_%' OR kind LIKE 'compensation_%') = (step_key IS NOT NULL AND seq IS NOT NULL AND attempt IS NOT NULL)),
  CONSTRAINT journal_step_fields_whole_check CHECK (pg_catalog.num_nulls(step_key, seq, attempt) IN (0, 3))
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

-- A journal record is never updated, and deleted only with its execution. Operators and tests may still
-- corrupt a row deliberately after disabling this trigger; replay then detects it by its checksum, the
-- prev-LSN chain and executions.last_lsn.
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON aries.journal
  FOR EACH ROW EXECUTE FUNCTION aries.refuse_journal_change();

-- TRUNCATE fires no row trigger: refuse it for the journal by a statement trigger (deleting executions
-- removes their journal by cascade; a TRUNCATE of the journal would orphan every step's output).
CREATE FUNCTION aries.refuse_journal_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (truncate)' USING ERRCODE = 'AR008';
END $$;

-- TRUNCATE fires no row trigger: the journal refuses it by a statement trigger.
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON aries.journal
  FOR EACH STATEMENT EXECUTE FUNCTION aries.refuse_journal_truncate();

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

-- ---- checkpoints ------------------------------------------------------------------------------------

-- Snapshots that bound recovery: a resuming worker reads the newest checkpoint whose checksum
-- (checkpoint_checksum) matches and the journal after it, never the history before it.
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

-- A checkpoint's checksum binds it to its execution and LSN (apply_step_requests computes the same).
CREATE FUNCTION aries.checkpoint_checksum(p_execution_id uuid, p_lsn bigint, p_state jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_catalog.md5(p_execution_id::text || ':' || p_lsn::text || ':' || p_state::text)
$$;

-- The newest checkpoint of an execution that verifies (checksum, and within its journal), or no row when
-- none does (recovery then starts from the execution's start). Newer checkpoints that do not verify are
-- skipped; the first time one is met, a data failure is recorded for it (recovered: the previous
-- checkpoint is used instead). Reads one row when the newest checkpoint is valid.
CREATE FUNCTION aries.recovery_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL)
RETURNS TABLE (checkpoint_id uuid, lsn bigint, state_data jsonb)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_last bigint;
  c record;
BEGIN
  SELECT e.last_lsn INTO v_last FROM aries.executions e WHERE e.id = p_execution_id;
  FOR c IN SELECT k.checkpoint_id, k.lsn, k.state_data,
                  k.checksum = aries.checkpoint_checksum(k.execution_id, k.lsn, k.state_data) AND k.lsn <= v_last AS ok
             FROM aries.checkpoints k
            WHERE k.execution_id = p_execution_id AND (p_before_lsn IS NULL OR k.lsn < p_before_lsn)
            ORDER BY k.lsn DESC LOOP
    IF c.ok THEN
      checkpoint_id := c.checkpoint_id;
      lsn := c.lsn;
      state_data := c.state_data;
      RETURN NEXT;
      RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM aries.failures f
                    WHERE f.execution_id = p_execution_id AND f.source = 'data'
                      AND f.details ->> 'corrupt_checkpoint_id' = c.checkpoint_id::text) THEN
      INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                                  error_class, details, recovered, recovered_at, recovered_by)
      VALUES (p_execution_id, 'PERMANENT',
              pg_catalog.format('checkpoint %s (lsn %s) of execution %s does not match its checksum; recovery fell back to the previous valid checkpoint',
                                c.checkpoint_id, c.lsn, p_execution_id),
              'rollback', 'data', 'CheckpointCorruptError',
              pg_catalog.jsonb_build_object('corrupt_checkpoint_id', c.checkpoint_id, 'lsn', c.lsn),
              true, aries.now(), 'worker');
    END IF;
  END LOOP;
END $$;

-- ---- failures ---------------------------------------------------------------------------------------

-- Recorded, classified errors (TRANSIENT / PERMANENT / PARTIAL) and how each was or will be recovered.
-- A failure is recovered exactly when recovered_at is set.
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
  details           jsonb,
  -- A TRANSIENT error whose retry policy ran out is recorded PERMANENT (or PARTIAL) with this set.
  retries_exhausted boolean NOT NULL DEFAULT false,
  -- The checkpoint the execution was rolled back to (NULL: its start).
  checkpoint_id     uuid,
  recovered_at      timestamptz,
  recovered_by      text CHECK (recovered_by IN ('worker', 'operator', 'sweep', 'cancel')),
  CONSTRAINT failures_recovered_check CHECK (recovered = (recovered_at IS NOT NULL))
);
CREATE INDEX failures_execution_idx ON aries.failures (execution_id, failure_timestamp DESC);
CREATE INDEX failures_unrecovered_idx ON aries.failures (failure_timestamp) WHERE NOT recovered;
CREATE INDEX failures_unrecovered_execution_idx ON aries.failures (execution_id) WHERE NOT recovered;
-- Failures newest first across all executions (the failures view and the overview's failure counts).
CREATE INDEX failures_time_idx ON aries.failures (failure_timestamp DESC, failure_id DESC);

-- Records a failure from a stored error (its message, class and stack); returns its id.
CREATE FUNCTION aries.record_failure(p_execution_id uuid, p_failure_type text, p_strategy text, p_source text,
                                     p_error jsonb, p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                     p_details jsonb DEFAULT NULL, p_retries_exhausted boolean DEFAULT false,
                                     p_checkpoint_id uuid DEFAULT NULL)
RETURNS uuid LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source, step_key,
                              attempt, error_class, stack, details, retries_exhausted, checkpoint_id)
  VALUES (p_execution_id, p_failure_type, coalesce(p_error ->> 'message', 'unknown error'), p_strategy, p_source,
          p_step_key, p_attempt, p_error ->> 'name', p_error ->> 'stack', coalesce(p_details, p_error -> 'details'),
          p_retries_exhausted, p_checkpoint_id)
  RETURNING failure_id
$$;

-- Failures, newest first, for operators and the CLI.
CREATE FUNCTION aries.list_failures(p_execution_id uuid DEFAULT NULL, p_unrecovered_only boolean DEFAULT false,
                                    p_limit integer DEFAULT 100)
RETURNS SETOF aries.failures LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT * FROM aries.failures f
   WHERE (p_execution_id IS NULL OR f.execution_id = p_execution_id) AND (NOT p_unrecovered_only OR NOT f.recovered)
   ORDER BY f.failure_timestamp DESC, f.failure_id
   LIMIT p_limit
$$;

-- ---- workflows --------------------------------------------------------------------------------------

-- Records that a worker serves workflow p_name version p_version; registering it again refreshes
-- last_seen_at.
CREATE FUNCTION aries.register_workflow(p_name text, p_version text) RETURNS void
LANGUAGE sql SET search_path = '' AS $$
  INSERT INTO aries.workflows (name, version) VALUES (p_name, p_version)
  ON CONFLICT (name, version) DO UPDATE SET last_seen_at = pg_catalog.now()
$$;

-- ---- executions -------------------------------------------------------------------------------------

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

-- ---- leases -----------------------------------------------------------------------------------------

-- Claims up to p_limit runnable executions of the given workflows ("name@version" keys) for a worker:
-- RUNNING ones whose lease expired (their worker is presumed dead) first, then COMPENSATING ones that are
-- due or whose lease expired (they stay COMPENSATING; `compensating` tells the worker to run
-- compensations), then PENDING ones that are due. p_running lists what the claiming worker is running
-- itself: a lease of its own that expired because the worker stalled (a CPU-bound step) is not taken again
-- while its run is still going. Each claim increments the fencing token; a claim of an expired lease
-- records the node fault it recovers from, and a claim marks the TRANSIENT failures it retries recovered.
-- Run at READ COMMITTED: SKIP LOCKED keeps concurrent claimers apart, and under SERIALIZABLE the skipped
-- rows' predicate locks would cause 40001 storms.
CREATE FUNCTION aries.claim_executions(p_worker text, p_workflow_keys text[], p_limit integer,
                                       p_lease_ms integer, p_running uuid[] DEFAULT '{}')
RETURNS TABLE (id uuid, workflow_name text, workflow_version text, input jsonb, lease_token bigint,
               claim_count integer, resumed boolean, compensating boolean)
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  RETURN QUERY
  WITH expired AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'RUNNING' AND e.lease_expires_at < v_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.lease_expires_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), compensating AS (
    SELECT e.id, e.lease_owner AS old_owner, e.lease_expires_at AS expired_at FROM aries.executions e
     WHERE e.status = 'COMPENSATING'
       AND ((e.lease_owner IS NULL AND e.available_at <= v_now) OR e.lease_expires_at < v_now)
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), due AS (
    -- Not one the worker is still running: a retry due at once, or a hand-back, can become PENDING
    -- before the run that wrote it has returned.
    SELECT e.id FROM aries.executions e
     WHERE e.status = 'PENDING' AND e.available_at <= v_now
       AND (e.workflow_name || '@' || e.workflow_version) = ANY (p_workflow_keys)
       AND NOT (e.id = ANY (p_running))
     ORDER BY e.available_at LIMIT p_limit
       FOR UPDATE SKIP LOCKED
  ), chosen AS (
    SELECT x.id, x.old_owner, x.expired_at FROM expired x
    UNION ALL
    SELECT c.id, c.old_owner, c.expired_at FROM compensating c
    UNION ALL
    SELECT d.id, NULL, NULL FROM due d
    LIMIT p_limit
  ), node_faults AS (
    INSERT INTO aries.failures (execution_id, failure_type, failure_message, recovery_strategy, source,
                                details, recovered, recovered_at, recovered_by)
    SELECT c.id, 'TRANSIENT',
           pg_catalog.format('worker %s stopped renewing its lease (it expired at %s); the execution was resumed by worker %s',
                             c.old_owner, c.expired_at, p_worker),
           'retry', 'node', pg_catalog.jsonb_build_object('worker', c.old_owner, 'lease_expired_at', c.expired_at),
           true, v_now, 'worker'
      FROM chosen c WHERE c.old_owner IS NOT NULL
  ), retried AS (
    UPDATE aries.failures f SET recovered = true, recovered_at = v_now, recovered_by = 'worker'
      FROM chosen c
     WHERE f.execution_id = c.id AND NOT f.recovered AND f.failure_type = 'TRANSIENT'
  )
  UPDATE aries.executions e
     SET status = CASE WHEN e.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'RUNNING' END,
         lease_owner = p_worker, lease_token = e.lease_token + 1,
         lease_expires_at = v_now + p_lease_ms * interval '1 millisecond',
         claim_count = e.claim_count + 1, started_at = coalesce(e.started_at, v_now), updated_at = v_now
    FROM chosen c
   WHERE e.id = c.id
  RETURNING e.id, e.workflow_name, e.workflow_version, e.input, e.lease_token, e.claim_count,
            c.expired_at IS NOT NULL, e.status = 'COMPENSATING';
END $$;

-- Renews the leases a worker holds, of RUNNING and COMPENSATING executions; returns the executions it still
-- owns (anything missing was lost). A lease whose row is locked by the worker's own transactional step (its
-- fence holds the row until the step commits) is reported held without waiting for it: the heartbeat never
-- queues behind a step, and no other worker can claim a locked row (claims skip locked rows). Such a lease
-- is extended by the next heartbeat after the step commits. SKIP LOCKED: a renewal never waits for a row.
-- Rows are locked in id order, as record_steps_batch locks them, so the two never deadlock.
CREATE FUNCTION aries.renew_leases(p_worker text, p_ids uuid[], p_tokens bigint[], p_lease_ms integer)
RETURNS TABLE (id uuid) LANGUAGE sql SET search_path = '' AS $$
  WITH held AS (
    SELECT e.id FROM aries.executions e
      JOIN ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_tokens)) AS h(id, token) ON e.id = h.id
     WHERE e.id = ANY (p_ids) AND e.lease_token = h.token AND e.lease_owner = p_worker
       AND e.status IN ('RUNNING', 'COMPENSATING')
  ), lockable AS (
    SELECT e.id FROM aries.executions e
     WHERE e.id IN (SELECT held.id FROM held)
     ORDER BY e.id
       FOR UPDATE OF e SKIP LOCKED
  ), renewed AS (
    UPDATE aries.executions e
       SET lease_expires_at = aries.now() + p_lease_ms * interval '1 millisecond'
      FROM lockable
     WHERE e.id = lockable.id
       AND e.lease_owner = p_worker AND e.status IN ('RUNNING', 'COMPENSATING')
    RETURNING e.id
  )
  SELECT held.id FROM held
$$;

-- Locks an execution for a write by the worker holding fencing token p_token, or raises AR001 if it
-- does not exist and AR002 if the token is no longer current (another worker claimed it since) or the
-- execution left RUNNING under another token. A COMPENSATING execution is owned like a RUNNING one.
-- p_done_status names the status an idempotent repeat of the caller's own transition would find: then
-- the row is returned as it is and the caller does nothing.
CREATE FUNCTION aries.lock_owned_execution(p_execution_id uuid, p_token bigint, p_done_status text DEFAULT NULL)
RETURNS aries.executions LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_token = p_token
     AND ((v.status IN ('RUNNING', 'COMPENSATING') AND v.lease_owner IS NOT NULL) OR v.status = p_done_status) THEN
    RETURN v;
  END IF;
  RAISE EXCEPTION 'lease on execution % lost: fencing token % is not current (current token %, status %)',
    p_execution_id, p_token, v.lease_token, v.status USING ERRCODE = 'AR002';
END $$;

-- Hands an execution back to the queue (its worker is shutting down): runnable again at once. A
-- COMPENSATING execution handed back stays COMPENSATING.
CREATE FUNCTION aries.release_execution(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' OR v.lease_owner IS NULL THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_released', NULL, NULL, NULL, NULL);
  UPDATE aries.executions e
     SET status = CASE WHEN v.status = 'COMPENSATING' THEN 'COMPENSATING' ELSE 'PENDING' END,
         lease_owner = NULL, lease_expires_at = NULL, available_at = aries.now(),
         last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
END $$;

-- ---- durability -------------------------------------------------------------------------------------

-- The durability classes in order of strength (a batch commits at its strongest): off < local <
-- remote_write < on < remote_apply; NULL for an unknown class.
CREATE FUNCTION aries.durability_rank(p_class text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_class WHEN 'off' THEN 0 WHEN 'local' THEN 1 WHEN 'remote_write' THEN 2 WHEN 'on' THEN 3
                      WHEN 'remote_apply' THEN 4 END
$$;

-- Applies a durability class to the current transaction (read at its COMMIT), or refuses an unknown one.
CREATE FUNCTION aries.apply_durability(p_class text) RETURNS void
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF aries.durability_rank(p_class) IS NULL THEN
    RAISE EXCEPTION 'unknown durability class "%": use off, local, remote_write, on or remote_apply', p_class
      USING ERRCODE = '22023';
  END IF;
  PERFORM pg_catalog.set_config('synchronous_commit', p_class, true);
END $$;

-- The server settings that decide whether a commit survives a crash, for the start-up warning.
CREATE FUNCTION aries.durability_settings()
RETURNS TABLE (fsync text, full_page_writes text, synchronous_commit text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.current_setting('fsync'), pg_catalog.current_setting('full_page_writes'),
         pg_catalog.current_setting('synchronous_commit')
$$;

-- ---- steps ------------------------------------------------------------------------------------------

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
--
-- A ROLLED_BACK row (voided by a rollback, parked by recovery) holds no position: its step may start
-- again at whatever position the workflow now reaches it, as its next attempt.
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
      -- A ROLLED_BACK row (voided by a rollback, parked by recovery) holds no position: the step may run
      -- again anywhere, as the next attempt.
      CROSS JOIN LATERAL (SELECT coalesce(p.earlier_seqs[e.same_key], CASE WHEN k.status <> 'ROLLED_BACK' THEN k.seq END) AS seq,
                                 CASE WHEN e.same_key IS NOT NULL THEN 'COMPLETED' ELSE k.status END AS status,
                                 coalesce(p.earlier_attempts[e.same_key], k.attempt) AS attempt) prior
      LEFT JOIN LATERAL (SELECT true AS taken FROM aries.steps s
                          WHERE (prior.status IS NULL OR prior.status = 'ROLLED_BACK') AND p.kind IS NOT NULL
                            AND s.execution_id = p.id AND s.seq = p.seq AND s.step_key <> p.key
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
        WHEN (prior.status IS NULL OR prior.status = 'ROLLED_BACK') AND (e.key_there <> p.key OR t.taken) THEN 'position_taken'
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
       SET status = excluded.status, seq = excluded.seq, attempt = excluded.attempt, output_lsn = excluded.output_lsn,
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

-- ---- durability -------------------------------------------------------------------------------------

-- record_steps_batch committed at durability class p_durability. A batch that only journals
-- intents still commits asynchronously when the server fsyncs (record_steps_batch lowers it to off):
-- losing an intent loses an attempt count, never a completed step.
CREATE FUNCTION aries.record_steps_durably(p_requests jsonb, p_durability text DEFAULT 'on')
RETURNS TABLE (execution_id uuid, attempt integer, error_code text, error_message text)
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  PERFORM aries.apply_durability(p_durability);
  RETURN QUERY SELECT * FROM aries.record_steps_batch(p_requests);
END $$;

-- ---- steps ------------------------------------------------------------------------------------------

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

-- The recorded outcomes of the steps at positions [p_from_seq, p_to_seq): completed steps with their
-- output and whether its journal record verifies (checksum, and bound to this step and attempt), failed
-- steps with their error. Replay reads these by page as the workflow reaches them: the materialized state
-- of the execution, not its history.
CREATE FUNCTION aries.read_step_outcomes(p_execution_id uuid, p_from_seq integer, p_to_seq integer)
RETURNS TABLE (seq integer, step_key text, status text, attempt integer, output_lsn bigint, output jsonb,
               output_is_null boolean, record_found boolean, record_ok boolean, error jsonb, compensation_status text,
               compensation_attempt integer, compensation_attempt_base integer)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.seq, s.step_key, s.status, s.attempt, s.output_lsn, j.payload, j.payload IS NULL, j.lsn IS NOT NULL,
         coalesce(j.execution_id = s.execution_id AND j.kind = 'step_completed' AND j.seq = s.seq
                  AND j.step_key = s.step_key AND j.attempt = s.attempt
                  AND j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key,
                                                          j.attempt, j.payload), false),
         s.error, s.compensation_status, s.compensation_attempt, s.compensation_attempt_base
    FROM aries.steps s
    LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id AND s.seq >= p_from_seq AND s.seq < p_to_seq
     AND s.status IN ('COMPLETED', 'FAILED')
   ORDER BY s.seq
$$;

-- The attempts of a step's current retry budget so far (its attempt minus the attempts before the last
-- recovery), and of its compensation's.
CREATE FUNCTION aries.step_attempts_used(p_execution_id uuid, p_step_key text,
                                         OUT step_attempts integer, OUT compensation_attempts integer)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.attempt - s.attempt_base, s.compensation_attempt - s.compensation_attempt_base
    FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
$$;

-- How many attempts of a step have started in a row with no outcome: its step_started records after its
-- newest step_retrying / step_failed / step_completed record and after the execution's newest recovery or
-- rollback (which give a fresh budget). A worker that dies during a step leaves exactly such an intent, so
-- this is the length of a crash loop; the attempt being started counts. Read only when an attempt number
-- passes maxAttempts (rare): it scans the execution's journal.
CREATE FUNCTION aries.step_crash_streak(p_execution_id uuid, p_step_key text) RETURNS integer
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT pg_catalog.count(*)::integer FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND j.step_key = p_step_key AND j.kind = 'step_started'
     AND j.lsn > coalesce((SELECT pg_catalog.max(r.lsn) FROM aries.journal r
                            WHERE r.execution_id = p_execution_id
                              AND ((r.step_key = p_step_key AND r.kind IN ('step_retrying', 'step_failed', 'step_completed'))
                                   OR r.kind IN ('execution_recovered', 'execution_rolled_back'))), 0)
$$;

-- ---- executions -------------------------------------------------------------------------------------

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

-- ---- recovery ---------------------------------------------------------------------------------------

-- Records a TRANSIENT failure of a step's attempt and schedules its retry: the step is RETRYING, the
-- failure is recorded (strategy retry), and the execution is PENDING until now + p_delay_ms: that row is
-- the durable timer. Completions of other steps must have been recorded first. Idempotent under the same
-- token. Returns when the retry is due.
CREATE FUNCTION aries.retry_step(p_execution_id uuid, p_token bigint, p_seq integer, p_step_key text,
                                 p_attempt integer, p_error jsonb, p_delay_ms integer, p_source text)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'PENDING');
  v_at timestamptz := aries.now() + GREATEST(p_delay_ms, 0) * interval '1 millisecond';
  v_lsn bigint;
BEGIN
  IF v.status = 'PENDING' THEN
    RETURN v.available_at;
  END IF;
  IF v.status <> 'RUNNING' THEN
    RAISE EXCEPTION 'execution % is %, not RUNNING: its steps are not retried', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM aries.steps s WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key
                    AND s.seq = p_seq AND s.attempt = p_attempt AND s.status = 'RUNNING') THEN
    RAISE EXCEPTION 'step "%" of execution % is not running attempt % at position %', p_step_key, p_execution_id,
      p_attempt, p_seq USING ERRCODE = 'AR005';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'step_retrying', p_seq, p_step_key, p_attempt,
             pg_catalog.jsonb_build_object('error', p_error, 'delay_ms', p_delay_ms, 'retry_at', v_at));
  UPDATE aries.steps s SET status = 'RETRYING', error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  PERFORM aries.record_failure(p_execution_id, 'TRANSIENT', 'retry', p_source, p_error, p_step_key, p_attempt,
    pg_catalog.jsonb_build_object('retry_at', v_at, 'delay_ms', p_delay_ms, 'error', p_error -> 'details'));
  UPDATE aries.executions e
     SET status = 'PENDING', lease_owner = NULL, lease_expires_at = NULL, available_at = v_at, last_lsn = v_lsn,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_at;
END $$;

-- Rolls a RUNNING execution back to its last valid checkpoint (before p_before_lsn if given): every step
-- not recorded by then becomes ROLLED_BACK, an execution_rolled_back record lists them, and a checkpoint
-- is taken at that record with the state of the one rolled back to, so that later recovery starts after
-- it and never reads the records it voided. Returns the checkpoint rolled back to (NULL: the start).
CREATE FUNCTION aries.rollback_to_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_checkpoint record;
  v_keys jsonb;
  v_state jsonb;
  v_lsn bigint;
  v_completed integer;
BEGIN
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id, p_before_lsn);
  WITH voided AS (
    UPDATE aries.steps s
       SET status = 'ROLLED_BACK', output_lsn = NULL, completed_at = NULL, compensation_status = NULL
     WHERE s.execution_id = p_execution_id AND s.status <> 'ROLLED_BACK'
       AND (v_checkpoint.lsn IS NULL
            OR s.status IN ('RUNNING', 'RETRYING')
            OR (s.status = 'COMPLETED' AND s.output_lsn > v_checkpoint.lsn)
            -- a failure the workflow caught before the checkpoint is part of its state; a later one is not
            OR (s.status = 'FAILED' AND EXISTS (SELECT 1 FROM aries.journal j
                                                 WHERE j.execution_id = s.execution_id AND j.lsn > v_checkpoint.lsn
                                                   AND j.kind = 'step_failed' AND j.step_key = s.step_key)))
    RETURNING s.step_key, s.seq
  )
  SELECT coalesce(pg_catalog.jsonb_agg(voided.step_key ORDER BY voided.seq), '[]'::jsonb) INTO v_keys FROM voided;
  SELECT pg_catalog.count(*) INTO v_completed FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.status = 'COMPLETED';
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
             'execution_rolled_back', NULL, NULL, NULL,
             pg_catalog.jsonb_build_object('checkpoint_id', v_checkpoint.checkpoint_id,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'rolled_back', v_keys));
  v_state := coalesce(v_checkpoint.state_data, pg_catalog.jsonb_build_object('completed_steps', 0));
  INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum)
  VALUES (p_execution_id, v_lsn, v_state,
          pg_catalog.jsonb_build_object('completed', v_completed, 'rolled_back_to', v_checkpoint.checkpoint_id),
          aries.checkpoint_checksum(p_execution_id, v_lsn, v_state));
  UPDATE aries.executions e SET last_lsn = v_lsn, step_count = v_completed, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_checkpoint.checkpoint_id;
END $$;

-- ---- executions -------------------------------------------------------------------------------------

-- Ends an execution FAILED and records the failure. From RUNNING (a PERMANENT failure) the execution is
-- first rolled back to its last valid checkpoint (before p_rollback_before_lsn if given: a corrupt record
-- is not a valid state to return to); from COMPENSATING (a compensation failed PERMANENTLY: PARTIAL) it is
-- left as its compensations left it. p_step_key / p_attempt name the step whose error it was. Idempotent
-- under the same token. Returns the failure's id.
CREATE FUNCTION aries.fail_execution(p_execution_id uuid, p_token bigint, p_error jsonb, p_failure_type text,
                                     p_source text, p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                     p_retries_exhausted boolean DEFAULT false, p_rollback_before_lsn bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'FAILED');
  v_checkpoint uuid;
  v_lsn bigint;
  v_failure uuid;
BEGIN
  IF v.status = 'FAILED' THEN
    SELECT f.failure_id INTO v_failure FROM aries.failures f WHERE f.execution_id = p_execution_id
     ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
    RETURN v_failure;
  END IF;
  IF v.status = 'RUNNING' THEN
    v_checkpoint := aries.rollback_to_checkpoint(p_execution_id, p_rollback_before_lsn);
  END IF;
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                'execution_failed', NULL, NULL, NULL, p_error);
  v_failure := aries.record_failure(p_execution_id, p_failure_type,
    CASE WHEN v.status = 'COMPENSATING' THEN 'compensate' ELSE 'rollback' END, p_source, p_error, p_step_key,
    p_attempt, NULL, p_retries_exhausted, v_checkpoint);
  UPDATE aries.executions e
     SET status = 'FAILED', error = p_error, lease_owner = NULL, lease_expires_at = NULL, last_lsn = v_lsn,
         updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_failure;
END $$;

-- ---- compensation -----------------------------------------------------------------------------------

-- A RUNNING execution whose failure left it partially applied becomes COMPENSATING (its worker keeps
-- the lease and runs the compensations). The failure is recorded PARTIAL, strategy compensate; it is
-- recovered when the compensations complete. Idempotent under the same token. Returns the failure's id.
CREATE FUNCTION aries.begin_compensation(p_execution_id uuid, p_token bigint, p_error jsonb, p_source text,
                                         p_step_key text DEFAULT NULL, p_attempt integer DEFAULT NULL,
                                         p_retries_exhausted boolean DEFAULT false)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_lsn bigint;
  v_failure uuid;
BEGIN
  IF v.status = 'COMPENSATING' THEN
    SELECT f.failure_id INTO v_failure FROM aries.failures f
     WHERE f.execution_id = p_execution_id AND f.failure_type = 'PARTIAL'
     ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
    RETURN v_failure;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_compensating', NULL, NULL, NULL, p_error);
  v_failure := aries.record_failure(p_execution_id, 'PARTIAL', 'compensate', p_source, p_error, p_step_key,
    p_attempt, NULL, p_retries_exhausted);
  UPDATE aries.executions e
     SET status = 'COMPENSATING', error = p_error, last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_failure;
END $$;

-- Locks a COMPENSATING execution owned under p_token and the completed step p_step_key of it.
CREATE FUNCTION aries.lock_compensation(p_execution_id uuid, p_token bigint, p_step_key text)
RETURNS aries.steps LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token);
  v_step aries.steps;
BEGIN
  IF v.status <> 'COMPENSATING' THEN
    RAISE EXCEPTION 'execution % is %, not COMPENSATING', p_execution_id, v.status USING ERRCODE = 'AR003';
  END IF;
  SELECT * INTO v_step FROM aries.steps s
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key FOR UPDATE;
  IF NOT FOUND OR v_step.status <> 'COMPLETED' THEN
    RAISE EXCEPTION 'step "%" of execution % has not completed: there is nothing to compensate', p_step_key,
      p_execution_id USING ERRCODE = 'AR005';
  END IF;
  RETURN v_step;
END $$;

-- Journals one event of a step's compensation: 'started' (returns the compensation's attempt), then
-- 'completed' (with the compensation's result) or 'failed' (with its error). A compensation that
-- completed is never started again (AR005); repeating the same attempt's completion is a no-op.
CREATE FUNCTION aries.record_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_event text,
                                          p_attempt integer DEFAULT NULL, p_payload jsonb DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_step aries.steps := aries.lock_compensation(p_execution_id, p_token, p_step_key);
  v_attempt integer;
  v_lsn bigint;
BEGIN
  IF v_step.compensation_status = 'COMPLETED' THEN
    IF p_event = 'completed' AND v_step.compensation_attempt = p_attempt THEN
      RETURN p_attempt;
    END IF;
    RAISE EXCEPTION 'the compensation of step "%" of execution % already completed (attempt %)', p_step_key,
      p_execution_id, v_step.compensation_attempt USING ERRCODE = 'AR005';
  END IF;
  v_attempt := CASE p_event WHEN 'started' THEN v_step.compensation_attempt + 1 ELSE p_attempt END;
  IF p_event NOT IN ('started', 'completed', 'failed') OR v_attempt IS NULL THEN
    RAISE EXCEPTION 'record_compensation: unknown event "%" or no attempt', p_event USING ERRCODE = '22023';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
                                'compensation_' || p_event, v_step.seq, p_step_key, v_attempt, p_payload);
  UPDATE aries.steps s
     SET compensation_status = CASE p_event WHEN 'started' THEN 'RUNNING' WHEN 'completed' THEN 'COMPLETED' ELSE 'FAILED' END,
         compensation_attempt = v_attempt,
         compensation_error = CASE p_event WHEN 'failed' THEN p_payload END,
         compensated_at = CASE p_event WHEN 'completed' THEN aries.now() END
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  UPDATE aries.executions e SET last_lsn = v_lsn, updated_at = aries.now() WHERE e.id = p_execution_id;
  RETURN v_attempt;
END $$;

-- A compensation's attempt failed TRANSIENTLY with attempts left: it is RETRYING, the failure is recorded,
-- and the execution (still COMPENSATING) waits unleased until now + p_delay_ms. Returns when it is due.
CREATE FUNCTION aries.retry_compensation(p_execution_id uuid, p_token bigint, p_step_key text, p_attempt integer,
                                         p_error jsonb, p_delay_ms integer, p_source text)
RETURNS timestamptz LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_step aries.steps := aries.lock_compensation(p_execution_id, p_token, p_step_key);
  v_at timestamptz := aries.now() + GREATEST(p_delay_ms, 0) * interval '1 millisecond';
  v_lsn bigint;
BEGIN
  v_lsn := aries.append_journal(p_execution_id, (SELECT e.last_lsn FROM aries.executions e WHERE e.id = p_execution_id),
             'compensation_retrying', v_step.seq, p_step_key, p_attempt,
             pg_catalog.jsonb_build_object('error', p_error, 'delay_ms', p_delay_ms, 'retry_at', v_at));
  UPDATE aries.steps s SET compensation_status = 'RETRYING', compensation_error = p_error
   WHERE s.execution_id = p_execution_id AND s.step_key = p_step_key;
  PERFORM aries.record_failure(p_execution_id, 'TRANSIENT', 'retry', p_source, p_error, p_step_key, p_attempt,
    pg_catalog.jsonb_build_object('compensation', true, 'retry_at', v_at, 'delay_ms', p_delay_ms));
  UPDATE aries.executions e
     SET lease_owner = NULL, lease_expires_at = NULL, available_at = v_at, last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_at;
END $$;

-- Every compensation ran: the execution is COMPENSATED and its PARTIAL failure recovered. Idempotent.
CREATE FUNCTION aries.finish_compensation(p_execution_id uuid, p_token bigint)
RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions := aries.lock_owned_execution(p_execution_id, p_token, 'COMPENSATED');
  v_lsn bigint;
BEGIN
  IF v.status = 'COMPENSATED' THEN
    RETURN;
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_compensated', NULL, NULL, NULL, NULL);
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'worker'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND f.recovery_strategy = 'compensate';
  UPDATE aries.executions e
     SET status = 'COMPENSATED', lease_owner = NULL, lease_expires_at = NULL, last_lsn = v_lsn,
         finished_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id;
END $$;

-- ---- recovery ---------------------------------------------------------------------------------------

-- Recovers an execution from its newest unrecovered failure (of p_failure_type, if given) and returns
-- the checkpoint it continues from (NULL: its start):
--   FAILED after a rollback (PERMANENT)  → PENDING: a worker resumes it from that checkpoint, with a fresh
--                                          retry budget for the steps that run again
--   FAILED in compensation (PARTIAL)     → COMPENSATING: the remaining compensations run again (completed
--                                          ones are not)
--   waiting for a retry (TRANSIENT)      → due now
-- The failures it settles are then marked recovered (all of a FAILED execution's; a waiting retry's
-- TRANSIENT ones). AR009 when there is none.
CREATE FUNCTION aries.recover_from_failure(p_execution_id uuid, p_failure_type text DEFAULT NULL,
                                           p_recovered_by text DEFAULT 'operator')
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_failure aries.failures;
  v_checkpoint record;
  v_resumed_from uuid;
  v_lsn bigint;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.lease_owner IS NOT NULL THEN
    RAISE EXCEPTION 'execution % is % under the lease of worker %: it is being run, there is nothing to recover now',
      p_execution_id, v.status, v.lease_owner USING ERRCODE = 'AR010';
  END IF;
  SELECT * INTO v_failure FROM aries.failures f
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND (p_failure_type IS NULL OR f.failure_type = p_failure_type)
   ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % has no unrecovered%failure', p_execution_id,
      CASE WHEN p_failure_type IS NULL THEN ' ' ELSE ' ' || p_failure_type || ' ' END
      USING ERRCODE = 'AR009', HINT = 'aries failures lists what is recorded';
  END IF;
  IF v.status NOT IN ('FAILED', 'PENDING', 'COMPENSATING') THEN
    RAISE EXCEPTION 'execution % is %: there is nothing to recover', p_execution_id, v.status USING ERRCODE = 'AR010';
  END IF;
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id);
  -- A checkpoint a rollback took stands for the one it rolled back to: report that one (NULL: the start).
  SELECT CASE WHEN k.step_progress ? 'rolled_back_to' THEN (k.step_progress ->> 'rolled_back_to')::uuid
              ELSE k.checkpoint_id END
    INTO v_resumed_from FROM aries.checkpoints k WHERE k.checkpoint_id = v_checkpoint.checkpoint_id;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_recovered', NULL, NULL, NULL,
             pg_catalog.jsonb_build_object('failure_id', v_failure.failure_id, 'failure_type', v_failure.failure_type,
                                           'checkpoint_id', v_resumed_from,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'by', p_recovered_by));
  IF v.status = 'FAILED' AND v_failure.recovery_strategy = 'compensate' THEN
    UPDATE aries.steps s SET compensation_attempt_base = s.compensation_attempt,
                             compensation_status = CASE WHEN s.compensation_status = 'COMPLETED' THEN 'COMPLETED' END
     WHERE s.execution_id = p_execution_id AND s.compensation_status IS NOT NULL;
  ELSIF v.status = 'FAILED' THEN
    UPDATE aries.steps s SET attempt_base = s.attempt
     WHERE s.execution_id = p_execution_id AND s.status <> 'COMPLETED';
    -- Voided steps give up their positions (parked below every position already parked): the resumed run
    -- may reach them elsewhere, or not at all.
    UPDATE aries.steps s
       SET seq = -1 - s.seq - coalesce((SELECT pg_catalog.max(-x.seq) FROM aries.steps x
                                         WHERE x.execution_id = p_execution_id AND x.seq < 0), 0)
     WHERE s.execution_id = p_execution_id AND s.status = 'ROLLED_BACK' AND s.seq >= 0;
  END IF;
  UPDATE aries.executions e
     SET status = CASE WHEN v.status = 'FAILED' AND v_failure.recovery_strategy = 'compensate' THEN 'COMPENSATING'
                       WHEN v.status = 'FAILED' THEN 'PENDING' ELSE v.status END,
         error = CASE WHEN v.status = 'FAILED' AND v_failure.recovery_strategy <> 'compensate' THEN NULL ELSE e.error END,
         available_at = aries.now(), last_lsn = v_lsn, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  -- A FAILED execution's failures are all settled by its recovery; a waiting retry's, only the TRANSIENT ones.
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = p_recovered_by
   WHERE f.execution_id = p_execution_id AND NOT f.recovered AND (v.status = 'FAILED' OR f.failure_type = 'TRANSIENT');
  PERFORM pg_catalog.pg_notify('aries_wakeup', v.workflow_name);
  RETURN v_resumed_from;
END $$;

-- The automatic recovery sweep (workers run it on a schedule; pg_cron can too). It claims, with FOR UPDATE
-- SKIP LOCKED, the FAILED executions whose newest unrecovered failure is younger than p_max_age and was
-- TRANSIENT until its retries ran out (the infrastructure may be back), and recovers them. A PERMANENT
-- verdict (a PermanentError, the user's classifier, corrupt data, a compensation that failed for good)
-- waits for an operator. Each execution is recovered by the sweep at most p_max_per_execution times
-- (counted in its journal). Concurrent sweeps share the work; an execution is locked before its failures,
-- in the same order as recover_from_failure, so a sweep and an operator never deadlock. Returns how many
-- executions it recovered.
CREATE FUNCTION aries.auto_recover_failures(p_max_age interval DEFAULT interval '1 hour',
                                            p_max_per_execution integer DEFAULT 3)
RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_execution record;
  v_recovered bigint := 0;
BEGIN
  FOR v_execution IN
    SELECT e.id, newest.failure_type FROM aries.executions e
     CROSS JOIN LATERAL (SELECT f.failure_type, f.retries_exhausted, f.failure_timestamp FROM aries.failures f
                          WHERE f.execution_id = e.id AND NOT f.recovered
                          ORDER BY f.failure_timestamp DESC, f.failure_id LIMIT 1) newest
     WHERE e.status = 'FAILED' AND newest.retries_exhausted AND newest.failure_timestamp >= aries.now() - p_max_age
       AND (SELECT pg_catalog.count(*) FROM aries.journal j
             WHERE j.execution_id = e.id AND j.kind = 'execution_recovered' AND j.payload ->> 'by' = 'sweep')
           < p_max_per_execution
     ORDER BY newest.failure_timestamp
       FOR UPDATE OF e SKIP LOCKED
  LOOP
    BEGIN
      PERFORM aries.recover_from_failure(v_execution.id, v_execution.failure_type, 'sweep');
      v_recovered := v_recovered + 1;
    EXCEPTION WHEN SQLSTATE 'AR009' OR SQLSTATE 'AR010' THEN
      NULL; -- recovered meanwhile by an operator
    END;
  END LOOP;
  RETURN v_recovered;
END $$;

-- ---- operator ---------------------------------------------------------------------------------------

-- Cancels an execution that is not finished and returns its previous status and its workflow. AR001 unknown id, AR003 an
-- execution already COMPLETED, COMPENSATED or CANCELLED. Waits for the row lock a worker's write holds
-- (those transactions are short), never for a lease.
CREATE FUNCTION aries.cancel_execution(p_execution_id uuid, p_reason text DEFAULT NULL)
RETURNS TABLE (previous_status text, workflow_name text) LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v aries.executions;
  v_lsn bigint;
BEGIN
  SELECT * INTO v FROM aries.executions e WHERE e.id = p_execution_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'execution % not found', p_execution_id USING ERRCODE = 'AR001';
  END IF;
  IF v.status IN ('COMPLETED', 'COMPENSATED', 'CANCELLED') THEN
    RAISE EXCEPTION 'execution % is % and cannot be cancelled: it is finished', p_execution_id, v.status
      USING ERRCODE = 'AR003';
  END IF;
  v_lsn := aries.append_journal(p_execution_id, v.last_lsn, 'execution_cancelled', NULL, NULL, NULL,
                                pg_catalog.jsonb_build_object('reason', p_reason, 'previousStatus', v.status));
  UPDATE aries.steps s
     SET status = 'FAILED',
         error = pg_catalog.jsonb_build_object('name', 'CancelledError', 'message', coalesce(p_reason, 'cancelled by an operator'))
   WHERE s.execution_id = p_execution_id AND s.status IN ('RUNNING', 'RETRYING');
  UPDATE aries.failures f SET recovered = true, recovered_at = aries.now(), recovered_by = 'cancel'
   WHERE f.execution_id = p_execution_id AND NOT f.recovered;
  UPDATE aries.executions e
     SET status = 'CANCELLED', lease_owner = NULL, lease_expires_at = NULL, lease_token = e.lease_token + 1,
         error = pg_catalog.jsonb_build_object('name', 'CancelledError',
                                              'message', coalesce(p_reason, 'cancelled by an operator')),
         last_lsn = v_lsn, finished_at = aries.now(), updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN QUERY SELECT v.status, v.workflow_name;
END $$;

-- The workers holding leases now, with how many executions each holds and when their leases end (a
-- worker holding none is not listed: workers keep no row of their own; their leases are their trace).
CREATE FUNCTION aries.list_workers()
RETURNS TABLE (worker text, executions bigint, compensating bigint, earliest_lease_expiry timestamptz,
               latest_lease_expiry timestamptz, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT e.lease_owner, pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATING'),
         pg_catalog.min(e.lease_expires_at), pg_catalog.max(e.lease_expires_at),
         pg_catalog.count(*) FILTER (WHERE e.lease_expires_at < aries.now())
    FROM aries.executions e
   WHERE e.lease_owner IS NOT NULL
   GROUP BY e.lease_owner
   ORDER BY e.lease_owner
$$;

-- Per bucket of p_bucket_seconds from p_from (inclusive) to p_to (exclusive): executions started, finished
-- by status, and failures recorded by type. Buckets without any are returned with zeros.
CREATE FUNCTION aries.execution_stats(p_from timestamptz, p_to timestamptz, p_bucket_seconds integer)
RETURNS TABLE (bucket_at timestamptz, started bigint, completed bigint, failed bigint, compensated bigint,
               cancelled bigint, transient_failures bigint, permanent_failures bigint, partial_failures bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  WITH buckets AS (
    SELECT b AS bucket_at FROM pg_catalog.generate_series(p_from, p_to - pg_catalog.make_interval(secs => 1e-6),
                                                        pg_catalog.make_interval(secs => p_bucket_seconds)) b
  ),
  started AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.created_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) AS c
      FROM aries.executions e WHERE e.created_at >= p_from AND e.created_at < p_to GROUP BY 1
  ),
  finished AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.finished_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPLETED') AS completed,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATED') AS compensated,
           pg_catalog.count(*) FILTER (WHERE e.status = 'CANCELLED') AS cancelled
      FROM aries.executions e
     WHERE e.finished_at IS NOT NULL AND e.finished_at >= p_from AND e.finished_at < p_to GROUP BY 1
  ),
  failed AS (
    SELECT pg_catalog.floor(extract(epoch FROM e.updated_at - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) AS c
      FROM aries.executions e
     WHERE e.status = 'FAILED' AND e.updated_at >= p_from AND e.updated_at < p_to GROUP BY 1
  ),
  failures AS (
    SELECT pg_catalog.floor(extract(epoch FROM f.failure_timestamp - p_from) / p_bucket_seconds)::integer AS n,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'TRANSIENT') AS transient,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'PERMANENT') AS permanent,
           pg_catalog.count(*) FILTER (WHERE f.failure_type = 'PARTIAL') AS partial
      FROM aries.failures f WHERE f.failure_timestamp >= p_from AND f.failure_timestamp < p_to GROUP BY 1
  )
  SELECT b.bucket_at, coalesce(s.c, 0), coalesce(fi.completed, 0), coalesce(fa.c, 0), coalesce(fi.compensated, 0),
         coalesce(fi.cancelled, 0), coalesce(fl.transient, 0), coalesce(fl.permanent, 0), coalesce(fl.partial, 0)
    FROM buckets b
    LEFT JOIN started s ON s.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN finished fi ON fi.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN failed fa ON fa.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
    LEFT JOIN failures fl ON fl.n = pg_catalog.floor(extract(epoch FROM b.bucket_at - p_from) / p_bucket_seconds)::integer
   ORDER BY b.bucket_at
$$;

-- How many executions are in each status that is not final, how many PENDING ones are due now (the queue
-- depth) and how many RUNNING ones hold an expired lease (their worker died or stalled). Scans of
-- executions_status_idx, executions_runnable_idx and executions_lease_idx: their cost follows the number of
-- unfinished executions, not the size of the table. The overview and the metrics gauges both read it.
CREATE FUNCTION aries.active_counts()
RETURNS TABLE (status text, executions bigint, due bigint, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  -- One count per status, each a plain equality (or a partial index's own predicate), so each is an
  -- index(-only) scan of just that status's entries.
  SELECT c.status, c.executions, c.due, c.expired FROM (VALUES
    ('COMPENSATING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'COMPENSATING'), NULL::bigint, NULL::bigint),
    ('FAILED', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'FAILED'), NULL, NULL),
    ('PENDING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'PENDING'),
                (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'PENDING' AND e.available_at <= aries.now()), NULL),
    ('RUNNING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'RUNNING'), NULL,
                (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'RUNNING' AND e.lease_expires_at < aries.now())),
    ('SLEEPING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'SLEEPING'), NULL, NULL),
    ('WAITING', (SELECT pg_catalog.count(*) FROM aries.executions e WHERE e.status = 'WAITING'), NULL, NULL)
  ) AS c (status, executions, due, expired)
$$;

-- A payload as the execution page shows it: itself when its JSON text is at most p_limit bytes (or p_limit
-- is NULL), else {"$truncated": true, "bytes": n, "preview": its first 2,048 characters}. Computed here so
-- a large payload never leaves the database whole unless asked for.
CREATE FUNCTION aries.payload_preview(p_payload jsonb, p_limit integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_limit IS NULL OR p_payload IS NULL OR pg_catalog.octet_length(p_payload::text) <= p_limit
              THEN p_payload
              ELSE pg_catalog.jsonb_build_object('$truncated', true, 'bytes', pg_catalog.octet_length(p_payload::text),
                                                 'preview', pg_catalog.left(p_payload::text, 2048)) END
$$;

-- One page of an execution's journal (read_journal reads all of it): at most p_limit records after
-- p_after_lsn, each payload through payload_preview, each checksum verified against the stored payload.
CREATE FUNCTION aries.read_journal_page(p_execution_id uuid, p_after_lsn bigint, p_limit integer,
                                        p_truncate_above integer DEFAULT NULL)
RETURNS TABLE (lsn bigint, prev_lsn bigint, kind text, seq integer, step_key text, attempt integer,
               payload jsonb, payload_is_null boolean, checksum_ok boolean, created_at timestamptz,
               execution_last_lsn bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT j.lsn, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.payload IS NULL,
         j.checksum = aries.journal_checksum(j.execution_id, j.prev_lsn, j.kind, j.seq, j.step_key, j.attempt, j.payload),
         j.created_at, NULL::bigint
    FROM aries.journal j
   WHERE j.execution_id = p_execution_id AND j.lsn > coalesce(p_after_lsn, 0)
   ORDER BY j.lsn
   LIMIT p_limit
$$;

-- An execution's steps with their outputs through payload_preview.
CREATE FUNCTION aries.list_step_previews(p_execution_id uuid, p_truncate_above integer DEFAULT NULL)
RETURNS TABLE (execution_id uuid, step_key text, seq integer, status text, attempt integer, output jsonb,
               output_is_null boolean, error jsonb, started_at timestamptz, completed_at timestamptz,
               compensation_status text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.execution_id, s.step_key, s.seq, s.status, s.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.lsn IS NOT NULL AND j.payload IS NULL, s.error, s.started_at, s.completed_at, s.compensation_status
    FROM aries.steps s LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id
   ORDER BY s.seq
$$;
