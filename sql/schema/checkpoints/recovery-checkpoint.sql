-- aries.recovery_checkpoint (function)
--
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
