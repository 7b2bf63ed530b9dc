-- 0009_workers: a registry of workers, so an idle worker is seen and a dead one is told apart; a rollback
-- onto a rollback's checkpoint names where that one went; stored errors shown as previews, like payloads.
--
-- Model
--   registry   aries.workers: one row per worker process (id, host, pid, workflows, concurrency, lease
--              length, started_at, heartbeat_at, stopped_at; times on the database clock). Workers kept
--              no row before: only their leases showed them, so an idle worker was invisible.
--   register   aries.register_worker at start (the row rewritten, stopped_at cleared); it prunes other
--              rows stopped or silent for over an hour (or ten lease lengths).
--   heartbeat  aries.heartbeat_worker every lease_ms / 3, leases held or not; false when the row is gone
--              or stopped, and the worker registers again.
--   stop       aries.deregister_worker on a clean stop: stopped_at set, the row kept until pruned.
--   status     aries.worker_status: stopped, stale (heartbeat older than three lease lengths) or live.
--   list       aries.list_workers returns the registry joined with the leases held (a changed result
--              type: dropped and created again); a lease owner without a row is listed from its leases.
--   rollback   aries.rollback_to_checkpoint: the checkpoint an earlier rollback took stands for the one
--              that rollback went to (its rolled_back_to), so an execution failing again before any step
--              completed is rolled back to its start (NULL), and recover says so, instead of naming the
--              earlier rollback's checkpoint.
--   previews   aries.error_preview: a stored error whole under a byte limit, else its name, code, the
--              first 512 characters of its message, $truncated and bytes (stack and details left out);
--              list pages and the execution page read errors through it (list_step_previews too).

CREATE TABLE aries.workers (
  worker_id    text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  workflows    text[] NOT NULL,
  concurrency  integer NOT NULL CHECK (concurrency > 0),
  lease_ms     integer NOT NULL CHECK (lease_ms > 0),
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  stopped_at   timestamptz,
  CONSTRAINT workers_stopped_check CHECK (stopped_at IS NULL OR stopped_at >= started_at)
);

CREATE FUNCTION aries.worker_status(p_heartbeat_at timestamptz, p_stopped_at timestamptz, p_lease_ms integer,
                                    p_now timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE WHEN p_stopped_at IS NOT NULL THEN 'stopped'
              WHEN p_heartbeat_at < p_now - 3 * p_lease_ms * interval '1 millisecond' THEN 'stale'
              ELSE 'live' END
$$;

CREATE FUNCTION aries.register_worker(p_worker_id text, p_host text, p_pid integer, p_workflows text[],
                                      p_concurrency integer, p_lease_ms integer) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_now timestamptz := aries.now();
BEGIN
  DELETE FROM aries.workers w
   WHERE w.worker_id <> p_worker_id
     AND coalesce(w.stopped_at, w.heartbeat_at)
         < v_now - greatest(interval '1 hour', 10 * w.lease_ms * interval '1 millisecond');
  INSERT INTO aries.workers AS w (worker_id, host, pid, workflows, concurrency, lease_ms, started_at, heartbeat_at)
  VALUES (p_worker_id, p_host, p_pid, p_workflows, p_concurrency, p_lease_ms, v_now, v_now)
  ON CONFLICT (worker_id) DO UPDATE
     SET host = excluded.host, pid = excluded.pid, workflows = excluded.workflows,
         concurrency = excluded.concurrency, lease_ms = excluded.lease_ms, started_at = v_now,
         heartbeat_at = v_now, stopped_at = NULL;
  RETURN v_now;
END $$;
-- Its pruning deletes rows, which the runtime role of `aries roles` may not do itself: only roles granted
-- EXECUTE run it.
REVOKE EXECUTE ON FUNCTION aries.register_worker(text, text, integer, text[], integer, integer) FROM PUBLIC;

CREATE FUNCTION aries.heartbeat_worker(p_worker_id text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  UPDATE aries.workers w SET heartbeat_at = greatest(w.heartbeat_at, aries.now())
   WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
  RETURN FOUND;
END $$;

CREATE FUNCTION aries.deregister_worker(p_worker_id text) RETURNS boolean
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  UPDATE aries.workers w SET stopped_at = greatest(aries.now(), w.started_at)
   WHERE w.worker_id = p_worker_id AND w.stopped_at IS NULL;
  RETURN FOUND;
END $$;

DROP FUNCTION aries.list_workers();

CREATE FUNCTION aries.list_workers()
RETURNS TABLE (worker text, status text, host text, pid integer, workflows text[], concurrency integer,
               lease_ms integer, started_at timestamptz, heartbeat_at timestamptz, stopped_at timestamptz,
               executions bigint, compensating bigint, earliest_lease_expiry timestamptz,
               latest_lease_expiry timestamptz, expired bigint)
LANGUAGE sql STABLE SET search_path = '' AS $$
  WITH leases AS (
    SELECT e.lease_owner, pg_catalog.count(*) AS executions,
           pg_catalog.count(*) FILTER (WHERE e.status = 'COMPENSATING') AS compensating,
           pg_catalog.min(e.lease_expires_at) AS earliest, pg_catalog.max(e.lease_expires_at) AS latest,
           pg_catalog.count(*) FILTER (WHERE e.lease_expires_at < aries.now()) AS expired
      FROM aries.executions e
     WHERE e.lease_owner IS NOT NULL
     GROUP BY e.lease_owner
  ), listed AS (
    SELECT coalesce(w.worker_id, l.lease_owner) AS worker,
           CASE WHEN w.worker_id IS NOT NULL THEN aries.worker_status(w.heartbeat_at, w.stopped_at, w.lease_ms, aries.now())
                WHEN l.latest >= aries.now() THEN 'live' ELSE 'stale' END AS status,
           w.host, w.pid, w.workflows, w.concurrency, w.lease_ms, w.started_at, w.heartbeat_at, w.stopped_at,
           coalesce(l.executions, 0) AS executions, coalesce(l.compensating, 0) AS compensating,
           l.earliest, l.latest, coalesce(l.expired, 0) AS expired
      FROM aries.workers w
      FULL JOIN leases l ON l.lease_owner = w.worker_id
  )
  SELECT x.worker, x.status, x.host, x.pid, x.workflows, x.concurrency, x.lease_ms, x.started_at,
         x.heartbeat_at, x.stopped_at, x.executions, x.compensating, x.earliest, x.latest, x.expired
    FROM listed x
   ORDER BY x.status <> 'live', x.worker
$$;

-- ---- rollback onto a rollback's checkpoint names the one that rollback went to ----------------------
CREATE OR REPLACE FUNCTION aries.rollback_to_checkpoint(p_execution_id uuid, p_before_lsn bigint DEFAULT NULL)
RETURNS uuid LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  v_checkpoint record;
  v_keys jsonb;
  v_state jsonb;
  v_lsn bigint;
  v_completed integer;
  v_target uuid;
BEGIN
  SELECT * INTO v_checkpoint FROM aries.recovery_checkpoint(p_execution_id, p_before_lsn);
  SELECT CASE WHEN k.step_progress ? 'rolled_back_to' THEN (k.step_progress ->> 'rolled_back_to')::uuid
              ELSE k.checkpoint_id END
    INTO v_target FROM aries.checkpoints k WHERE k.checkpoint_id = v_checkpoint.checkpoint_id;
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
             pg_catalog.jsonb_build_object('checkpoint_id', v_target,
                                           'checkpoint_lsn', v_checkpoint.lsn, 'rolled_back', v_keys));
  v_state := coalesce(v_checkpoint.state_data, pg_catalog.jsonb_build_object('completed_steps', 0));
  INSERT INTO aries.checkpoints (execution_id, lsn, state_data, step_progress, checksum)
  VALUES (p_execution_id, v_lsn, v_state,
          pg_catalog.jsonb_build_object('completed', v_completed, 'rolled_back_to', v_target),
          aries.checkpoint_checksum(p_execution_id, v_lsn, v_state));
  UPDATE aries.executions e SET last_lsn = v_lsn, step_count = v_completed, updated_at = aries.now()
   WHERE e.id = p_execution_id;
  RETURN v_target;
END $$;

-- ---- error previews: pages carry a stored error whole only under a limit ---------------------------
CREATE FUNCTION aries.error_preview(p_error jsonb, p_limit integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE WHEN p_limit IS NULL OR p_error IS NULL OR pg_catalog.octet_length(p_error::text) <= p_limit
              THEN p_error
              ELSE pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                     'name', p_error -> 'name', 'code', p_error -> 'code',
                     'message', pg_catalog.left(p_error ->> 'message', 512),
                     '$truncated', true, 'bytes', pg_catalog.octet_length(p_error::text))) END
$$;

CREATE OR REPLACE FUNCTION aries.list_step_previews(p_execution_id uuid, p_truncate_above integer DEFAULT NULL)
RETURNS TABLE (execution_id uuid, step_key text, seq integer, status text, attempt integer, output jsonb,
               output_is_null boolean, error jsonb, started_at timestamptz, completed_at timestamptz,
               compensation_status text)
LANGUAGE sql STABLE SET search_path = '' AS $$
  SELECT s.execution_id, s.step_key, s.seq, s.status, s.attempt, aries.payload_preview(j.payload, p_truncate_above),
         j.lsn IS NOT NULL AND j.payload IS NULL, aries.error_preview(s.error, p_truncate_above), s.started_at, s.completed_at, s.compensation_status
    FROM aries.steps s LEFT JOIN aries.journal j ON j.lsn = s.output_lsn
   WHERE s.execution_id = p_execution_id
   ORDER BY s.seq
$$;
