-- 0004_operator: what operators need to see and act: cancel, listing by pages at any table size, and
-- the figures of the overview.
--
-- Model
--   cancel        an operator stops an execution that is not finished (PENDING, RUNNING, SLEEPING, WAITING,
--                 FAILED, COMPENSATING) → CANCELLED. Its lease ends and its fencing token moves on, so a
--                 worker still running it is refused at its next write (and its heartbeat aborts the run):
--                 no step starts after the cancel commits. A step already running may finish its own side
--                 effect, but its result is not recorded. Compensations are not run by a cancel (cancelling
--                 a COMPENSATING execution leaves the remaining ones undone; recover it instead to finish
--                 them). The journal records execution_cancelled with the reason. A step left RUNNING or
--                 RETRYING becomes FAILED with the cancel as its error, and the execution's open failures
--                 are settled (recovered_by 'cancel': nobody will recover them now).
--   listing       keyset pages ordered by (created_at DESC, id DESC): the cursor is the last row's key, so
--                 page n costs what page 1 costs. Each filter has an index that yields rows in that order:
--                 none → executions_list_idx, status → executions_status_idx, workflow and status →
--                 executions_workflow_status_idx; a workflow alone reads that index once per status and
--                 merges (nine short index scans instead of one more index to maintain on every write).
--   statistics    execution_stats counts, per time bucket, executions started (created_at), finished by
--                 status (finished_at; FAILED ones by updated_at, few), and failures by type, all through
--                 range scans of indexes.

-- ---- cancel ------------------------------------------------------------------------------------------

INSERT INTO aries.execution_transitions VALUES ('FAILED', 'CANCELLED');

ALTER TABLE aries.journal DROP CONSTRAINT journal_kind_check;
ALTER TABLE aries.journal
  ADD CONSTRAINT journal_kind_check CHECK (kind IN (
    'execution_started', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
    'execution_completed', 'execution_failed', 'execution_released', 'execution_rolled_back',
    'execution_recovered', 'execution_compensating', 'compensation_started', 'compensation_completed',
    'compensation_failed', 'compensation_retrying', 'execution_compensated', 'execution_cancelled'));

ALTER TABLE aries.failures DROP CONSTRAINT failures_recovered_by_check;
ALTER TABLE aries.failures
  ADD CONSTRAINT failures_recovered_by_check CHECK (recovered_by IN ('worker', 'operator', 'sweep', 'cancel'));

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

-- ---- listing -----------------------------------------------------------------------------------------

DROP INDEX aries.executions_status_idx;
CREATE INDEX executions_status_idx ON aries.executions (status, created_at DESC, id DESC);
CREATE INDEX executions_workflow_status_idx ON aries.executions (workflow_name, status, created_at DESC, id DESC);
-- Written once per execution (when it finishes): the overview's completed / compensated / cancelled counts.
CREATE INDEX executions_finished_idx ON aries.executions (finished_at) WHERE finished_at IS NOT NULL;
-- Failures newest first across all executions (the failures view and the overview's failure counts).
CREATE INDEX failures_time_idx ON aries.failures (failure_timestamp DESC, failure_id DESC);

-- ---- statistics --------------------------------------------------------------------------------------

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

-- ---- reading one execution without its megabytes ------------------------------------------------------

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

-- ---- crash loops ----------------------------------------------------------------------------------------

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
