-- aries.grant_claims (function)
--
-- Gives worker p_worker the leases of the executions p_ids, which the caller (claim_executions) has chosen
-- and locked: RUNNING (COMPENSATING stays COMPENSATING), a new lease and fencing token, claim_count + 1,
-- started_at on the first claim. A claim of an expired lease records the node fault it recovers from; a
-- claim marks the TRANSIENT failures it retries recovered. A debounced execution stops taking later starts'
-- inputs once claimed (debounce_key cleared). The one update of both claim paths (unqueued and queued);
-- returns claim_executions' rows.

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
